"""Every SQL statement of the extension, on its own connections.

The store never touches the application's ``db.session``: reads run outside any
transaction held across the view (one round trip) and all writes of one request
share one short transaction at its end.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
import threading
import typing as t

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite

from . import ids
from .exceptions import SessionStoreError
from .models import Tables

if t.TYPE_CHECKING:
    from sqlalchemy.engine import Connection
    from sqlalchemy.engine import Engine

_T = t.TypeVar("_T")


@dataclasses.dataclass
class StoredSession:
    """A session row as loaded, with its variables' stored text."""

    sid: str
    key: str = dataclasses.field(repr=False)
    by_old_key: bool
    old_key_until: int | None
    successor: str | None = dataclasses.field(repr=False)
    created_at: int
    touched_at: int
    expires_at: int
    expires_min: float
    values: dict[str, str]

    @classmethod
    def from_row(cls, row: t.Any, *, by_old_key: bool) -> StoredSession:
        return cls(
            sid=row.sid,
            key=row.key,
            by_old_key=by_old_key,
            old_key_until=row.old_key_until,
            successor=row.successor,
            created_at=row.created_at,
            touched_at=row.touched_at,
            expires_at=row.expires_at,
            expires_min=row.expires_min,
            values={},
        )


@dataclasses.dataclass
class SavePlan:
    """What one session's save writes; built by the request, run by the store."""

    name: str
    sid: str
    create: dict[str, t.Any] | None = dataclasses.field(default=None, repr=False)
    #: an expired session to delete, if it still is expired: its expiry at or
    #: before ``expired_by``, or its creation at or before ``born_by`` (the
    #: absolute timeout)
    replaces_sid: str | None = None
    expired_by: int = 0
    born_by: int | None = None
    update: dict[str, t.Any] | None = dataclasses.field(default=None, repr=False)
    #: the UPDATE applies only while the key is this one (a rotation); the
    #: ID rotated from opens the successor another rotation may have left
    update_guard_key: str | None = dataclasses.field(default=None, repr=False)
    #: with the update, drop a rotation's seal whose grace ended by then (a
    #: rotation saved meanwhile by another request keeps its own)
    clear_seal_by: int | None = None
    rotated_from: str | None = dataclasses.field(default=None, repr=False)
    upserts: dict[str, str] = dataclasses.field(default_factory=dict)
    removals: list[str] = dataclasses.field(default_factory=list)

    def is_empty(self) -> bool:
        return not (
            self.create or self.replaces_sid or self.update or self.upserts or self.removals
        )

    def is_one_statement(self) -> bool:
        """Is this plan one write of one row set, atomic without a transaction?"""
        if self.create is not None or self.replaces_sid is not None:
            return False
        return (self.update is not None) + len(self.upserts) + bool(self.removals) == 1


@dataclasses.dataclass(frozen=True)
class SaveOutcome:
    """How a save went for one session: whether its row still exists, and if
    another request rotated it first, the ID that request gave it."""

    gone: bool = False
    new_id: str | None = dataclasses.field(default=None, repr=False)


class Store:
    """The SQL face of one app's sessions."""

    def __init__(
        self,
        tables: Tables,
        get_engine: t.Callable[[], Engine],
        *,
        create_tables: bool,
    ) -> None:
        self.tables = tables
        self._get_engine = get_engine
        self._create_tables = create_tables
        self._resolved: Engine | None = None
        self._engine: Engine | None = None
        self._split: tuple[Engine, Engine] | None = None
        self._lock = threading.Lock()
        s = tables.sessions
        v = tables.variables
        self._columns = (
            s.c.sid,
            s.c.key,
            s.c.old_key_until,
            s.c.successor,
            s.c.created_at,
            s.c.touched_at,
            s.c.expires_at,
            s.c.expires_min,
        )
        join = s.outerjoin(v, v.c.sid == s.c.sid)
        key = sa.bindparam("key", type_=s.c.key.type)
        # Built once: constructing statements costs more than running them
        # from SQLAlchemy's compiled cache. By the unique key alone, so that
        # any planner, with or without statistics, reads one session row and
        # its variables by index; and only the columns a session found by its
        # current key needs, as each column costs on every row.
        self._load_stmt = (
            sa.select(
                s.c.sid,
                s.c.created_at,
                s.c.touched_at,
                s.c.expires_at,
                s.c.expires_min,
                v.c.name,
                v.c.value,
            )
            .select_from(join)
            .where(s.c.key == key)
        )
        self._load_old_stmt = (
            sa.select(*self._columns, v.c.name, v.c.value)
            .select_from(join)
            .where(s.c.old_key == key)
        )
        self._statements: dict[str, t.Any] = {}

    # -- engines ---------------------------------------------------------------

    @property
    def engine(self) -> Engine:
        """The engine, resolved on first use (tables created then if enabled)."""
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    engine = self._resolve()
                    if self._create_tables:
                        self._run("creating the session tables", self._create, engine)
                    self._engine = engine
        return self._engine

    def _resolve(self) -> Engine:
        if self._resolved is None:
            self._resolved = self._get_engine()
        return self._resolved

    def _engines(self) -> tuple[Engine, Engine]:
        """The engines for reads and for transactions (see
        :func:`_read_and_tx_engines`); found on first use, which connects."""
        engines = self._split
        if engines is None:
            engine = self.engine
            with self._lock:
                if self._split is None:
                    self._split = _read_and_tx_engines(engine)
                engines = self._split
        return engines

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def _create(self, engine: Engine) -> None:
        tables = [self.tables.sessions, self.tables.variables]
        try:
            self.tables.sessions.metadata.create_all(engine, tables=tables)
        except sa.exc.DBAPIError:
            # Another process created them between the check and the CREATE.
            if not sa.inspect(engine).has_table(self.tables.variables.name):
                raise

    def dispose(self) -> None:
        """Close the pooled connections (tests, forks, shutdown)."""
        if self._resolved is not None:
            self._resolved.dispose()

    def create_tables(self) -> None:
        """Create the tables if they are missing."""
        self._run("creating the session tables", self._create, self._resolve())

    @staticmethod
    def _run(operation: str, func: t.Callable[..., _T], *args: t.Any) -> _T:
        try:
            return func(*args)
        except Exception as exc:
            if not is_database_error(exc):
                raise
            raise store_error(operation, exc) from None

    @contextlib.contextmanager
    def _transaction(self, operation: str) -> t.Iterator[Connection]:
        """``begin()`` on the transaction engine, its database errors as
        :exc:`SessionStoreError`."""
        try:
            with self._engines()[1].begin() as conn:
                yield conn
        except Exception as exc:
            if not is_database_error(exc):
                raise
            raise store_error(operation, exc) from None

    def _read(self, operation: str, func: t.Callable[[Connection], _T]) -> _T:
        """Run a read; retry once when the pool found a dead connection (the
        database restarted), so a running server recovers by itself."""

        def attempt() -> _T:
            with self._engines()[0].connect() as conn:
                return func(conn)

        try:
            return attempt()
        except sa.exc.DBAPIError as exc:
            if not exc.connection_invalidated:
                raise store_error(operation, exc) from None
        except Exception as exc:
            # A driver error that escaped SQLAlchemy from a pool event (a dead
            # connection switched to autocommit): retry on a fresh one.
            if not is_database_error(exc):
                raise
        return self._run(operation, attempt)

    # -- reads -----------------------------------------------------------------

    def load(self, name: str, key: str, *, by_old_key: bool = True) -> StoredSession | None:
        """Load the session whose current key is ``key`` (one SELECT), else,
        if ``by_old_key``, the one that was rotated away from it (a second
        SELECT)."""
        params = {"key": key}

        def read(conn: Connection) -> StoredSession | None:
            rows = conn.execute(self._load_stmt, params).all()
            if rows:
                sid, created, touched, expires_at, expires_min = rows[0][:5]
                return StoredSession(
                    sid=sid,
                    key=key,
                    by_old_key=False,
                    old_key_until=None,
                    successor=None,
                    created_at=created,
                    touched_at=touched,
                    expires_at=expires_at,
                    expires_min=expires_min,
                    values={row[5]: row[6] for row in rows if row[5] is not None},
                )
            if not by_old_key:
                return None
            rotated = conn.execute(self._load_old_stmt, params).all()
            if not rotated:
                return None
            found = StoredSession.from_row(rotated[0], by_old_key=True)
            found.values = {
                row.name: row.value
                for row in rotated
                if row.name is not None and row.sid == found.sid
            }
            return found

        return self._read(f"loading session {name!r}", read)

    # -- writes ----------------------------------------------------------------

    def _insert(self) -> t.Any:
        name = self.dialect
        if name == "postgresql":
            return postgresql.insert
        if name in ("mysql", "mariadb"):
            return mysql.insert
        if name == "sqlite":
            return sqlite.insert
        raise SessionStoreError(f"the {name} database is not supported")

    def _cached(self, name: str, build: t.Callable[[], t.Any]) -> t.Any:
        stmt = self._statements.get(name)
        if stmt is None:
            stmt = self._statements[name] = build()
        return stmt

    def _create_stmt(self) -> t.Any:
        return self._cached("create", self._build_create)

    def _upsert_stmt(self) -> t.Any:
        return self._cached("upsert", self._build_upsert)

    def _build_create(self) -> t.Any:
        """INSERT a session row, or nothing if its key exists already. Where
        the database can say so, the statement returns the row it inserted
        (psycopg reports no row count for it)."""
        stmt = self._insert()(self.tables.sessions)
        if self.dialect in ("mysql", "mariadb"):
            return stmt.prefix_with("IGNORE")
        return stmt.on_conflict_do_nothing().returning(self.tables.sessions.c.sid)

    def _inserted(self, result: t.Any) -> bool:
        if self.dialect in ("mysql", "mariadb"):
            return bool(result.rowcount == 1)
        return result.first() is not None

    def _build_upsert(self) -> t.Any:
        """INSERT a variable or replace its value, only while its session exists."""
        s = self.tables.sessions
        v = self.tables.variables
        source = sa.select(
            sa.bindparam("sid", type_=v.c.sid.type),
            sa.bindparam("name", type_=v.c.name.type),
            sa.bindparam("value", type_=v.c.value.type),
        ).where(sa.exists().where(s.c.sid == sa.bindparam("sid")))
        return self._replacing_value(
            self._insert()(v).from_select(["sid", "name", "value"], source)
        )

    def _replacing_value(self, stmt: t.Any) -> t.Any:
        """``stmt``, an INSERT of variables, replacing the value of one that
        exists: each dialect's upsert."""
        if self.dialect in ("mysql", "mariadb"):
            return stmt.on_duplicate_key_update(value=stmt.inserted.value)
        v = self.tables.variables
        return stmt.on_conflict_do_update(
            index_elements=[v.c.sid, v.c.name], set_={"value": stmt.excluded.value}
        )

    def _insert_rows_stmt(self, count: int) -> t.Any:
        """INSERT ``count`` variables of a session created in the same
        transaction, in one statement (the upsert form keeps a retried save
        harmless)."""
        v = self.tables.variables

        def build() -> t.Any:
            sid = sa.bindparam("sid", type_=v.c.sid.type)
            rows = [
                {
                    "sid": sid,
                    "name": sa.bindparam(f"name{i}", type_=v.c.name.type),
                    "value": sa.bindparam(f"value{i}", type_=v.c.value.type),
                }
                for i in range(count)
            ]
            return self._replacing_value(self._insert()(v).values(rows))

        return self._cached(f"insert rows {count}", build)

    def save(self, plans: list[SavePlan]) -> dict[str, SaveOutcome]:
        """Write every plan in one transaction; all or nothing.

        Rows are locked in one order (sessions by ``sid``, variables by name),
        and a save that still meets a deadlock, or a session deleted under it,
        is run once more from the start.
        """
        operation = "saving session " + ", ".join(repr(p.name) for p in plans)
        single = len(plans) == 1 and plans[0].is_one_statement()
        ordered = sorted(plans, key=lambda plan: plan.sid)

        def attempt() -> dict[str, SaveOutcome]:
            engine = self.engine if single else self._engines()[1]
            with engine.begin() as conn:
                return {plan.name: self._save_one(conn, plan) for plan in ordered}

        try:
            return attempt()
        except Exception as exc:
            if not is_database_error(exc):
                raise
            # A variable's foreign key failed because its session was deleted
            # after the guard saw it (the guard skips it next time), or two
            # saves locked the same rows: each attempt rolled back whole.
            if not isinstance(exc, sa.exc.IntegrityError) and not _is_deadlock(exc):
                raise store_error(operation, exc) from None
        return self._run(operation, attempt)

    def _save_one(self, conn: Connection, plan: SavePlan) -> SaveOutcome:
        s = self.tables.sessions
        sid = plan.sid
        if plan.replaces_sid is not None:
            self._delete_expired(conn, plan)
        if plan.create is not None:
            result = conn.execute(self._create_stmt(), plan.create)
            if not self._inserted(result):
                # The same explicit ID was created by a request running beside
                # this one: join that session instead of failing.
                joined = conn.execute(
                    sa.select(s.c.sid).where(s.c.key == plan.create["key"])
                ).scalar()
                if joined is None:
                    return SaveOutcome(gone=True)
                sid = joined
        outcome = SaveOutcome()
        if plan.update is not None:
            guarded = plan.update_guard_key is not None
            clears = plan.clear_seal_by is not None
            params = {f"new_{k}": value for k, value in plan.update.items()}
            params.update(sid_=sid, key_=plan.update_guard_key, seal_by_=plan.clear_seal_by)
            stmt = self._update_stmt(tuple(plan.update), guarded, clears)
            result = conn.execute(stmt, params)
            if result.rowcount == 0:
                new_id = self._successor(conn, plan, sid) if guarded else None
                if new_id is None:
                    return SaveOutcome(gone=True)
                outcome = SaveOutcome(new_id=new_id)
        if plan.upserts and plan.create is not None and sid == plan.sid:
            # The session row was written just before, in this transaction:
            # no guard, and all variables in one multi-row INSERT.
            params = {"sid": sid}
            for i, (var, text) in enumerate(plan.upserts.items()):
                params[f"name{i}"] = var
                params[f"value{i}"] = text
            conn.execute(self._insert_rows_stmt(len(plan.upserts)), params)
        elif plan.upserts:
            conn.execute(
                self._upsert_stmt(),
                [{"sid": sid, "name": k, "value": val} for k, val in plan.upserts.items()],
            )
        if plan.removals:
            removals = self._cached("removals", self._build_removals)
            conn.execute(removals, {"sid": sid, "names": plan.removals})
        return outcome

    def _successor(self, conn: Connection, plan: SavePlan, sid: str) -> str | None:
        """The ID another request's rotation gave session ``sid`` while this
        one rotated it too, if this request's old ID opens it; else ``None``
        (the session was regenerated, ended, or rotated twice since), and the
        request writes nothing to it."""
        current = self._current(conn, sid)
        if current is None or plan.rotated_from is None:
            return None
        opened = ids.open_successor(plan.name, sid, plan.rotated_from, current.successor or "")
        if opened is None or ids.lookup_key(plan.name, opened) != current.key:
            return None
        return opened

    def _update_stmt(self, columns: tuple[str, ...], guarded: bool, clears: bool) -> t.Any:
        """UPDATE the session row's ``columns`` (while its key is unchanged,
        if ``guarded``; dropping an ended rotation's seal, if ``clears``); one
        statement per shape, built once."""
        s = self.tables.sessions

        def build() -> t.Any:
            where = s.c.sid == sa.bindparam("sid_", type_=s.c.sid.type)
            if guarded:
                where = sa.and_(where, s.c.key == sa.bindparam("key_", type_=s.c.key.type))
            values: dict[str, t.Any] = {
                c: sa.bindparam(f"new_{c}", type_=s.c[c].type) for c in columns
            }
            if clears:
                # Decided by the row as it is now, not as this request loaded
                # it; old_key_until itself is left, so no dialect's order of
                # assignments matters.
                ended = s.c.old_key_until <= sa.bindparam("seal_by_", type_=s.c.old_key_until.type)
                values["old_key"] = sa.case((ended, sa.null()), else_=s.c.old_key)
                values["successor"] = sa.case((ended, sa.null()), else_=s.c.successor)
            return sa.update(s).where(where).values(values)

        return self._cached(f"update {guarded} {clears} {' '.join(columns)}", build)

    def _build_removals(self) -> t.Any:
        v = self.tables.variables
        return sa.delete(v).where(
            v.c.sid == sa.bindparam("sid", type_=v.c.sid.type),
            v.c.name.in_(sa.bindparam("names", expanding=True, type_=v.c.name.type)),
        )

    def _current(self, conn: Connection, sid: str) -> StoredSession | None:
        s = self.tables.sessions
        row = conn.execute(sa.select(*self._columns).where(s.c.sid == sid)).first()
        if row is None:
            return None
        return StoredSession.from_row(row, by_old_key=False)

    def _delete_expired(self, conn: Connection, plan: SavePlan) -> None:
        """Delete the expired session a new one replaces, unless a request
        that still saw it live touched it meanwhile."""
        s = self.tables.sessions
        v = self.tables.variables
        sid = plan.replaces_sid
        expired = s.c.expires_at <= plan.expired_by
        if plan.born_by is not None:
            expired = sa.or_(expired, s.c.created_at <= plan.born_by)
        conn.execute(sa.delete(s).where(s.c.sid == sid, expired))
        if not self._cascades(conn):
            gone = ~sa.exists().where(s.c.sid == sid)
            conn.execute(sa.delete(v).where(v.c.sid == sid, gone))

    def _cascades(self, conn: Connection) -> bool:
        """Does deleting a session on ``conn`` take its variables along? Yes,
        by the foreign key, except on an SQLite connection that the extension
        did not open itself: those may run with foreign keys off."""
        return self.dialect != "sqlite" or bool(conn.info.get(CASCADES))

    def _delete_session(self, conn: Connection, sid: str) -> None:
        """Delete one session; its variables go by the foreign key's cascade,
        or explicitly on an SQLite connection that may run with foreign keys
        off (one the extension did not open)."""
        s = self.tables.sessions
        v = self.tables.variables
        conn.execute(sa.delete(s).where(s.c.sid == sid))
        if not self._cascades(conn):
            conn.execute(sa.delete(v).where(v.c.sid == sid))

    def delete(self, name: str, sid: str) -> None:
        """Delete one session now (``session_end``)."""
        with self._transaction(f"ending session {name!r}") as conn:
            self._delete_session(conn, sid)

    def expired_batches(self, now: int, batch_size: int) -> t.Iterator[int]:
        """Delete expired sessions batch by batch, yielding each batch's count.

        Each batch is one DELETE that picks the oldest expired rows and checks
        their expiry again as it deletes them, so a session touched meanwhile
        survives; variables go with their session (foreign key cascade).
        """
        params = {"now": now, "n": batch_size}
        stmt = self._cached("expired", self._build_expired)
        while True:
            with self._transaction("deleting expired sessions") as conn:
                count = int(conn.execute(stmt, params).rowcount)
                if count and self.dialect == "sqlite":
                    self._delete_orphans(conn)
            if count:
                yield count
            if count < batch_size:
                return

    def _build_expired(self) -> t.Any:
        s = self.tables.sessions
        now = sa.bindparam("now", type_=s.c.expires_at.type)
        if self.dialect in ("mysql", "mariadb"):
            # MariaDB allows no LIMIT in a subquery, but ORDER BY and LIMIT
            # on a single-table DELETE.
            name = self.engine.dialect.identifier_preparer.format_table(s)
            return sa.text(
                f"DELETE FROM {name} WHERE expires_at <= :now ORDER BY expires_at LIMIT :n"
            ).bindparams(now, sa.bindparam("n", type_=sa.Integer))
        oldest = (
            sa.select(s.c.sid)
            .where(s.c.expires_at <= now)
            .order_by(s.c.expires_at)
            .limit(sa.bindparam("n", type_=sa.Integer))
        )
        return sa.delete(s).where(s.c.sid.in_(oldest.scalar_subquery()), s.c.expires_at <= now)

    def _delete_orphans(self, conn: Connection) -> None:
        """Variables left by a cascade that SQLite skipped (an application's
        engine may run with foreign keys off)."""
        if self._cascades(conn) or conn.exec_driver_sql("PRAGMA foreign_keys").scalar():
            return
        s = self.tables.sessions
        v = self.tables.variables
        conn.execute(sa.delete(v).where(~sa.exists().where(s.c.sid == v.c.sid)))

    def count_expired(self, now: int) -> int:
        s = self.tables.sessions
        stmt = sa.select(sa.func.count()).select_from(s).where(s.c.expires_at <= now)
        return int(self._read("counting expired sessions", lambda c: c.execute(stmt).scalar_one()))

    def stats(self, now: int) -> list[dict[str, t.Any]]:
        """Per session name: live and expired sessions, variables, oldest creation."""
        s = self.tables.sessions
        v = self.tables.variables
        live = sa.case((s.c.expires_at > now, 1), else_=0)
        var_count = (
            sa.select(sa.func.count()).where(v.c.sid == s.c.sid).correlate(s).scalar_subquery()
        )
        stmt = (
            sa.select(
                s.c.name,
                sa.func.sum(live).label("live"),
                sa.func.count().label("total"),
                sa.func.sum(var_count).label("variables"),
                sa.func.min(s.c.created_at).label("oldest"),
            )
            .group_by(s.c.name)
            .order_by(s.c.name)
        )
        rows = self._read("reading session statistics", lambda c: c.execute(stmt).all())
        return [
            {
                "name": r.name,
                "live": int(r.live or 0),
                "expired": int(r.total) - int(r.live or 0),
                "variables": int(r.variables or 0),
                "oldest": r.oldest,
            }
            for r in rows
        ]


def _read_and_tx_engines(engine: Engine) -> tuple[Engine, Engine]:
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


#: Set in a pooled connection's ``info`` when the extension itself turned on
#: SQLite's foreign keys on it, so deletes cascade.
CASCADES = "namedsessions_cascades"


def _is_deadlock(exc: BaseException) -> bool:
    """Did the database break a deadlock or a serialization conflict by
    failing this transaction (PostgreSQL 40P01/40001, MySQL and MariaDB 1213)?"""
    orig = getattr(exc, "orig", exc)
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if code in ("40P01", "40001"):
        return True
    args: tuple[t.Any, ...] = getattr(orig, "args", ())
    return bool(args) and args[0] == 1213


def is_database_error(exc: BaseException) -> bool:
    """An SQLAlchemy error, or a DB-API driver's own (which escapes SQLAlchemy
    when it happens inside a pool event)."""
    if isinstance(exc, sa.exc.SQLAlchemyError):
        return True
    module = sys.modules.get(type(exc).__module__.partition(".")[0])
    return getattr(module, "apilevel", None) == "2.0"


def store_error(operation: str, exc: BaseException) -> SessionStoreError:
    """A :exc:`SessionStoreError` for ``exc`` that carries no statement
    parameters: those hold ID hashes and values, which must not reach a log.
    Connection failures keep the driver's first line, which says what broke."""
    orig = getattr(exc, "orig", None) or exc
    detail = type(orig).__name__
    if type(orig).__name__ in ("OperationalError", "InterfaceError"):
        first = str(orig).strip().splitlines()[:1]
        if first:
            detail = f"{detail}: {first[0][:200]}"
    return SessionStoreError(f"{operation} failed ({detail})")
