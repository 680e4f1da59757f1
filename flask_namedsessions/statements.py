"""Every SQL statement of the store, built once per store for its dialect.

Building a statement costs more than running it from SQLAlchemy's compiled
cache, so each shape is built on first use and kept. The dialect is decided
here, once: MySQL and MariaDB spell an upsert and a batched DELETE their own
way, and report inserted rows by count rather than with ``RETURNING``. The
statements that find a user's sessions live in :mod:`.userstatements`.
"""

from __future__ import annotations

import typing as t

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite

from .exceptions import SessionStoreError

if t.TYPE_CHECKING:
    from .models import Tables

__all__ = ["Statements"]

_INSERTS: dict[str, t.Callable[..., t.Any]] = {
    "postgresql": postgresql.insert,
    "mysql": mysql.insert,
    "mariadb": mysql.insert,
    "sqlite": sqlite.insert,
}


class Statements:
    """The statements of one store.

    :param tables: the session tables.
    :param dialect: the engine's dialect, whose name picks each statement's form.
    """

    def __init__(self, tables: Tables, dialect: sa.Dialect) -> None:
        insert = _INSERTS.get(dialect.name)
        if insert is None:
            raise SessionStoreError(f"the {dialect.name} database is not supported")
        self.tables = tables
        self.dialect = dialect
        #: MySQL or MariaDB: ``INSERT IGNORE``, ``ON DUPLICATE KEY``, rowcounts
        self.mysql = dialect.name in ("mysql", "mariadb")
        #: SQLite: deletes cascade only where foreign keys are on
        self.sqlite = dialect.name == "sqlite"
        self._insert = insert
        self._cache: dict[t.Hashable, t.Any] = {}
        s = tables.sessions
        v = tables.variables
        self.columns = (
            s.c.row_id.label("row_id"),
            s.c.key,
            s.c.old_key_until,
            s.c.successor,
            s.c.created_at,
            s.c.touched_at,
            s.c.expires_at,
            s.c.expires_min,
            s.c.user_key,
        )
        join = s.outerjoin(v, v.c.row_id == s.c.row_id)
        key = sa.bindparam("key", type_=s.c.key.type)
        # By the unique key alone, so that any planner, with or without
        # statistics, reads one session row and its variables by index; and
        # only the columns a session found by its current key needs, as each
        # column costs on every row.
        self.load = (
            sa.select(
                s.c.row_id,
                s.c.created_at,
                s.c.touched_at,
                s.c.expires_at,
                s.c.expires_min,
                s.c.user_key,
                v.c.name,
                v.c.value,
            )
            .select_from(join)
            .where(s.c.key == key)
        )
        self.load_rotated = (
            sa.select(*self.columns, v.c.name, v.c.value)
            .select_from(join)
            .where(s.c.old_key == key)
        )

    def _opens(self) -> t.Any:
        """The session row is still opened by the key ``guard``: its current
        key, or the one a rotation replaced, within the grace (at ``now``)."""
        s = self.tables.sessions
        guard = sa.bindparam("guard", type_=s.c.key.type)
        now = sa.bindparam("now", type_=s.c.old_key_until.type)
        return sa.or_(s.c.key == guard, sa.and_(s.c.old_key == guard, s.c.old_key_until > now))

    def _cached(self, shape: t.Hashable, build: t.Callable[[], t.Any]) -> t.Any:
        stmt = self._cache.get(shape)
        if stmt is None:
            stmt = self._cache[shape] = build()
        return stmt

    # -- sessions ----------------------------------------------------------------

    def create(self) -> t.Any:
        """INSERT a session row, or nothing if its key exists already. Where
        the database can say so, the statement returns the row it inserted
        (psycopg reports no row count for it)."""

        def build() -> t.Any:
            stmt = self._insert(self.tables.sessions)
            if self.mysql:
                return stmt.prefix_with("IGNORE")
            return stmt.on_conflict_do_nothing().returning(self.tables.sessions.c.row_id)

        return self._cached("create", build)

    def inserted(self, result: t.Any) -> bool:
        """Did :meth:`create` insert its row?"""
        if self.mysql:
            return bool(result.rowcount == 1)
        return result.first() is not None

    def row_by_key(self) -> t.Any:
        """The ``row_id`` of the session whose current key is ``key``."""
        s = self.tables.sessions
        return self._cached(
            "row by key",
            lambda: sa.select(s.c.row_id).where(s.c.key == sa.bindparam("key", type_=s.c.key.type)),
        )

    def current(self) -> t.Any:
        """A session row as it is now, by ``row_id``."""
        s = self.tables.sessions
        return self._cached(
            "current",
            lambda: sa.select(*self.columns).where(
                s.c.row_id == sa.bindparam("row_id", type_=s.c.row_id.type)
            ),
        )

    def update(self, columns: tuple[str, ...], rotation: bool, clears: bool) -> t.Any:
        """UPDATE the session row's ``columns`` while the key ``guard`` opens
        it (for a ``rotation``: while it is the row's current key), dropping
        an ended rotation's seal if ``clears``."""
        s = self.tables.sessions

        def build() -> t.Any:
            where = s.c.row_id == sa.bindparam("row_id_", type_=s.c.row_id.type)
            if rotation:
                guard = sa.bindparam("guard", type_=s.c.key.type)
                where = sa.and_(where, s.c.key == guard)
            else:
                where = sa.and_(where, self._opens())
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

        return self._cached(("update", rotation, clears, columns), build)

    def delete_session(self, guarded: bool = False) -> t.Any:
        """DELETE one session row by ``row_id``; if ``guarded``, only while
        the key ``guard`` is its current key or the one a rotation replaced
        (``regenerate_id`` forgets that one)."""
        s = self.tables.sessions

        def build() -> t.Any:
            where = s.c.row_id == sa.bindparam("row_id", type_=s.c.row_id.type)
            if guarded:
                guard = sa.bindparam("guard", type_=s.c.key.type)
                where = sa.and_(where, sa.or_(s.c.key == guard, s.c.old_key == guard))
            return sa.delete(s).where(where)

        return self._cached(("delete session", guarded), build)

    def delete_if_expired(self, absolute: bool) -> t.Any:
        """DELETE one session row if it is still expired: its expiry at or
        before ``expired_by``, or (``absolute``) its creation at or before
        ``born_by``."""
        s = self.tables.sessions

        def build() -> t.Any:
            expired = s.c.expires_at <= sa.bindparam("expired_by", type_=s.c.expires_at.type)
            if absolute:
                born = sa.bindparam("born_by", type_=s.c.created_at.type)
                expired = sa.or_(expired, s.c.created_at <= born)
            row_id = sa.bindparam("row_id", type_=s.c.row_id.type)
            return sa.delete(s).where(s.c.row_id == row_id, expired)

        return self._cached(("delete if expired", absolute), build)

    def expired_batch(self) -> t.Any:
        """DELETE up to ``n`` of the oldest sessions expired at ``now``,
        checking their expiry again as it deletes them."""
        s = self.tables.sessions

        def build() -> t.Any:
            now = sa.bindparam("now", type_=s.c.expires_at.type)
            if self.mysql:
                # MariaDB allows no LIMIT in a subquery, but ORDER BY and
                # LIMIT on a single-table DELETE.
                name = self.dialect.identifier_preparer.format_table(s)
                return sa.text(
                    f"DELETE FROM {name} WHERE expires_at <= :now ORDER BY expires_at LIMIT :n"
                ).bindparams(now, sa.bindparam("n", type_=sa.Integer))
            oldest = (
                sa.select(s.c.row_id)
                .where(s.c.expires_at <= now)
                .order_by(s.c.expires_at)
                .limit(sa.bindparam("n", type_=sa.Integer))
            )
            return sa.delete(s).where(
                s.c.row_id.in_(oldest.scalar_subquery()), s.c.expires_at <= now
            )

        return self._cached("expired batch", build)

    def count_expired(self) -> t.Any:
        s = self.tables.sessions
        now = sa.bindparam("now", type_=s.c.expires_at.type)
        return self._cached(
            "count expired",
            lambda: sa.select(sa.func.count()).select_from(s).where(s.c.expires_at <= now),
        )

    def stats(self) -> t.Any:
        """Per session name: live and all sessions, variables, oldest creation."""
        s = self.tables.sessions
        v = self.tables.variables

        def build() -> t.Any:
            now = sa.bindparam("now", type_=s.c.expires_at.type)
            live = sa.case((s.c.expires_at > now, 1), else_=0)
            var_count = (
                sa.select(sa.func.count())
                .where(v.c.row_id == s.c.row_id)
                .correlate(s)
                .scalar_subquery()
            )
            return (
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

        return self._cached("stats", build)

    # -- variables ---------------------------------------------------------------

    def _replacing_value(self, stmt: t.Any) -> t.Any:
        """``stmt``, an INSERT of variables, replacing the value of one that
        exists: each dialect's upsert."""
        if self.mysql:
            return stmt.on_duplicate_key_update(value=stmt.inserted.value)
        v = self.tables.variables
        return stmt.on_conflict_do_update(
            index_elements=[v.c.row_id, v.c.name], set_={"value": stmt.excluded.value}
        )

    def upsert(self) -> t.Any:
        """INSERT a variable or replace its value, only while the key
        ``guard`` opens its session."""
        s = self.tables.sessions
        v = self.tables.variables

        def build() -> t.Any:
            row_id = sa.bindparam("row_id", type_=v.c.row_id.type)
            source = sa.select(
                row_id,
                sa.bindparam("name", type_=v.c.name.type),
                sa.bindparam("value", type_=v.c.value.type),
            ).where(sa.exists().where(s.c.row_id == row_id, self._opens()))
            stmt = self._insert(v).from_select(["row_id", "name", "value"], source)
            return self._replacing_value(stmt)

        return self._cached("upsert", build)

    def insert_rows(self, count: int) -> t.Any:
        """INSERT ``count`` variables of a session created in the same
        transaction, in one statement (the upsert form keeps a retried save
        harmless)."""
        v = self.tables.variables

        def build() -> t.Any:
            row_id = sa.bindparam("row_id", type_=v.c.row_id.type)
            rows = [
                {
                    "row_id": row_id,
                    "name": sa.bindparam(f"name{i}", type_=v.c.name.type),
                    "value": sa.bindparam(f"value{i}", type_=v.c.value.type),
                }
                for i in range(count)
            ]
            return self._replacing_value(self._insert(v).values(rows))

        return self._cached(("insert rows", count), build)

    def removals(self) -> t.Any:
        """DELETE the variables ``names`` of one session, while the key
        ``guard`` opens it."""
        s = self.tables.sessions
        v = self.tables.variables

        def build() -> t.Any:
            row_id = sa.bindparam("row_id", type_=v.c.row_id.type)
            return sa.delete(v).where(
                v.c.row_id == row_id,
                v.c.name.in_(sa.bindparam("names", expanding=True, type_=v.c.name.type)),
                sa.exists().where(s.c.row_id == row_id, self._opens()),
            )

        return self._cached("removals", build)

    def delete_variables(self, orphans_only: bool) -> t.Any:
        """DELETE one session's variables (``orphans_only``: only once its
        row is gone), for connections where deletes do not cascade."""
        s = self.tables.sessions
        v = self.tables.variables

        def build() -> t.Any:
            row_id = sa.bindparam("row_id", type_=v.c.row_id.type)
            where = v.c.row_id == row_id
            if orphans_only:
                where = sa.and_(where, ~sa.exists().where(s.c.row_id == row_id))
            return sa.delete(v).where(where)

        return self._cached(("delete variables", orphans_only), build)

    def delete_orphans(self) -> t.Any:
        """DELETE every variable whose session is gone."""
        s = self.tables.sessions
        v = self.tables.variables
        return self._cached(
            "delete orphans",
            lambda: sa.delete(v).where(~sa.exists().where(s.c.row_id == v.c.row_id)),
        )
