"""Leases: one process at a time runs a task (the cleanup), across workers
and hosts.

A lease is a row that names its holder and when it lapses. It is taken with
a conditional ``UPDATE`` (free, lapsed, or already ours), or an ``INSERT``
that does nothing if the row exists: plain writes that every database
replicates, Galera included, where ``GET_LOCK`` and advisory locks are not.
A holder that dies leaves a lease that lapses by itself; two that take one
at once leave one holder (the database orders the two writes, or Galera
fails one at certification and the retry finds the lease taken).
"""

from __future__ import annotations

import typing as t

import sqlalchemy as sa

from .statements import _INSERTS

if t.TYPE_CHECKING:
    from sqlalchemy.engine import Connection

__all__ = ["LeaseStatements"]


class LeaseStatements:
    """The statements that take, keep and give back a lease.

    :param table: the leases table.
    :param dialect: the engine's dialect.
    """

    def __init__(self, table: sa.Table, dialect: sa.Dialect) -> None:
        self.mysql = dialect.name in ("mysql", "mariadb")
        name = sa.bindparam("lease", type_=table.c.name.type)
        holder = sa.bindparam("by", type_=table.c.holder.type)
        until = sa.bindparam("until", type_=table.c.expires_at.type)
        now = sa.bindparam("now", type_=table.c.expires_at.type)
        self._take = (
            sa.update(table)
            .where(
                table.c.name == name,
                sa.or_(table.c.expires_at <= now, table.c.holder == holder),
            )
            .values(holder=holder, expires_at=until)
        )
        insert = _INSERTS[dialect.name](table).values(name=name, holder=holder, expires_at=until)
        if self.mysql:
            self._insert = insert.prefix_with("IGNORE")
        else:
            self._insert = insert.on_conflict_do_nothing().returning(table.c.name)
        self._release = (
            sa.update(table)
            .where(table.c.name == name, table.c.holder == holder)
            .values(expires_at=0)
        )

    def hold(self, conn: Connection, name: str, holder: str, now: int, until: int) -> bool:
        """Take lease ``name`` for ``holder`` until ``until`` (or keep it
        that long, if it is ``holder``'s already): did it?"""
        params = {"lease": name, "by": holder, "now": now, "until": until}
        if conn.execute(self._take, params).rowcount == 1:
            return True
        result = conn.execute(self._insert, params)
        if self.mysql:
            return bool(result.rowcount == 1)
        return result.first() is not None

    def release(self, conn: Connection, name: str, holder: str) -> None:
        """Give lease ``name`` back, if ``holder`` still holds it."""
        conn.execute(self._release, {"lease": name, "by": holder})
