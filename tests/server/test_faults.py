"""The database goes away under a running server, then comes back."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import typing as t

import pytest
import sqlalchemy as sa

from tests.conftest import DATABASE_URLS
from tests.conftest import selected_databases
from tests.server.test_concurrency import APP
from tests.server.test_concurrency import fetch

pytestmark = [pytest.mark.server, pytest.mark.faults]

PG_VERSION = os.listdir("/etc/postgresql")[0] if os.path.isdir("/etc/postgresql") else "15"
CONTROL = {
    "postgresql": (
        ["pg_ctlcluster", "--skip-systemctl-redirect", PG_VERSION, "main", "stop", "-m", "fast"],
        ["pg_ctlcluster", "--skip-systemctl-redirect", PG_VERSION, "main", "start"],
    ),
    "mariadb": (
        ["mariadb-admin", "-uroot", "-h127.0.0.1", "shutdown"],
        # By its pid file: the Galera nodes of the cluster tests run the same
        # executable, which would make a start by --exec alone a no-op.
        [
            "start-stop-daemon",
            "--start",
            "--oknodo",
            "--background",
            "--pidfile",
            "/run/mysqld/mysqld.pid",
            "--exec",
            "/usr/sbin/mariadbd",
        ],
    ),
}


def accepting(url: str) -> bool:
    engine = sa.create_engine(url, connect_args={"connect_timeout": 2})
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        return True
    except sa.exc.SQLAlchemyError:
        return False
    finally:
        engine.dispose()


def start_server(name: str) -> None:
    """Start the database server and wait until it accepts connections.

    The start command is repeated while the server does not answer: a server
    still shutting down when it first ran made it a no-op (``--oknodo``).
    """
    url = t.cast(str, DATABASE_URLS[name])
    deadline = time.monotonic() + 120
    while not accepting(url):
        if time.monotonic() > deadline:
            pytest.fail(f"{name} did not come back at {url}", pytrace=False)
        subprocess.run(CONTROL[name][1], check=False, capture_output=True, timeout=60)
        for _ in range(10):
            if accepting(url):
                return
            time.sleep(0.5)


@pytest.fixture(scope="module", autouse=True)
def servers_always_restarted() -> t.Iterator[None]:
    yield
    for name in CONTROL:
        if name in selected_databases():
            start_server(name)


@pytest.mark.parametrize("name", [n for n in selected_databases() if n in CONTROL])
def test_store_error_while_down_and_recovery_without_restart(
    gunicorn: t.Callable[..., str], name: str
) -> None:
    url = t.cast(str, DATABASE_URLS[name])
    start_server(name)
    base = gunicorn(APP, {"NAMEDSESSIONS_DATABASE_URI": url}, workers=2, threads=2)
    sid = f"fault-{name}"
    assert fetch(f"{base}/set/x/kept?sid={sid}")[0] == 200
    try:
        subprocess.run(CONTROL[name][0], check=True, capture_output=True, timeout=60)
        deadline = time.monotonic() + 30
        while accepting(url) and time.monotonic() < deadline:
            time.sleep(0.2)
        for _ in range(4):
            began = time.monotonic()
            status, body, _ = fetch(f"{base}/get?sid={sid}")
            assert time.monotonic() - began < 10
            assert status == 503
            # A worker that never reached the database yet says so; a failed
            # connection says where the database is.
            assert re.match(
                r"(loading session 'shared'|creating the session tables) failed"
                r": no connection to the \w+ database '[^']*' at 127\.0\.0\.1:\d+"
                r" \(OperationalError: ",
                body,
            ), body
            assert sid not in body
    finally:
        start_server(name)
    status, body, _ = fetch(f"{base}/get?sid={sid}")
    assert status == 200, body
    assert json.loads(body) == {"result": "load", "values": {"x": "kept"}}
    assert fetch(f"{base}/set/x/again?sid={sid}")[0] == 200
    assert json.loads(fetch(f"{base}/get?sid={sid}")[1])["values"] == {"x": "again"}
