"""The engines the store runs on: its own, or the application's.

Without Flask-SQLAlchemy the extension makes its own engine, by default an
SQLite file in the instance folder set up for several threads and processes.
Either way reads and transactions may want different connection settings
(:func:`read_and_tx_engines`).
"""

from __future__ import annotations

import os
import re
import threading
import typing as t
import weakref

import sqlalchemy as sa
from sqlalchemy.engine.base import OptionEngine

if t.TYPE_CHECKING:
    from .config import Settings
    from .watchdog import Watchdog

__all__ = [
    "CASCADES",
    "GALERA",
    "Engines",
    "causal_reads",
    "check_not_shared",
    "describe_url",
    "own_engine",
]

#: Set in a pooled connection's ``info`` when the extension itself turned on
#: SQLite's foreign keys on it, so deletes cascade.
CASCADES = "namedsessions_cascades"


#: The driver each extra installs, by the backends it serves.
_EXTRAS = {"postgresql": ("psycopg", "postgresql"), "mysql": ("pymysql", "mariadb")}
_EXTRAS["mariadb"] = _EXTRAS["mysql"]


def own_engine(instance_path: str, settings: Settings) -> sa.Engine:
    """The engine for ``NAMEDSESSIONS_DATABASE_URI``; it does not connect yet,
    but a URI it cannot use, a missing driver or an option ``create_engine``
    does not take is an error here, in ``init_app``."""
    uri = settings.database_uri
    if uri is None:
        uri = "sqlite:///" + os.path.join(instance_path, "namedsessions.sqlite3")
    options = dict(settings.engine_options)
    try:
        url = sa.make_url(uri)
    except (sa.exc.ArgumentError, ValueError):
        # SQLAlchemy's message repeats the URI, password included.
        raise ValueError(
            "NAMEDSESSIONS_DATABASE_URI is not a database URL; write it as"
            " dialect+driver://user:password@host:port/database, such as"
            " postgresql+psycopg://localhost/app"
        ) from None
    backend = url.get_backend_name()
    connect_args = dict(options.pop("connect_args", {}))
    if backend == "sqlite" and url.database not in (None, "", ":memory:"):
        os.makedirs(os.path.dirname(os.path.abspath(url.database)), exist_ok=True)
        connect_args.setdefault("timeout", 30)
        connect_args.setdefault("check_same_thread", False)
    elif (backend == "postgresql" and url.get_driver_name() in ("psycopg", "psycopg2")) or (
        backend in ("mysql", "mariadb") and url.get_driver_name() == "pymysql"
    ):
        connect_args.setdefault("connect_timeout", 5)
        if settings.statement_timeout is not None:
            _statement_timeout(url, connect_args, settings.statement_timeout)
    if backend in ("mysql", "mariadb"):
        options.setdefault("pool_recycle", 3600)
    if backend == "postgresql":
        # Reads and single-statement saves then cost one round trip, with
        # no isolation switch on each checkout; the store still wraps a
        # save of several statements in one transaction.
        options.setdefault("isolation_level", "AUTOCOMMIT")
    try:
        engine = sa.create_engine(url, connect_args=connect_args, **options)
    except sa.exc.NoSuchModuleError:
        raise ValueError(
            f"NAMEDSESSIONS_DATABASE_URI names {url.drivername!r}, which SQLAlchemy"
            " does not know; use sqlite, postgresql+psycopg or mysql+pymysql"
        ) from None
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(_missing_driver(url), name=exc.name) from exc
    except TypeError as exc:
        found = re.match(r"Invalid argument\(s\) (.+) sent to create_engine", str(exc))
        what = found.group(1).replace("','", "', '") if found else str(exc)
        raise ValueError(
            "NAMEDSESSIONS_ENGINE_OPTIONS holds options that sqlalchemy.create_engine()"
            f" does not take for {url.drivername}: {what}"
        ) from None
    if backend == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    if backend in ("mysql", "mariadb") and settings.galera_causal_reads:
        sa.event.listen(engine, "connect", causal_reads)
    return engine


def _statement_timeout(url: sa.URL, connect_args: dict[str, t.Any], seconds: float) -> None:
    """Bound every statement by ``seconds``, unless the application set its
    own bound: PostgreSQL's ``statement_timeout`` rides in the startup
    ``options``; PyMySQL stops waiting for a reply, or to send, that long."""
    if url.get_backend_name() != "postgresql":
        connect_args.setdefault("read_timeout", seconds)
        connect_args.setdefault("write_timeout", seconds)
        return
    options = str(connect_args.get("options", url.query.get("options", "")))
    if "statement_timeout" not in options:
        timeout = f"-c statement_timeout={max(1, round(seconds * 1000))}"
        connect_args["options"] = f"{options} {timeout}".strip()


#: Set in a pooled connection's ``info``: is it a Galera node's?
GALERA = "namedsessions_galera"


def causal_reads(dbapi_connection: t.Any, record: t.Any) -> None:
    """On a Galera node, make each read wait until the node has applied
    every write the cluster committed before it (``wsrep_sync_wait = 1``):
    a session saved through one node is then found through any other. Asked
    once per new connection; MySQL, which has no ``wsrep_on``, answers with
    no row."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("SHOW VARIABLES LIKE 'wsrep_on'")
        row = cursor.fetchone()
        galera = row is not None and str(row[1]).upper() == "ON"
        if galera:
            cursor.execute("SET SESSION wsrep_sync_wait = 1")
    finally:
        cursor.close()
    record.info[GALERA] = galera


def _missing_driver(url: sa.URL) -> str:
    """What to install for ``url``'s driver: the extra that brings it, or
    the driver an extra brings for the same database."""
    driver = url.get_driver_name()
    message = f"NAMEDSESSIONS_DATABASE_URI needs the {driver} driver, which is not installed"
    known = _EXTRAS.get(url.get_backend_name())
    if known is None:
        return f"{message}: install it"
    module, extra = known
    install = f"pip install 'flask-namedsessions[{extra}]'"
    if driver == module:
        return f"{message}: {install}"
    return (
        f"{message}: install it, or write the URI as {url.get_backend_name()}+{module}://..."
        f" and {install}"
    )


def describe_url(url: sa.URL) -> str:
    """Where ``url`` points, for an error message: never its password."""
    backend = url.get_backend_name()
    if backend == "sqlite":
        return f"the SQLite database {url.database or ':memory:'!r}"
    if url.host is None and "host" in url.query:
        # libpq's several hosts, tried in turn: host=a:5432&host=b:5432
        hosts = url.query["host"]
        where = ", ".join([hosts] if isinstance(hosts, str) else hosts)
    else:
        host = url.host or "localhost"
        where = f"{host}:{url.port}" if url.port else host
    return f"the {backend} database {url.database or ''!r} at {where}"


def _in_memory(url: sa.URL) -> bool:
    """Is ``url`` an in-memory SQLite database, in any of its spellings
    (``sqlite://``, ``:memory:``, ``file::memory:`` and ``mode=memory`` URIs)?"""
    if url.get_backend_name() != "sqlite":
        return False
    database = url.database or ""
    if database in ("", ":memory:") or url.query.get("mode") == "memory":
        return True
    path = database.removeprefix("file:").partition("?")[0]
    # Flask-SQLAlchemy turns file::memory: into file:<instance folder>/:memory:
    return os.path.basename(path) == ":memory:"


def check_not_shared(engine: sa.Engine, source: str) -> None:
    """Refuse an application engine whose connections the store would share
    with the application's ``db.session``: a save there would commit the
    view's unfinished work. ``source`` names the setting behind it."""
    if _in_memory(engine.url):
        what = f"{source} is an in-memory SQLite database"
    elif isinstance(engine.pool, (sa.pool.StaticPool, sa.pool.SingletonThreadPool)):
        what = f"{source} uses {type(engine.pool).__name__}"
    else:
        return
    raise RuntimeError(
        f"{what}, whose one connection the sessions would share with the"
        " application: saving a session would commit the application's"
        " unfinished work. Give the sessions their own NAMEDSESSIONS_DATABASE_URI"
        " (an SQLite file, for example)"
    )


def _sqlite_pragmas(dbapi_connection: t.Any, record: t.Any) -> None:
    """WAL lets readers run beside a writer; the busy timeout makes writers
    queue instead of failing; foreign keys delete variables with sessions."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
    record.info[CASCADES] = True


class Engines:
    """One app's engine, found on first use, and its read/transaction split.

    :param get_engine: returns the engine; called once, when first needed (an
        application's Flask-SQLAlchemy engine exists only in its app context).
    :param watchdog: bounds the commits of the extension's own engine.
    """

    def __init__(
        self, get_engine: t.Callable[[], sa.Engine], watchdog: Watchdog | None = None
    ) -> None:
        self._get_engine = get_engine
        self.watchdog = watchdog
        self._engine: sa.Engine | None = None
        self._split: tuple[sa.Engine, sa.Engine] | None = None
        self._lock = threading.Lock()

    @property
    def engine(self) -> sa.Engine:
        engine = self._engine
        if engine is None:
            with self._lock:
                if self._engine is None:
                    self._engine = self._get_engine()
                engine = self._engine
        return engine

    def split(self) -> tuple[sa.Engine, sa.Engine]:
        """The engines for reads and single statements, and for
        transactions; found on first use, which connects."""
        engines = self._split
        if engines is None:
            engine = self.engine
            with self._lock:
                if self._split is None:
                    self._split = read_and_tx_engines(engine)
                engines = self._split
        return engines

    def dispose(self) -> None:
        """Close the pooled connections (tests, forks, shutdown)."""
        if self._engine is not None:
            for engine in self._split or ():
                if engine.pool is not self._engine.pool:
                    engine.dispose()
            self._engine.dispose()


def read_and_tx_engines(engine: sa.Engine) -> tuple[sa.Engine, sa.Engine]:
    """The engines that reads (and single statements) and transactions run on.

    A read wants no transaction around it, at the lowest cost per checkout:
    PostgreSQL would send ``BEGIN`` and ``ROLLBACK`` around it, so it runs in
    autocommit (free when the engine autocommits already; on an application
    engine that does not, on its autocommitting twin); SQLite's driver
    opens no transaction for a ``SELECT``, and switching MariaDB to autocommit
    and back costs two round trips, more than the ``ROLLBACK`` it saves. An
    engine that autocommits gets its transactions at the database's own
    isolation level, or a save of several statements would not be atomic.
    """
    with engine.connect() as conn:
        dbapi_connection = conn.connection.dbapi_connection
        try:
            autocommits = dbapi_connection is not None and engine.dialect.detect_autocommit_setting(
                dbapi_connection
            )
        except NotImplementedError:
            autocommits = False
        default_level = conn.default_isolation_level
    if autocommits and default_level is not None:
        return engine, engine.execution_options(isolation_level=default_level)
    if engine.dialect.name == "postgresql":
        return _autocommit_twin(engine), engine
    return engine, engine


class _TwinEngine(OptionEngine):
    """An engine that shares another's dialect, events and statement cache,
    but not its pool, whose connections it closes when it goes away (the
    application disposes only the engine it made)."""

    def __init__(self, proxied: sa.Engine, pool: sa.pool.Pool) -> None:
        self._pools = [pool]
        weakref.finalize(self, _dispose_last, self._pools)
        super().__init__(proxied, {})

    @property
    def pool(self) -> sa.pool.Pool:
        return self._pools[-1]

    @pool.setter
    def pool(self, pool: sa.pool.Pool) -> None:
        self._pools[-1] = pool


def _dispose_last(pools: list[sa.pool.Pool]) -> None:
    pools[-1].dispose()


def _autocommit_twin(engine: sa.Engine) -> sa.Engine:
    """``engine`` on a pool of its own whose connections autocommit from the
    moment they connect.

    An application's engine opens transactions. Switching one of its pooled
    connections to autocommit for a read, and back when it returns to the
    pool, costs more than the read's own Python; reading in a transaction
    costs a ``BEGIN`` and a ``ROLLBACK`` round trip. The twin's connections
    are made like the application's (same creator, pool settings and connect
    listeners), and the application's engine events (statement logging,
    tracing) see its statements too. It holds at most as many connections
    as threads read sessions at once.
    """
    pool = engine.pool.recreate()
    dialect = engine.dialect

    def autocommit(dbapi_connection: t.Any, record: t.Any) -> None:
        dialect.set_isolation_level(dbapi_connection, "AUTOCOMMIT")

    sa.event.listen(pool, "connect", autocommit)
    return _TwinEngine(engine, pool)
