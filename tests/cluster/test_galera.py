"""Three app instances, each on its own node of a Galera cluster, writing at
once: conflicts are retried, reads see the writes of the other nodes, a node
killed under traffic loses nothing, and of cleaners started on every node at
once only one runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import typing as t
from concurrent.futures import ThreadPoolExecutor

import pytest
from flask import Flask

from flask_namedsessions import NamedSessions
from flask_namedsessions import session_start
from flask_namedsessions.extension import get_state
from tests.cluster.servers import CLUSTERS
from tests.cluster.servers import galera_conflicts
from tests.cluster.servers import galera_problem
from tests.cluster.servers import measured
from tests.cluster.servers import query
from tests.cluster.traffic import Browser
from tests.cluster.traffic import Tab
from tests.cluster.traffic import Tally
from tests.cluster.traffic import Traffic
from tests.conftest import ROOT
from tests.server.test_concurrency import APP

pytestmark = pytest.mark.cluster

#: Visitors: browsers, each with tabs that write a variable of their own.
BROWSERS, TABS = 4, 3


def instances(gunicorn: t.Callable[..., str], urls: list[str]) -> list[str]:
    """One app instance per node, one worker with two threads each. Every
    save moves the session's expiry: the tabs of a browser then write its
    session row at once through different nodes, the conflict to retry."""
    env = {"FLASK_NAMEDSESSIONS_TOUCH_INTERVAL": "0"}
    return [
        gunicorn(APP, {**env, "NAMEDSESSIONS_DATABASE_URI": url}, workers=1, threads=2)
        for url in urls
    ]


@pytest.mark.cluster(timeout=90)
def test_writes_through_every_node_at_once_keep_every_update(
    gunicorn: t.Callable[..., str], galera: list[str]
) -> None:
    bases = instances(gunicorn, galera)
    conflicts = galera_conflicts()
    with Traffic(bases, BROWSERS, TABS) as traffic:
        traffic.run_for(20)
    traffic.verify(bases[0])
    tally = traffic.tally
    conflicts = galera_conflicts() - conflicts
    measured(
        f"Galera, writes through 3 nodes for 20 s: {tally.summary()},"
        f" {conflicts} certification conflicts retried"
    )
    assert tally.problems == []
    assert tally.rate <= 0.5, tally.summary()
    assert len(tally.answers) > 500, "too little traffic to judge"


@pytest.mark.cluster(timeout=60)
def test_new_session_is_found_at_once_through_another_node(
    gunicorn: t.Callable[..., str], galera: list[str]
) -> None:
    """A visitor's second request, through the next node, finds the session
    that the first created: reads wait for the cluster's earlier writes."""
    bases = instances(gunicorn, galera)
    Browser("the first visitor", bases[0])  # creates the tables
    tally = Tally()

    def visit(i: int) -> None:
        browser = Browser(f"visitor {i}", bases[i % 3])
        tab = Tab(browser, "v")
        tab.last = 0  # what creating the session wrote
        data = tab.request(bases, (i + 1) % 3, "/visit/v", tally)
        if data is None:
            tally.problem(f"{tab}: the read failed")
        else:
            tab.check(data["value"], "through the next node", tally)

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(visit, range(300)))
    measured(f"Galera, 300 sessions read through another node right after: {tally.summary()}")
    assert tally.problems == []


def _node_pid(node: int) -> int:
    with open(f"/var/tmp/namedsessions-galera/node{node}/mysqld.pid") as file:
        return int(file.read())


@pytest.mark.cluster(timeout=240)
def test_node_killed_and_restarted_under_traffic_loses_nothing(
    gunicorn: t.Callable[..., str], galera: list[str]
) -> None:
    bases = instances(gunicorn, galera)
    killed = 1  # the instance on the second node
    with Traffic(bases, BROWSERS, TABS) as traffic:
        traffic.run_for(3)
        pid = _node_pid(killed + 1)
        os.kill(pid, signal.SIGKILL)
        killed_at = traffic.tally.now()
        traffic.run_for(5)
        restarting = traffic.tally.now()
        # It rejoins (a state transfer) while the traffic goes on.
        restart = subprocess.run(
            [str(CLUSTERS), "galera-node", str(killed + 1)],
            capture_output=True,
            text=True,
            timeout=150,
            check=False,
        )
        assert restart.returncode == 0, restart.stderr[-3000:]
        rejoined = traffic.tally.now()
        traffic.run_for(5)
    traffic.verify(bases[0])
    tally = traffic.tally
    assert galera_problem() is None
    others = [i for i in range(len(bases)) if i != killed]
    gaps = {i: tally.longest_gap(i, after=killed_at) for i in others}
    first_failure, back = tally.outage(killed, after=killed_at)
    measured(
        f"Galera, node killed at {killed_at:.1f} s, restarted at {restarting:.1f} s,"
        f" Synced at {rejoined:.1f} s: {tally.summary()}; longest wait for a"
        f" success on the other instances {max(gaps.values()):.2f} s; the"
        f" killed node's instance failed from {first_failure:.1f} s and"
        f" succeeded again at {back:.1f} s"
    )
    assert tally.problems == []
    assert max(gaps.values()) < 20, gaps
    assert back < rejoined + 5
    # Until the kill every request succeeded.
    assert all(a.ok for a in tally.answers if a.at < killed_at)


def expired_sessions(url: str, count: int) -> None:
    """``count`` sessions that expire at once, and one that lives on."""
    app = Flask(__name__)
    app.config["NAMEDSESSIONS_DATABASE_URI"] = url
    NamedSessions(app)

    @app.route("/<int:n>/<float:minutes>")
    def start(n: int, minutes: float) -> str:
        for i in range(n):
            session_start(f"s{i}", expires=minutes)["x"] = i
        return ""

    for _ in range(count // 50):  # each a new visitor, without cookies
        assert app.test_client().get("/50/0.001").status_code == 200
    assert app.test_client().get("/1/60.0").status_code == 200
    with app.app_context():
        get_state(app).store.dispose()
    time.sleep(0.2)


@pytest.mark.cluster(timeout=60)
def test_cleaners_on_every_node_at_once_one_runs(galera: list[str]) -> None:
    """Three cron jobs, one per node, start the cleanup at the same time:
    one deletes everything, batch by batch, and the others skip."""
    expired_sessions(galera[0], 600)
    command = [sys.executable, "-m", "flask", "--app", APP, "namedsessions", "delete-expired"]
    env = {**os.environ, "FLASK_NAMEDSESSIONS_CLEANUP_PAUSE": "0.5"}
    started = time.monotonic()
    cleaners = [
        subprocess.Popen(
            [*command, "--batch-size", "50"],
            cwd=ROOT,
            env={**env, "NAMEDSESSIONS_DATABASE_URI": url},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for url in galera
    ]
    outputs = [cleaner.communicate(timeout=50) for cleaner in cleaners]
    measured(
        f"Galera, 3 cleaners at once, one per node: {time.monotonic() - started:.1f} s"
        " until all were done (600 sessions, batches of 50, 0.5 s apart)"
    )
    said = sorted(out.strip() or err.strip()[-500:] for out, err in outputs)
    assert said == [
        "Another cleanup is running; skipped.",
        "Another cleanup is running; skipped.",
        "Deleted 600 expired sessions.",
    ]
    remaining = query(galera[2], "SELECT count(*) FROM namedsessions_sessions")
    assert remaining == [(1,)]
