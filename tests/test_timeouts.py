"""Statement timeouts on the extension's own engine, the bound on a commit
that waits, and what it sets on a new connection to MariaDB (causal reads,
on a Galera node only).

A statement that waits for a lock held by another connection fails after
``NAMEDSESSIONS_STATEMENT_TIMEOUT`` with a :exc:`SessionStoreError` (a 503
here), instead of holding the request for as long as the lock is held.
"""

from __future__ import annotations

import typing as t

import pytest
import sqlalchemy as sa
from flask import Flask
from flask import g

from flask_namedsessions import session_start
from flask_namedsessions import SessionStoreError
from flask_namedsessions.engine import GALERA
from flask_namedsessions.extension import get_state


def engine_of(app: Flask) -> sa.Engine:
    """The app's session engine, tables created."""
    with app.app_context():
        return get_state(app).store.engine


def locked_app(make_app: t.Callable[..., Flask], **config: t.Any) -> Flask:
    app = make_app(NAMEDSESSIONS_STATEMENT_TIMEOUT=0.5, NAMEDSESSIONS_RETRY_LIMIT=0.2, **config)

    @app.errorhandler(SessionStoreError)
    def unavailable(exc: SessionStoreError) -> tuple[str, int]:
        return str(exc), 503

    @app.route("/set/<value>")
    def set_(value: str) -> str:
        session_start("cart")["a"] = value
        return ""

    @app.route("/get")
    def get() -> str:
        session_start("cart")
        return str(getattr(g, "a", None))

    return app


def test_statement_blocked_by_a_lock_times_out(
    make_app: t.Callable[..., Flask], database_url: str
) -> None:
    app = locked_app(make_app)
    client = app.test_client()
    assert client.get("/set/one").status_code == 200
    if database_url.startswith("sqlite"):
        # SQLite has no statement timeout; its writers queue in the busy timeout
        assert "timeout" not in str(engine_of(app).url)
        return
    with app.app_context():
        store = get_state(app).store
        variables = store.tables.variables.name
    blocker = sa.create_engine(database_url)
    try:
        with blocker.connect() as conn:
            if blocker.dialect.name == "mysql":
                # so that the blocker is never the one to give up
                conn.exec_driver_sql("SET SESSION innodb_lock_wait_timeout = 100")
            conn.exec_driver_sql(f"SELECT * FROM {variables} FOR UPDATE")
            response = client.get("/set/two")
            conn.rollback()
    finally:
        blocker.dispose()
    assert response.status_code == 503
    assert response.text.startswith("saving session 'cart' failed")
    if database_url.startswith("postgresql"):
        assert response.text.endswith(" (QueryCanceled)")
    else:
        # PyMySQL stopped waiting, and dropped the connection
        assert response.text.endswith(" during query (timed out)'))")
    assert client.get("/get").text == "one"


def timeouts(app: Flask) -> t.Any:
    """What bounds a statement on a connection of the app's engine:
    PostgreSQL's ``statement_timeout``, PyMySQL's read and write timeouts."""
    engine = engine_of(app)
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            return conn.exec_driver_sql("SHOW statement_timeout").scalar()
        raw = conn.connection.dbapi_connection
        if engine.dialect.name == "mysql":
            return raw._read_timeout, raw._write_timeout  # type: ignore[union-attr]
        return None


def expected(database_url: str, postgresql: str, mysql: t.Any) -> t.Any:
    if database_url.startswith("postgresql"):
        return postgresql
    return mysql if database_url.startswith("mysql") else None


def test_statement_timeout_reaches_each_connection(
    make_app: t.Callable[..., Flask], database_url: str
) -> None:
    app = make_app(NAMEDSESSIONS_STATEMENT_TIMEOUT=2.5)
    assert timeouts(app) == expected(database_url, "2500ms", (2.5, 2.5))
    # and to a commit, on PostgreSQL: the others' timeouts cover it already
    watchdog = get_state(app).store.engines.watchdog
    assert (watchdog and watchdog.seconds) == expected(database_url, 2.5, None)


@pytest.mark.parametrize("timeout", [None, 0])
def test_statement_timeout_off(
    make_app: t.Callable[..., Flask], database_url: str, timeout: float | None
) -> None:
    app = make_app(NAMEDSESSIONS_STATEMENT_TIMEOUT=timeout)
    assert timeouts(app) == expected(database_url, "0", (None, None))
    assert get_state(app).store.engines.watchdog is None


def test_own_statement_timeout_option_wins(
    make_app: t.Callable[..., Flask], database_url: str
) -> None:
    args = expected(database_url, {"options": "-c statement_timeout=7s"}, {"read_timeout": 7})
    app = make_app(NAMEDSESSIONS_ENGINE_OPTIONS={"connect_args": args or {"timeout": 7}})
    assert timeouts(app) == expected(database_url, "7s", (7, 10.0))


def test_plain_mariadb_gets_no_causal_reads(
    make_app: t.Callable[..., Flask], database_url: str
) -> None:
    app = make_app()
    engine = engine_of(app)
    with engine.connect() as conn:
        if engine.dialect.name != "mysql":
            assert GALERA not in conn.connection.info
            return
        assert conn.connection.info[GALERA] is False
        assert conn.exec_driver_sql("SELECT @@session.wsrep_sync_wait").scalar() == 0


def test_causal_reads_can_be_turned_off(
    make_app: t.Callable[..., Flask], database_url: str
) -> None:
    app = make_app(NAMEDSESSIONS_GALERA_CAUSAL_READS=False)
    engine = engine_of(app)
    with engine.connect() as conn:
        assert GALERA not in conn.connection.info


#: A trigger that makes each write of a variable slow: on PostgreSQL a
#: deferred constraint trigger, which runs in the COMMIT, after the
#: statement's ``statement_timeout`` has stopped (as a wait for a synchronous
#: standby does); on MariaDB an ordinary one.
SLOW_COMMIT = {
    "postgresql": [
        "CREATE FUNCTION {table}_slow() RETURNS trigger LANGUAGE plpgsql"
        " AS $$ BEGIN PERFORM pg_sleep(5); RETURN NULL; END $$",
        "CREATE CONSTRAINT TRIGGER {table}_slow AFTER INSERT OR UPDATE ON {table}"
        " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION {table}_slow()",
    ],
    "mysql": [
        "CREATE TRIGGER {table}_slow BEFORE UPDATE ON {table} FOR EACH ROW SET @s = SLEEP(2)"
    ],
}
FAST_COMMIT = {
    "postgresql": [
        "DROP TRIGGER {table}_slow ON {table}",
        "DROP FUNCTION {table}_slow()",
    ],
    "mysql": ["DROP TRIGGER {table}_slow"],
}


@pytest.mark.parametrize("sessions", ["one", "two"])
def test_commit_that_waits_is_bounded_and_not_acknowledged(
    make_app: t.Callable[..., Flask], database_url: str, sessions: str
) -> None:
    """One session saves in one autocommit statement on PostgreSQL, two in a
    transaction whose COMMIT waits; either way the save is a 503 after the
    statement timeout, not an answer after the trigger's sleep, and is not
    run again."""
    app = locked_app(make_app)

    @app.route("/both/<value>")
    def both(value: str) -> str:
        session_start("cart")["a"] = value
        session_start("wish")["b"] = value
        return ""

    path = "/set/{}" if sessions == "one" else "/both/{}"
    client = app.test_client()
    assert client.get(path.format("one")).status_code == 200
    if database_url.startswith("sqlite"):
        return
    engine = engine_of(app)
    with app.app_context():
        table = get_state(app).store.tables.variables.name
    dialect = engine.dialect.name
    # without the statement timeout, to wait for the sleep to end
    admin = sa.create_engine(database_url)
    with admin.begin() as conn:
        for sql in SLOW_COMMIT[dialect]:
            conn.exec_driver_sql(sql.format(table=table))
    statements: list[str] = []

    def executed(conn: t.Any, cursor: t.Any, statement: str, *args: t.Any) -> None:
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", executed)
    try:
        response = client.get(path.format("two"))
        slow = len(statements)
    finally:
        with admin.begin() as conn:
            for sql in FAST_COMMIT[dialect]:
                conn.exec_driver_sql(sql.format(table=table))
        admin.dispose()
    assert response.status_code == 503
    assert response.text.startswith("saving session 'cart'")
    if dialect == "postgresql":
        assert response.text.endswith(
            " failed: the database did not confirm it in time"
            " (0.5 s, NAMEDSESSIONS_STATEMENT_TIMEOUT); it may have been written or not"
        )
    # not run again: no more statements than a save that passes
    del statements[:]
    assert client.get(path.format("three")).status_code == 200
    sa.event.remove(engine, "before_cursor_execute", executed)
    assert slow <= len(statements)
    assert client.get("/get").text == "three"
