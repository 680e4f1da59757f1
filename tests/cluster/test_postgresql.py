"""A PostgreSQL primary stopped under traffic and its synchronous standby
promoted: the app finds the new primary through its multi-host URL, without
a restart, and no save it acknowledged is lost. And the synchronous standby
gone: a save must not wait for it without bound.

These tests leave the pair rebuilt (the ``postgresql_pair`` fixture), so
they may run in any order and again.
"""

from __future__ import annotations

import json
import time
import typing as t
import urllib.error
import urllib.request

import pytest
from flask import Flask

from flask_namedsessions import NamedSessions
from flask_namedsessions import session_start
from flask_namedsessions.extension import get_state
from tests.cluster.servers import clusters
from tests.cluster.servers import measured
from tests.cluster.servers import PG_PRIMARY
from tests.cluster.servers import PG_STANDBY
from tests.cluster.traffic import Browser
from tests.cluster.traffic import COOKIE
from tests.cluster.traffic import Traffic
from tests.server.test_concurrency import APP

pytestmark = pytest.mark.cluster


@pytest.mark.cluster(timeout=120)
def test_failover_to_synchronous_standby_loses_no_acknowledged_save(
    gunicorn: t.Callable[..., str], postgresql_pair: str
) -> None:
    env = {"NAMEDSESSIONS_DATABASE_URI": postgresql_pair}
    bases = [gunicorn(APP, env, workers=1, threads=2) for _ in range(2)]
    with Traffic(bases, browsers=3, tabs=2) as traffic:
        traffic.run_for(3)
        clusters("postgresql-stop-primary")
        stopped = traffic.tally.now()
        traffic.run_for(1)
        clusters("postgresql-promote")
        promoted = traffic.tally.now()
        traffic.run_for(5)
    traffic.verify(bases[0])
    tally = traffic.tally
    recovered = max(tally.first_success(i, after=promoted) for i in range(len(bases)))
    measured(
        f"PostgreSQL, primary stopped at {stopped:.1f} s, standby promoted at"
        f" {promoted:.1f} s: {tally.summary()}; every instance succeeded again"
        f" {recovered:.2f} s after the promotion"
    )
    assert tally.problems == []
    assert all(a.ok for a in tally.answers if a.at < stopped)
    assert recovered < 5


@pytest.mark.parametrize(
    "hosts",
    [
        f"host=127.0.0.1:{PG_STANDBY}&host=127.0.0.1:{PG_PRIMARY}",
        f"host=127.0.0.1,127.0.0.1&port={PG_STANDBY},{PG_PRIMARY}",
    ],
    ids=["repeated", "lists"],
)
@pytest.mark.cluster(timeout=30)
def test_multi_host_url_forms_find_the_primary_behind_the_standby(
    postgresql_pair: str, hosts: str
) -> None:
    """Both spellings of a multi-host URL that the docs give work, and
    ``target_session_attrs`` passes over the standby listed first."""
    app = Flask(__name__)
    app.config["NAMEDSESSIONS_DATABASE_URI"] = (
        f"postgresql+psycopg://postgres@/test?{hosts}&target_session_attrs=read-write"
    )
    NamedSessions(app)

    @app.route("/<value>")
    def save(value: str) -> str:
        session = session_start("s", id="multi-host", use_none=True)
        previous = str(session.get("v"))
        session["v"] = value
        return previous

    client = app.test_client()
    try:
        assert client.get("/1").text == "None"
        assert client.get("/2").text == "1"
        with app.app_context():
            engine = get_state(app).store.engine
            with engine.connect() as conn:
                port = conn.exec_driver_sql("SELECT inet_server_port()").scalar()
        assert port == PG_PRIMARY
    finally:
        with app.app_context():
            get_state(app).store.dispose()


@pytest.mark.cluster(timeout=90)
def test_save_answers_in_bounded_time_when_synchronous_standby_is_gone(
    gunicorn: t.Callable[..., str], postgresql_pair: str
) -> None:
    env = {
        "NAMEDSESSIONS_DATABASE_URI": postgresql_pair,
        "FLASK_NAMEDSESSIONS_STATEMENT_TIMEOUT": "2",
    }
    base = gunicorn(APP, env, workers=1, threads=2)
    browser = Browser("visitor", base)
    clusters("postgresql-stop-standby")
    request = urllib.request.Request(
        f"{base}/visit/v/1", headers={"Cookie": f"{COOKIE}={browser.sid}"}
    )
    started = time.monotonic()
    status, text = 0, ""
    # Answered at all, or still waiting after 15 s.
    try:
        urllib.request.urlopen(request, timeout=15).close()
    except urllib.error.HTTPError as exc:
        status, text = exc.code, exc.read().decode()
    except OSError:
        pass
    else:
        status = 200
    waited = time.monotonic() - started
    measured(
        f"PostgreSQL, synchronous standby stopped, statement timeout 2 s: a save"
        f" answered {status} after {waited:.1f} s (15.0: still waiting)"
    )
    # The statement timeout, a tenth more for the cancel, and some margin;
    # the commit went through locally, but the standby never confirmed it.
    assert waited < 8
    assert status == 503
    assert text.startswith("saving session 'visit' failed: the database did not confirm it")
    # PostgreSQL ended the wait with a warning, the save made on the primary
    # alone: reads go on there, and see it.
    read = urllib.request.Request(f"{base}/visit/v", headers=request.headers)
    with urllib.request.urlopen(read, timeout=15) as response:
        assert json.load(response) == {"result": "load", "value": 1}
