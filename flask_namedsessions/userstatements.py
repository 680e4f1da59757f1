"""The statements that find, list and remove the sessions of a user, built
once per store for its dialect.

A user's sessions are found by the ``user_key`` index. MySQL and MariaDB
compare text by a collation that matches ``Alice`` to ``alice`` and ignores
trailing spaces, so there the index finds the candidates and their bytes
decide. Removing returns what it removed (``DELETE ... RETURNING`` on
PostgreSQL, SQLite and MariaDB 10.5+), so that whatever keeps a copy of a
session can drop it by its keys.
"""

from __future__ import annotations

import typing as t

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

if t.TYPE_CHECKING:
    from .models import Tables

__all__ = ["UserStatements"]


class UserStatements:
    """The user statements of one store.

    :param tables: the session tables.
    :param dialect: the engine's dialect.
    """

    def __init__(self, tables: Tables, dialect: sa.Dialect) -> None:
        self.tables = tables
        self.mysql = dialect.name in ("mysql", "mariadb")
        self._cache: dict[t.Hashable, t.Any] = {}

    def _cached(self, shape: t.Hashable, build: t.Callable[[], t.Any]) -> t.Any:
        stmt = self._cache.get(shape)
        if stmt is None:
            stmt = self._cache[shape] = build()
        return stmt

    def _exactly(self, column: t.Any, value: t.Any) -> t.Any:
        """``column`` holds exactly ``value``, whatever the collation."""
        if not self.mysql:
            return column == value
        binary = mysql.BINARY()
        return sa.and_(column == value, sa.cast(column, binary) == sa.cast(value, binary))

    def _of_user(self, named: bool) -> t.Any:
        """The session is bound to ``user`` (and, if ``named``, is named ``name``)."""
        s = self.tables.sessions
        where = self._exactly(s.c.user_key, sa.bindparam("user", type_=s.c.user_key.type))
        if named:
            name = sa.bindparam("name", type_=s.c.name.type)
            where = sa.and_(where, self._exactly(s.c.name, name))
        return where

    def listing(self, named: bool, absolute: bool) -> t.Any:
        """SELECT the live sessions of ``user``, most recently seen first:
        unexpired at ``now`` and (``absolute``) created after ``born_after``."""
        s = self.tables.sessions

        def build() -> t.Any:
            live = s.c.expires_at > sa.bindparam("now", type_=s.c.expires_at.type)
            if absolute:
                born = sa.bindparam("born_after", type_=s.c.created_at.type)
                live = sa.and_(live, s.c.created_at > born)
            return (
                sa.select(
                    s.c.row_id.label("row_id"),
                    s.c.name,
                    s.c.created_at,
                    s.c.touched_at,
                    s.c.expires_at,
                    s.c.user_agent,
                    s.c.ip,
                )
                .where(self._of_user(named), live)
                .order_by(s.c.touched_at.desc(), s.c.created_at.desc(), s.c.row_id)
            )

        return self._cached(("listing", named, absolute), build)

    def removal(self, named: bool, one: bool, keeping: bool, returning: bool) -> t.Any:
        """DELETE the sessions of ``user`` (if ``named``, only those named
        ``name``; if ``one``, only the one whose handle is ``handle``; if
        ``keeping``, none in ``keep``), returning each one's handle, lookup
        keys and times. Where the database cannot return what a DELETE
        removed (MySQL), the same rows are selected and locked instead, for
        :meth:`delete_rows` in the same transaction."""
        s = self.tables.sessions

        def build() -> t.Any:
            where = self._removed(named, one, keeping)
            columns = (
                s.c.row_id.label("row_id"),
                s.c.key,
                s.c.old_key,
                s.c.created_at,
                s.c.expires_at,
            )
            if returning:
                return sa.delete(s).where(where).returning(*columns)
            return sa.select(*columns).where(where).with_for_update()

        return self._cached(("removal", named, one, keeping, returning), build)

    def _removed(self, named: bool, one: bool, keeping: bool) -> t.Any:
        """The sessions :meth:`removal` removes."""
        s = self.tables.sessions
        where = self._of_user(named)
        if one:
            where = sa.and_(where, s.c.row_id == sa.bindparam("handle", type_=s.c.row_id.type))
        if keeping:
            keep = sa.bindparam("keep", expanding=True, type_=s.c.row_id.type)
            where = sa.and_(where, s.c.row_id.not_in(keep))
        return where

    def removal_keys(self, named: bool, one: bool, keeping: bool) -> t.Any:
        """SELECT the lookup keys of the sessions :meth:`removal` would remove
        now, for the cache to hear of their end before it happens."""
        s = self.tables.sessions
        return self._cached(
            ("removal keys", named, one, keeping),
            lambda: sa.select(s.c.key, s.c.old_key).where(self._removed(named, one, keeping)),
        )

    def delete_rows(self) -> t.Any:
        """DELETE the sessions whose handle is in ``row_ids``."""
        s = self.tables.sessions
        row_ids = sa.bindparam("row_ids", expanding=True, type_=s.c.row_id.type)
        return self._cached("delete rows", lambda: sa.delete(s).where(s.c.row_id.in_(row_ids)))

    def delete_variables(self) -> t.Any:
        """DELETE the variables of the sessions in ``row_ids``, for
        connections where deletes do not cascade."""
        v = self.tables.variables
        row_ids = sa.bindparam("row_ids", expanding=True, type_=v.c.row_id.type)
        return self._cached("delete variables", lambda: sa.delete(v).where(v.c.row_id.in_(row_ids)))
