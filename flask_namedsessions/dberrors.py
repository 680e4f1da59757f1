"""Database errors: which ones another attempt may cure, and the
:exc:`SessionStoreError` that the others become.

Drivers differ in how they say the same thing (PostgreSQL's SQLSTATE, MySQL's
error numbers), and a driver's own error can escape SQLAlchemy from a pool
event, so every judgement of an error is made here.
"""

from __future__ import annotations

import sys
import typing as t

import sqlalchemy as sa

from .exceptions import SessionStoreError

__all__ = [
    "conflict",
    "dead_connection",
    "idempotent",
    "is_database_error",
    "is_deadlock",
    "missing_table",
    "never",
    "no_connection",
    "store_error",
    "transient",
]


def never(exc: BaseException) -> bool:
    return False


def dead_connection(exc: BaseException) -> bool:
    """The pool handed out a connection the database had closed (it
    restarted): a fresh one will do. A driver error that escaped SQLAlchemy
    from a pool event counts too."""
    return not isinstance(exc, sa.exc.DBAPIError) or exc.connection_invalidated


def conflict(exc: BaseException) -> bool:
    """A variable's foreign key failed because its session was deleted after
    the guard saw it (the guard skips it next time), or the save may run
    again for any reason :func:`idempotent` accepts."""
    return isinstance(exc, sa.exc.IntegrityError) or idempotent(exc)


def idempotent(exc: BaseException) -> bool:
    """May a write that runs to the same end however often it runs be tried
    again? Yes after a :func:`transient` error, and after its connection
    died, even if that was during its ``COMMIT``."""
    return transient(exc) or dead_connection(exc)


def transient(exc: BaseException) -> bool:
    """Did the transaction fail whole, for a reason that may pass: a
    deadlock, a serialization or Galera certification conflict, a Galera
    node not ready (MySQL and MariaDB 1047, while it rejoins), or a
    connection that could not be made to a server (not an SQLite file)?"""
    if is_deadlock(exc):
        return True
    orig = getattr(exc, "orig", exc)
    args: tuple[t.Any, ...] = getattr(orig, "args", ())
    if bool(args) and args[0] == 1047:
        return True
    return (
        isinstance(exc, sa.exc.DBAPIError)
        and exc.statement is None
        and type(orig).__module__ != "sqlite3"
    )


def is_deadlock(exc: BaseException) -> bool:
    """Did the database break a deadlock or a serialization conflict by
    failing this transaction (PostgreSQL 40P01/40001, MySQL and MariaDB 1213,
    which is also how Galera reports a certification conflict)?"""
    orig = getattr(exc, "orig", exc)
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if code in ("40P01", "40001"):
        return True
    args: tuple[t.Any, ...] = getattr(orig, "args", ())
    return bool(args) and args[0] == 1213


def missing_table(exc: BaseException, names: t.Sequence[str]) -> str | None:
    """Which of ``names`` the database says does not exist (PostgreSQL
    42P01, MySQL and MariaDB 1146, SQLite "no such table"), if that is the
    error; the first of ``names`` when its message names neither."""
    orig = getattr(exc, "orig", exc)
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    args: tuple[t.Any, ...] = getattr(orig, "args", ())
    first = (str(orig).strip().splitlines() or [""])[0]
    if not (
        code == "42P01"
        or (bool(args) and args[0] == 1146)
        or (type(orig).__module__ == "sqlite3" and first.startswith("no such table: "))
    ):
        return None
    return next((name for name in names if name in first), names[0])


def no_connection(exc: BaseException) -> bool:
    """Did connecting fail, or the connection die? SQLAlchemy wraps a failed
    connect without a statement, and marks a lost connection invalidated."""
    return isinstance(exc, sa.exc.DBAPIError) and (
        exc.statement is None or exc.connection_invalidated
    )


def is_database_error(exc: BaseException) -> bool:
    """An SQLAlchemy error, or a DB-API driver's own (which escapes SQLAlchemy
    when it happens inside a pool event)."""
    if isinstance(exc, sa.exc.SQLAlchemyError):
        return True
    module = sys.modules.get(type(exc).__module__.partition(".")[0])
    return getattr(module, "apilevel", None) == "2.0"


def store_error(operation: str, exc: BaseException, where: str | None = None) -> SessionStoreError:
    """A :exc:`SessionStoreError` for ``exc`` that carries no statement
    parameters: those hold ID hashes and values, which must not reach a log.
    Connection failures keep the driver's first line, which says what broke,
    and say ``where`` the database is, when the caller knows."""
    orig = getattr(exc, "orig", None) or exc
    detail = type(orig).__name__
    if type(orig).__name__ in ("OperationalError", "InterfaceError"):
        first = str(orig).strip().splitlines()[:1]
        if first:
            detail = f"{detail}: {first[0][:200]}"
    if where is not None and no_connection(exc):
        return SessionStoreError(f"{operation} failed: no connection to {where} ({detail})")
    return SessionStoreError(f"{operation} failed ({detail})")
