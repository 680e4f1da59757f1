"""Writes that fail for a passing reason (a deadlock, a serialization or
certification conflict) run again, within a number of attempts and a time
limit; what stays failed writes nothing.

The failures are the databases' own, raised by triggers (see
:mod:`tests.faults`). SQLite has no such failures: a writer that finds the
database locked waits in its busy timeout instead.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import typing as t

import pytest
import sqlalchemy as sa
from flask import Flask
from flask import g

from flask_namedsessions import end_user_sessions
from flask_namedsessions import ids
from flask_namedsessions import session_delete_expired
from flask_namedsessions import session_end
from flask_namedsessions import session_start
from flask_namedsessions import SessionStoreError
from flask_namedsessions.extension import get_state
from flask_namedsessions.rows import SavePlan
from tests.conftest import Clock
from tests.conftest import selected_databases
from tests.faults import Faults

SERVERS = [name for name in selected_databases() if name != "sqlite"]
servers = pytest.mark.parametrize("database_url", SERVERS, indirect=True)


@pytest.fixture
def faults(database_url: str) -> t.Iterator[Faults]:
    installed = Faults(database_url)
    yield installed
    installed.remove()


def cart_app(make_app: t.Callable[..., Flask], **config: t.Any) -> Flask:
    app = make_app(**config)

    @app.errorhandler(SessionStoreError)
    def unavailable(exc: SessionStoreError) -> tuple[str, int]:
        return "sessions are unavailable", 503

    @app.route("/set/<value>")
    def set_(value: str) -> str:
        s = session_start("cart")
        s["a"] = value
        s["b"] = value
        s.bind_user("ann")
        return ""

    @app.route("/get")
    def get() -> str:
        session_start("cart")
        return f"{getattr(g, 'a', None)} {getattr(g, 'b', None)}"

    @app.route("/regenerate")
    def regenerate() -> str:
        session_start("cart").regenerate_id()
        return ""

    @app.route("/end")
    def end() -> str:
        session_start("cart")
        session_end("cart")
        return ""

    @app.route("/revoke")
    def revoke() -> str:
        return str(end_user_sessions("ann"))

    @app.route("/cleanup")
    def cleanup() -> str:
        return str(session_delete_expired())

    return app


def stored(app: Flask) -> tuple[int, dict[str, str]]:
    """How many sessions are stored, and every variable's value."""
    with app.app_context():
        store = get_state(app).store
        with store.engine.connect() as conn:
            count = conn.execute(sa.select(sa.func.count()).select_from(store.tables.sessions))
            rows = conn.execute(sa.select(store.tables.variables)).all()
            return count.scalar_one(), {row.name: row.value for row in rows}


def tables(app: Flask) -> tuple[str, str]:
    """The names of the sessions and variables tables, created."""
    with app.app_context():
        store = get_state(app).store
        store.create_tables()
        return store.tables.sessions.name, store.tables.variables.name


@servers
def test_new_session_saved_after_conflicts(
    make_app: t.Callable[..., Flask], faults: Faults, caplog: pytest.LogCaptureFixture
) -> None:
    app = cart_app(make_app)
    variables = tables(app)[1]
    client = app.test_client()
    faults.on(variables, "INSERT")
    faults.plan(3)
    with caplog.at_level(logging.INFO, logger="flask_namedsessions"):
        assert client.get("/set/one").status_code == 200
    assert faults.used == 3
    assert [r.getMessage().rpartition("; ")[2] for r in caplog.records] == [
        "attempt 2 of 8",
        "attempt 3 of 8",
        "attempt 4 of 8",
    ]
    assert all(r.getMessage().startswith("saving session 'cart' failed (") for r in caplog.records)
    assert stored(app) == (1, {"a": '"one"', "b": '"one"'})
    assert client.get("/get").text == "one one"


@servers
@pytest.mark.parametrize(
    ("path", "table", "event", "left"),
    [
        ("/set/two", "variables", "INSERT", 1),
        ("/regenerate", "sessions", "UPDATE", 1),
        ("/end", "sessions", "DELETE", 0),
        ("/revoke", "sessions", "DELETE", 0),
        ("/cleanup", "sessions", "DELETE", 0),
    ],
)
def test_every_write_retries_conflicts(
    make_app: t.Callable[..., Flask],
    faults: Faults,
    clock: Clock,
    path: str,
    table: str,
    event: str,
    left: int,
) -> None:
    app = cart_app(make_app)
    client = app.test_client()
    assert client.get("/set/one").status_code == 200
    faults.on(dict(zip(("sessions", "variables"), tables(app), strict=True))[table], event)
    faults.plan(2)
    if path == "/cleanup":
        clock.advance(16 * 60)
    response = client.get(path)
    assert response.status_code == 200
    assert faults.used == 2
    assert stored(app)[0] == left
    if path == "/set/two":
        assert client.get("/get").text == "two two"
    if path == "/regenerate":
        assert client.get("/get").text == "one one"
    if path == "/revoke":
        assert response.text == "1"


@servers
def test_conflicts_beyond_the_attempts_write_nothing(
    make_app: t.Callable[..., Flask], faults: Faults
) -> None:
    app = cart_app(make_app, NAMEDSESSIONS_RETRY_ATTEMPTS=3)
    client = app.test_client()
    faults.on(tables(app)[1], "INSERT")
    faults.plan(100)
    response = client.get("/set/one")
    assert (response.status_code, response.text) == (503, "sessions are unavailable")
    assert "Set-Cookie" not in response.headers
    assert faults.used == 3
    # the session row was written in the same transaction, before the variables
    assert stored(app) == (0, {})


@servers
def test_time_limit_bounds_the_attempts(make_app: t.Callable[..., Flask], faults: Faults) -> None:
    app = cart_app(
        make_app,
        NAMEDSESSIONS_RETRY_ATTEMPTS=1000,
        NAMEDSESSIONS_RETRY_BACKOFF=0.05,
        NAMEDSESSIONS_RETRY_LIMIT=0.3,
    )
    client = app.test_client()
    faults.on(tables(app)[1], "INSERT")
    faults.plan(1000)
    assert client.get("/set/one").status_code == 503
    # pauses of at least 0.025, 0.05, 0.1 and 0.2 s: no fifth one fits in 0.3 s
    assert 2 <= faults.used <= 5
    assert stored(app) == (0, {})


@servers
def test_one_attempt_turns_retries_off(make_app: t.Callable[..., Flask], faults: Faults) -> None:
    app = cart_app(make_app, NAMEDSESSIONS_RETRY_ATTEMPTS=1)
    client = app.test_client()
    assert client.get("/set/one").status_code == 200
    faults.on(tables(app)[0], "DELETE")
    faults.plan(1)
    with app.app_context():
        store = get_state(app).store
        with pytest.raises(
            SessionStoreError,
            match=r"^ending the sessions of a user failed \((SerializationFailure"
            r"|OperationalError: \(1213, 'injected conflict'\))\)$",
        ):
            store.end_user_sessions("ann", now=get_state(app).clock(), absolute=None)
    assert stored(app)[0] == 1


def test_sqlite_writer_waits_for_a_lock_instead_of_failing(
    make_app: t.Callable[..., Flask], database_url: str
) -> None:
    if not database_url.startswith("sqlite"):
        # the servers' own conflicts are the subject of the tests above
        assert database_url.partition(":")[0] in ("postgresql+psycopg", "mysql+pymysql")
        return
    app = cart_app(make_app)
    client = app.test_client()
    tables(app)
    blocker = sqlite3.connect(
        database_url.removeprefix("sqlite:///"), isolation_level=None, check_same_thread=False
    )
    blocker.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.3, blocker.commit)
    release.start()
    try:
        assert client.get("/set/one").status_code == 200
    finally:
        release.join()
        blocker.close()
    assert stored(app) == (1, {"a": '"one"', "b": '"one"'})


def server_id(engine: sa.Engine) -> int:
    """The server's ID for the engine's one pooled connection."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            return int(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())
        return int(conn.exec_driver_sql("SELECT CONNECTION_ID()").scalar_one())


def kill(url: str, target: int) -> None:
    """End connection ``target`` from the server's side, as a restart or a
    failover would."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "postgresql":
                conn.exec_driver_sql(f"SELECT pg_terminate_backend({target})")
            else:
                conn.exec_driver_sql(f"KILL CONNECTION {target}")
    finally:
        engine.dispose()


@servers
@pytest.mark.parametrize(("path", "status"), [("/set", 200), ("/end", 200), ("/revoke", 503)])
def test_write_after_its_connection_died(
    make_app: t.Callable[..., Flask], database_url: str, path: str, status: int
) -> None:
    """A save and ``session_end`` run again on a new connection; ending a
    user's sessions, which could not tell a second run's result from the
    first's, fails instead."""
    pool = {"pool_size": 1, "max_overflow": 0}
    app = cart_app(make_app, NAMEDSESSIONS_ENGINE_OPTIONS=pool)
    with app.app_context():
        engine = get_state(app).store.engine
    dropped: list[int] = []

    def drop() -> None:
        """End the one pooled connection, which the next write gets."""
        dropped.append(server_id(engine))
        kill(database_url, dropped[-1])

    @app.route("/dropped/<path>")
    def dropped_then(path: str) -> str:
        if path == "revoke":
            drop()
            return str(end_user_sessions("ann"))
        s = session_start("cart")
        drop()
        if path == "end":
            session_end("cart")
        else:
            s["a"] = s["b"] = "two"
        return ""

    if path == "/revoke" and get_state(app).settings.cache_url is not None:
        # With a cache, the revocation first reads the keys it will end: that
        # read meets the dead connection and runs again, and the DELETE
        # runs on a new one.
        status = 200
    client = app.test_client()
    assert client.get("/set/one").status_code == 200
    response = client.get("/dropped" + path)
    assert response.status_code == status
    if path == "/set":
        assert stored(app) == (1, {"a": '"two"', "b": '"two"'})
    else:
        assert stored(app)[0] == (1 if status == 503 else 0)
    assert server_id(engine) != dropped[0]


@servers
def test_import_retries_conflicts(
    make_app: t.Callable[..., Flask], faults: Faults, clock: Clock
) -> None:
    app = cart_app(make_app)
    faults.on(tables(app)[0], "INSERT")
    faults.plan(2)
    now = clock()
    plan = SavePlan(
        name="cart",
        row_id="r" * 32,
        create={
            "row_id": "r" * 32,
            "name": "cart",
            "key": ids.lookup_key("cart", ids.new_id()),
            "created_at": now,
            "touched_at": now,
            "expires_at": now + 60_000,
            "expires_min": 1.0,
            "user_key": None,
            "user_agent": None,
            "ip": None,
        },
        upserts={"a": '"one"'},
    )
    with app.app_context():
        assert get_state(app).store.create_sessions([plan]) == 1
    assert faults.used == 2
    assert stored(app) == (1, {"a": '"one"'})
