from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import typing as t
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from flask_namedsessions import NamedSessions
from flask_namedsessions.clock import now_ms
from flask_namedsessions.extension import get_state

DATABASE_URLS = {
    "sqlite": None,  # a file in the test's tmp_path
    "postgresql": os.environ.get(
        "NAMEDSESSIONS_TEST_POSTGRESQL_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    ),
    "mariadb": os.environ.get(
        "NAMEDSESSIONS_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test?charset=utf8mb4"
    ),
}


def selected_databases() -> list[str]:
    """All three unless NAMEDSESSIONS_TEST_DATABASES names fewer explicitly."""
    chosen = os.environ.get("NAMEDSESSIONS_TEST_DATABASES", "sqlite,postgresql,mariadb")
    names = [n.strip() for n in chosen.split(",") if n.strip()]
    unknown = set(names) - set(DATABASE_URLS)
    if unknown:
        raise pytest.UsageError(f"NAMEDSESSIONS_TEST_DATABASES: unknown {sorted(unknown)}")
    return names


_reachable: dict[str, str | None] = {}
TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "PRAGMA")


def _check_reachable(url: str) -> None:
    if url not in _reachable:
        engine = sa.create_engine(url)
        try:
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
            _reachable[url] = None
        except sa.exc.SQLAlchemyError as exc:
            _reachable[url] = str(exc).splitlines()[0]
        finally:
            engine.dispose()
    if _reachable[url] is not None:
        pytest.fail(
            f"database {url} is unreachable ({_reachable[url]}); start it, or narrow the"
            " run with NAMEDSESSIONS_TEST_DATABASES",
            pytrace=False,
        )


def clean_tables(url: str, prefix: str = "namedsessions_") -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            names = set(sa.inspect(conn).get_table_names())
            for table in (f"{prefix}variables", f"{prefix}sessions"):
                if table in names:
                    conn.execute(sa.text(f"DELETE FROM {table}"))
    finally:
        engine.dispose()


#: Table prefixes the tests let the extension create its tables under.
CREATED_PREFIXES = ("namedsessions_", "bound_")
_fresh: set[str] = set()


def fresh_schema(url: str) -> None:
    """Once per run, drop the session tables that earlier runs left in a
    shared test database, so that they are created from today's models."""
    if url in _fresh:
        return
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            names = set(sa.inspect(conn).get_table_names())
            for prefix in CREATED_PREFIXES:
                for table in (f"{prefix}variables", f"{prefix}sessions"):
                    if table in names:
                        conn.execute(sa.text(f"DROP TABLE {table}"))
    finally:
        engine.dispose()
    _fresh.add(url)


@pytest.fixture
def sqlite_url(tmp_path: t.Any) -> str:
    """An SQLite file of the test's own: for tests whose subject is not the
    store (cookies, links, config), which a module opts into by overriding
    ``database_url`` with it."""
    return f"sqlite:///{tmp_path / 'sessions.sqlite3'}"


@pytest.fixture(params=selected_databases())
def database_url(request: pytest.FixtureRequest, tmp_path: t.Any) -> t.Iterator[str]:
    """The URL of each database the store is tested on, tables emptied."""
    name = request.param
    url = DATABASE_URLS[name] or f"sqlite:///{tmp_path / 'sessions.sqlite3'}"
    if name != "sqlite":
        _check_reachable(url)
        fresh_schema(url)
        clean_tables(url)
    yield url
    if name != "sqlite":
        clean_tables(url)


class Clock:
    """The apps' clock: real time, moved forward by :meth:`advance` instead
    of sleeping."""

    def __init__(self) -> None:
        self.offset = 0

    def __call__(self) -> int:
        return now_ms() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += int(seconds * 1000)


@pytest.fixture
def clock() -> Clock:
    """The clock of every app that ``make_app`` builds."""
    return Clock()


#: A Redis URL: every app the tests make has the cache on (its database is
#: emptied before each test), to run the whole suite through the cache.
#: Tests that count SQL statements of the plain store are then skipped, with
#: that reason: the cache sends fewer.
CACHE_EVERYWHERE = os.environ.get("NAMEDSESSIONS_TEST_CACHE_EVERYWHERE")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if not CACHE_EVERYWHERE:
        return
    skip = pytest.mark.skip(reason="counts the SQL of the store without the cache")
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if "sql_count" in fixtures and not {"cache_url", "own_redis"} & set(fixtures):
            item.add_marker(skip)


@pytest.fixture
def make_app(
    database_url: str, tmp_path: t.Any, clock: Clock
) -> t.Iterator[t.Callable[..., Flask]]:
    """Build apps on ``database_url``; their engines are disposed afterwards."""
    apps: list[Flask] = []
    if CACHE_EVERYWHERE:
        import redis

        redis.Redis.from_url(CACHE_EVERYWHERE).flushdb()

    def make(**config: t.Any) -> Flask:
        app = Flask(__name__, instance_path=str(tmp_path / "instance"))
        app.config.update(
            TESTING=True,
            SECRET_KEY="test",
            NAMEDSESSIONS_DATABASE_URI=database_url,
        )
        app.config.update(config)
        if CACHE_EVERYWHERE:
            app.config.setdefault("NAMEDSESSIONS_CACHE_URL", CACHE_EVERYWHERE)
        NamedSessions(app)
        get_state(app).clock = clock
        apps.append(app)
        return app

    yield make
    for app in apps:
        get_state(app).store.dispose()


@pytest.fixture
def app(make_app: t.Callable[..., Flask]) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> t.Any:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> t.Any:
    return app.test_cli_runner()


class StatementLog:
    """SQL statements sent on an engine, transaction control left out."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, conn: t.Any, cursor: t.Any, statement: str, *args: t.Any) -> None:
        if not statement.lstrip().upper().startswith(TRANSACTION_CONTROL):
            self.statements.append(statement)

    def reset(self) -> None:
        self.statements.clear()

    @property
    def count(self) -> int:
        return len(self.statements)

    @property
    def writes(self) -> list[str]:
        return [s for s in self.statements if not s.lstrip().upper().startswith("SELECT")]

    @property
    def reads(self) -> list[str]:
        return [s for s in self.statements if s.lstrip().upper().startswith("SELECT")]


@pytest.fixture
def sql_count() -> t.Iterator[t.Callable[[Flask], StatementLog]]:
    """``sql_count(app)`` starts counting statements on the app's session
    engine (created, tables ready) and returns the log."""
    listening: list[tuple[sa.Engine, StatementLog]] = []

    def start(app: Flask) -> StatementLog:
        with app.app_context():
            engine = get_state(app).store.engine
        log = StatementLog()
        sa.event.listen(engine, "before_cursor_execute", log)
        listening.append((engine, log))
        return log

    yield start
    for engine, log in listening:
        sa.event.remove(engine, "before_cursor_execute", log)


ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def gunicorn() -> t.Iterator[t.Callable[..., str]]:
    """Start gunicorn on 127.0.0.1 with an app factory; returns the base URL
    once the server answers. Every server is stopped whatever happens."""
    processes: list[subprocess.Popen[bytes]] = []

    def start(
        app: str, env: dict[str, str] | None = None, workers: int = 2, threads: int = 1
    ) -> str:
        port = _free_port()
        command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}"]
        command += ["--workers", str(workers), "--threads", str(threads), "--timeout", "60"]
        process = subprocess.Popen(
            [*command, app],
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        processes.append(process)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(url + "/ready", timeout=2):
                    return url
            except urllib.error.HTTPError:
                return url
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    process.kill()
                    err = process.stderr.read().decode() if process.stderr else ""
                    pytest.fail(f"gunicorn did not start on {url}:\n{err[-2000:]}")
                time.sleep(0.1)

    yield start
    for process in processes:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr is not None:
            process.stderr.close()
