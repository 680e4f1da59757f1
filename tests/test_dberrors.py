"""Which database errors another attempt may cure: each driver's own way of
saying it, as the driver raises it and SQLAlchemy wraps it."""

from __future__ import annotations

import sqlite3

import psycopg
import pymysql
import pytest
import sqlalchemy as sa

from flask_namedsessions import dberrors


def wrapped(orig: Exception, *, invalidated: bool = False) -> sa.exc.DBAPIError:
    """``orig`` as SQLAlchemy raises it from a statement."""
    return sa.exc.DBAPIError.instance(
        "UPDATE x", {}, orig, pymysql.Error, connection_invalidated=invalidated
    )


@pytest.mark.parametrize(
    ("orig", "deadlock"),
    [
        (pymysql.err.OperationalError(1213, "Deadlock found"), True),
        (pymysql.err.OperationalError(1205, "Lock wait timeout exceeded"), False),
        (pymysql.err.IntegrityError(1062, "Duplicate entry"), False),
        (sqlite3.OperationalError("database is locked"), False),
    ],
)
def test_deadlock_is_known_by_its_error_number(orig: Exception, deadlock: bool) -> None:
    assert dberrors.is_deadlock(wrapped(orig)) is deadlock
    assert dberrors.is_deadlock(orig) is deadlock  # escaped from a pool event


def test_serialization_failure_of_postgresql_is_a_deadlock() -> None:
    failure = psycopg.errors.SerializationFailure("could not serialize access")
    assert dberrors.is_deadlock(wrapped(failure))
    assert not dberrors.is_deadlock(wrapped(psycopg.errors.UniqueViolation("duplicate key")))


def test_dead_connection_is_one_invalidated_or_a_drivers_own_error() -> None:
    lost = pymysql.err.OperationalError(2013, "Lost connection to MySQL server")
    assert dberrors.dead_connection(wrapped(lost, invalidated=True)) is True
    assert dberrors.dead_connection(wrapped(lost)) is False
    assert dberrors.dead_connection(lost) is True  # escaped from a pool event
