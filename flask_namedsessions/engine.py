"""The engines the store runs on: its own, or the application's.

Without Flask-SQLAlchemy the extension makes its own engine, by default an
SQLite file in the instance folder set up for several threads and processes.
Either way reads and transactions may want different connection settings
(:func:`read_and_tx_engines`); both share one pool.
"""

from __future__ import annotations

import os
import threading
import typing as t

import sqlalchemy as sa

if t.TYPE_CHECKING:
    from .config import Settings

__all__ = ["CASCADES", "Engines", "own_engine"]

#: Set in a pooled connection's ``info`` when the extension itself turned on
#: SQLite's foreign keys on it, so deletes cascade.
CASCADES = "namedsessions_cascades"


def own_engine(instance_path: str, settings: Settings) -> sa.Engine:
    """The engine for ``NAMEDSESSIONS_DATABASE_URI``; it does not connect yet."""
    uri = settings.database_uri
    if uri is None:
        uri = "sqlite:///" + os.path.join(instance_path, "namedsessions.sqlite3")
    options = dict(settings.engine_options)
    url = sa.make_url(uri)
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
    if backend in ("mysql", "mariadb"):
        options.setdefault("pool_recycle", 3600)
    if backend == "postgresql":
        # Reads and single-statement saves then cost one round trip, with
        # no isolation switch on each checkout; the store still wraps a
        # save of several statements in one transaction.
        options.setdefault("isolation_level", "AUTOCOMMIT")
    engine = sa.create_engine(url, connect_args=connect_args, **options)
    if backend == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    return engine


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
    """

    def __init__(self, get_engine: t.Callable[[], sa.Engine]) -> None:
        self._get_engine = get_engine
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
        """The engines for reads and for transactions; found on first use,
        which connects."""
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
            self._engine.dispose()


def read_and_tx_engines(engine: sa.Engine) -> tuple[sa.Engine, sa.Engine]:
    """The engines that reads and transactions run on, both sharing
    ``engine``'s pool.

    A read wants no transaction around it, at the lowest cost per checkout:
    PostgreSQL would send ``BEGIN`` and ``ROLLBACK`` around it, so it runs in
    autocommit (free when the engine autocommits already); SQLite's driver
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
        return engine.execution_options(isolation_level="AUTOCOMMIT"), engine
    return engine, engine
