"""Three app instances, each on its own node of a Galera cluster, writing at
once: conflicts are retried, reads see the writes of the other nodes, and a
node killed under traffic loses nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import typing as t

import pytest

from tests.cluster.servers import CLUSTERS
from tests.cluster.servers import galera_conflicts
from tests.cluster.servers import galera_problem
from tests.cluster.servers import measured
from tests.cluster.traffic import Traffic
from tests.server.test_concurrency import APP

pytestmark = pytest.mark.cluster

#: Visitors: browsers, each with tabs that write a variable of their own.
BROWSERS, TABS = 4, 3


def instances(gunicorn: t.Callable[..., str], urls: list[str]) -> list[str]:
    """One app instance per node, one worker with two threads each. Every
    save moves the session's expiry: the tabs of a browser then write its
    session row at once through different nodes, the conflict to retry."""
    env = {"TEST_TOUCH_INTERVAL": "0"}
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
    back = killed_at + tally.first_success(killed, after=killed_at)
    measured(
        f"Galera, node killed at {killed_at:.1f} s, restarted at {restarting:.1f} s,"
        f" Synced at {rejoined:.1f} s: {tally.summary()}; longest wait for a"
        f" success on the other instances {max(gaps.values()):.2f} s; the"
        f" killed node's instance answered again at {back:.1f} s"
    )
    assert tally.problems == []
    assert max(gaps.values()) < 20, gaps
    assert back < rejoined + 5
    # Until the kill every request succeeded.
    assert all(a.ok for a in tally.answers if a.at < killed_at)
