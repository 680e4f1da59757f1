"""Running SQL on the extension's connections, with errors translated once.

:class:`Runner` owns the engines, creates the tables on first use, and turns a
database error into :exc:`SessionStoreError` in :meth:`Runner._run` and
nowhere else (:mod:`.dberrors` judges them, and :mod:`.backoff` says how
often and how long a write that may pass is tried again). What the SQL does
lives in :mod:`.store`.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import typing as t

import sqlalchemy as sa

from . import dberrors
from .backoff import RetryPolicy
from .engine import describe_url
from .exceptions import SessionStoreError
from .leases import LeaseStatements
from .schema import create_tables
from .statements import Statements
from .userstatements import UserStatements

if t.TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from .engine import Engines
    from .models import Tables

__all__ = ["Runner"]

logger = logging.getLogger("flask_namedsessions")

_T = t.TypeVar("_T")


class Runner:
    """The engines of one app's sessions, and the one place SQL is run.

    :param tables: the session tables.
    :param engines: where they live.
    :param create_tables: create the tables on first use (reads that only
        report, such as :meth:`stats`, never create them).
    :param table_help: how to create missing tables, for the error that
        says they are missing.
    :param retry: how often and how long an operation that failed for a
        passing reason is run again.
    """

    def __init__(
        self,
        tables: Tables,
        engines: Engines,
        *,
        create_tables: bool,
        table_help: str = "create the session tables with 'flask namedsessions create-tables'",
        retry: RetryPolicy | None = None,
    ) -> None:
        self.retry = retry or RetryPolicy()
        self.tables = tables
        self.engines = engines
        self._create_tables = create_tables
        self._table_help = table_help
        self._ready = False
        self._statements: Statements | None = None
        self._user_statements: UserStatements | None = None
        self._lease_statements: LeaseStatements | None = None
        self._lock = threading.Lock()

    @property
    def engine(self) -> sa.Engine:
        """The engine, with the tables created on first use if enabled."""
        if not self._ready:
            with self._lock:
                if not self._ready:
                    if self._create_tables:
                        self.create_tables()
                    self._ready = True
        return self.engines.engine

    def _split(self, create: bool = True) -> tuple[sa.Engine, sa.Engine]:
        """The engines for reads and for transactions (tables made first,
        if ``create``)."""
        if create and not self._ready:
            self.engine  # noqa: B018 - creates the tables
        return self.engines.split()

    @property
    def sql(self) -> Statements:
        statements = self._statements
        if statements is None:
            dialect = self.engines.engine.dialect
            statements = self._statements = Statements(self.tables, dialect)
        return statements

    @property
    def user_sql(self) -> UserStatements:
        statements = self._user_statements
        if statements is None:
            statements = UserStatements(self.tables, self.engine.dialect)
            self._user_statements = statements
        return statements

    @property
    def lease_sql(self) -> LeaseStatements:
        statements = self._lease_statements
        if statements is None:
            statements = LeaseStatements(self.tables.leases, self.engines.engine.dialect)
            self._lease_statements = statements
        return statements

    def dispose(self) -> None:
        """Close the pooled connections (tests, forks, shutdown)."""
        self.engines.dispose()

    def create_tables(self) -> None:
        """Create the tables if they are missing, and the columns and
        indexes an earlier version's tables lack."""
        self._run(
            "creating the session tables",
            lambda: create_tables(self.engines.engine, self.tables),
        )

    def _run(
        self,
        operation: str,
        func: t.Callable[[], _T],
        retry: t.Callable[[BaseException], bool] = dberrors.never,
    ) -> _T:
        """Run ``func``, again after a pause while ``retry`` says its database
        error may pass and the retry policy allows; a database error that
        stays is a :exc:`SessionStoreError` saying which ``operation``
        failed."""
        started = time.monotonic()
        failed = 0
        while True:
            try:
                return func()
            except Exception as exc:
                if not dberrors.is_database_error(exc):
                    raise
                failed += 1
                pause = self.retry.pause(failed, started) if retry(exc) else None
                if pause is None:
                    raise self._error(operation, exc) from None
                # the message carries no statement parameters
                logger.info(
                    "%s; attempt %d of %d",
                    dberrors.store_error(operation, exc),
                    failed + 1,
                    self.retry.attempts,
                )
            time.sleep(pause)

    def _error(self, operation: str, exc: BaseException) -> SessionStoreError:
        """The error for ``exc``: a missing table by its name and how to
        create it; a failed connection with where the database is."""
        names = (self.tables.sessions.name, self.tables.variables.name, self.tables.leases.name)
        table = dberrors.missing_table(exc, names)
        if table is not None:
            return SessionStoreError(
                f"{operation} failed: the table {table!r} does not exist; {self._table_help}"
            )
        return dberrors.store_error(operation, exc, describe_url(self.engines.engine.url))

    def _in_transaction(
        self,
        operation: str,
        func: t.Callable[[Connection], _T],
        retry: t.Callable[[BaseException], bool] = dberrors.transient,
        *,
        create: bool = True,
    ) -> _T:
        """Run ``func`` in one transaction, from the start again where
        ``retry`` allows (by default, when it failed whole: pass
        :func:`.dberrors.idempotent` only where running twice ends as once);
        the tables are created first if ``create``."""

        def attempt() -> _T:
            with self._begin(self._split(create)[1], operation) as conn:
                return func(conn)

        return self._run(operation, attempt, retry)

    @contextlib.contextmanager
    def _begin(self, engine: sa.Engine, operation: str) -> t.Iterator[Connection]:
        """``engine.begin()``, with the commit bounded by the watchdog where
        there is one (on an autocommit connection each statement commits, so
        the whole block is watched). A commit the watchdog had to cancel is
        an error, never retried: it may have been made, or not."""
        watchdog = self.engines.watchdog
        if watchdog is None:
            with engine.begin() as conn:
                yield conn
            return
        with engine.connect() as conn:
            dbapi_connection: t.Any = conn.connection.dbapi_connection
            watch = watchdog.start(dbapi_connection) if dbapi_connection.autocommit else None
            failed = False
            try:
                with conn.begin():
                    yield conn
                    if watch is None:
                        watch = watchdog.start(dbapi_connection)
            except Exception:
                if watch is None or not watch.fired:
                    raise
                failed = True
            finally:
                if watch is not None:
                    watchdog.stop(watch)
            if watch is not None and watch.fired:
                # A cancel may still be on its way to the server.
                conn.invalidate()
                if failed or watch.unconfirmed():
                    raise SessionStoreError(
                        f"{operation} failed: the database did not confirm it in time"
                        f" ({watchdog.seconds:g} s, NAMEDSESSIONS_STATEMENT_TIMEOUT);"
                        " it may have been written or not"
                    ) from None

    def _read(
        self, operation: str, func: t.Callable[[Connection], _T], *, create: bool = True
    ) -> _T:
        def attempt() -> _T:
            with self._split(create)[0].connect() as conn:
                return func(conn)

        return self._run(operation, attempt, dberrors.idempotent)
