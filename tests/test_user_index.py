"""A user's sessions are found by the ``user_key`` index, as each database
plans the listing and the removal (SPEC section 10). The benchmark measures
the same on a million sessions: ``benchmarks/bench_users.py``."""

from __future__ import annotations

import typing as t

import sqlalchemy as sa
from flask import Flask

from flask_namedsessions.clock import now_ms
from flask_namedsessions.extension import get_state

USERS = 100
PER_USER = 10
INDEX = "ix_namedsessions_sessions_user_key"


def fill(app: Flask) -> None:
    """``USERS`` users of ``PER_USER`` live sessions each, and as many unbound."""
    store = get_state(app).store
    now = now_ms()
    rows = [
        {
            "row_id": f"{n:032x}",
            "name": "main",
            "key": f"{n:064x}",
            "created_at": now,
            "touched_at": now,
            "expires_at": now + 600_000,
            "expires_min": 10.0,
            "user_key": f"user{n % USERS}" if n % 2 else None,
        }
        for n in range(2 * USERS * PER_USER)
    ]
    with app.app_context(), store.engine.begin() as conn:
        conn.execute(sa.insert(store.tables.sessions), rows)
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("ANALYZE namedsessions_sessions")
        elif conn.dialect.name == "sqlite":
            conn.exec_driver_sql("ANALYZE")
        else:
            conn.exec_driver_sql("ANALYZE TABLE namedsessions_sessions")


def plan(conn: t.Any, stmt: t.Any, params: dict[str, t.Any]) -> str:
    """The database's plan for ``stmt``, as text."""
    compiled = stmt.compile(dialect=conn.dialect)
    values = compiled.construct_params(params)
    sql = str(compiled)
    if conn.dialect.name == "sqlite":
        positional = tuple(values[name] for name in compiled.positiontup)
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, positional).all()
        return "\n".join(str(row[-1]) for row in rows)
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET enable_seqscan = off")
        rows = conn.exec_driver_sql("EXPLAIN " + sql, values).all()
        return "\n".join(row[0] for row in rows)
    rows = conn.exec_driver_sql("EXPLAIN " + sql, values).mappings().all()
    return "\n".join(f"{row['table']} type={row['type']} key={row['key']}" for row in rows)


def test_listing_and_removing_use_the_user_key_index(app: Flask) -> None:
    fill(app)
    store = get_state(app).store
    with app.app_context():
        sql = store.user_sql
        engine = store.engine
    listing = sql.listing(named=True, absolute=False)
    params = {"user": "user7", "name": "main", "now": now_ms()}
    with engine.connect() as conn:
        returning = conn.dialect.delete_returning
        removal = sql.removal(named=True, one=False, keeping=False, returning=returning)
        for stmt, values in [(listing, params), (removal, {"user": "user7", "name": "main"})]:
            text = plan(conn, stmt, values)
            assert INDEX in text, text
            if conn.dialect.name == "mysql":
                assert "type=ref" in text or "type=range" in text, text
            conn.rollback()
