"""Listing and ending a user's sessions among a million.

Run: ``python benchmarks/bench_users.py [--sessions 1000000] [--users 100000]``.
Fills PostgreSQL (``BENCH_POSTGRESQL_URL``) under the table prefix
``bench_users_`` with sessions spread evenly over the users, each with three
variables and recorded device details, analyzes the tables as autovacuum
would after a bulk load, and prints the plans of the listing and the removal.
Then, through the public functions in an app context (as a view, a command or
a job calls them), it lists the sessions of ``--samples`` random users, and
ends the sessions of as many others, timing each call. Beside them, in the
same run, two floors on the same connections: one SELECT of a session row by
its primary key, and one committed UPDATE of a row by its primary key (what
any durable write costs, the WAL flush included). Reports p50 and p99, checks
that every ended user has no session left and that no other user lost one.
Drops its tables at the end.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time

from flask import Flask

from flask_namedsessions import end_user_sessions
from flask_namedsessions import NamedSessions
from flask_namedsessions import user_sessions
from flask_namedsessions.clock import now_ms
from flask_namedsessions.extension import get_state

PG_URL = os.environ.get("BENCH_POSTGRESQL_URL", "postgresql+psycopg://postgres@127.0.0.1/test")
PREFIX = "bench_users_"


def make_app() -> Flask:
    app = Flask("users")
    app.config.update(NAMEDSESSIONS_DATABASE_URI=PG_URL, NAMEDSESSIONS_TABLE_PREFIX=PREFIX)
    # the fill runs through the store's engine: its bulk INSERT takes longer
    # than the statement timeout a request gets
    app.config["NAMEDSESSIONS_STATEMENT_TIMEOUT"] = None
    NamedSessions(app)
    return app


def fill(app: Flask, sessions: int, users: int, only: list[int] | None = None) -> None:
    """``sessions`` sessions, the i-th bound to user ``i % users``; with
    ``only``, the sessions of those users alone, added to what is there."""
    now = now_ms()
    with app.app_context():
        engine = get_state(app).store.engine
    with engine.begin() as conn:
        if only is None:
            conn.exec_driver_sql(f"TRUNCATE {PREFIX}variables, {PREFIX}sessions")
        conn.exec_driver_sql(
            f"INSERT INTO {PREFIX}sessions (sid, name, key, created_at, touched_at,"
            " expires_at, expires_min, user_key, user_agent, ip)"
            " SELECT md5('s' || i), 'main', md5('k' || i) || md5('x' || i),"
            " %(now)s - i %% 86400000, %(now)s - i %% 3600000, %(now)s + 86400000, 1440,"
            " 'user' || (i %% %(users)s),"
            " 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36',"
            " '203.0.113.0' FROM generate_series(1, %(n)s) i"
            " WHERE %(all)s OR i %% %(users)s = ANY(%(only)s)",
            {"now": now, "n": sessions, "users": users, "all": only is None, "only": only or []},
        )
        conn.exec_driver_sql(
            f"INSERT INTO {PREFIX}variables (sid, name, value)"
            f" SELECT s.sid, 'v' || j, '\"x\"' FROM {PREFIX}sessions s, generate_series(0, 2) j"
            " WHERE %(all)s OR s.user_key = ANY(%(keys)s)",
            {"all": only is None, "keys": [f"user{u}" for u in only or []]},
        )
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
            f"ANALYZE {PREFIX}sessions, {PREFIX}variables"
        )


def show_plans(app: Flask) -> None:
    """The plans PostgreSQL picks for the listing and the removal."""
    with app.app_context():
        store = get_state(app).store
        engine = store.engine
        sql = store.user_sql
    with engine.connect() as conn:
        for title, stmt, params in [
            ("listing", sql.listing(False, False), {"user": "user1", "now": now_ms()}),
            ("removal", sql.removal(False, False, False, True), {"user": "user1"}),
        ]:
            compiled = stmt.compile(dialect=conn.dialect)
            rows = conn.exec_driver_sql(
                "EXPLAIN " + str(compiled), compiled.construct_params(params)
            ).all()
            print(f"plan of the {title}:")
            for row in rows:
                print("   ", row[0])
            conn.rollback()


def floors(app: Flask, samples: int, sessions: int) -> tuple[list[float], list[float]]:
    """One SELECT by primary key, and one committed UPDATE by primary key."""
    with app.app_context():
        store = get_state(app).store
        read_engine = store.engines.split()[0]
        engine = store.engine
    rows = random.Random(0).sample(range(1, sessions + 1), samples)
    reads: list[float] = []
    writes: list[float] = []
    select = f"SELECT expires_at FROM {PREFIX}sessions WHERE sid = md5('s' || %(i)s)"
    update = (
        f"UPDATE {PREFIX}sessions SET touched_at = touched_at + 1 WHERE sid = md5('s' || %(i)s)"
    )
    with read_engine.connect() as conn:
        for i in rows:
            t0 = time.perf_counter()
            conn.exec_driver_sql(select, {"i": i}).scalar_one()
            reads.append(time.perf_counter() - t0)
    for i in rows:
        t0 = time.perf_counter()
        with engine.begin() as conn:
            conn.exec_driver_sql(update, {"i": i})
        writes.append(time.perf_counter() - t0)
    return reads, writes


def uncommitted_endings(app: Flask, users: list[str]) -> list[float]:
    """The DELETE of ending each user's sessions, rolled back instead of
    committed: the database's work without the WAL flush of a commit."""
    with app.app_context():
        store = get_state(app).store
        stmt = store.user_sql.removal(False, False, False, True)
        engine = store.engines.split()[1]
    times = []
    with engine.connect() as conn:
        for user in users:
            t0 = time.perf_counter()
            with conn.begin() as transaction:
                conn.execute(stmt, {"user": user}).all()
                transaction.rollback()
            times.append(time.perf_counter() - t0)
    return times


def percentiles(times: list[float]) -> str:
    ordered = sorted(times)
    p50 = statistics.median(ordered) * 1000
    p99 = ordered[int(len(ordered) * 0.99)] * 1000
    return f"p50 {p50:.2f} ms, p99 {p99:.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the tables, refilled")
    parser.add_argument("--reuse", action="store_true", help="use the tables kept before")
    args = parser.parse_args()
    app = make_app()
    with app.app_context():
        engine = get_state(app).store.engine
    with engine.connect() as conn:
        stored = conn.exec_driver_sql(f"SELECT count(*) FROM {PREFIX}sessions").scalar_one()
    if not args.reuse or stored != args.sessions:
        began = time.perf_counter()
        fill(app, args.sessions, args.users)
        took = time.perf_counter() - began
        print(f"filled {args.sessions:,} sessions of {args.users:,} users in {took:.1f} s")
    show_plans(app)

    chosen = random.Random(args.seed).sample(range(args.users), 3 * args.samples)
    listed_users = [f"user{i}" for i in chosen[: args.samples]]
    ended_users = [f"user{i}" for i in chosen[args.samples : 2 * args.samples]]
    rolled_back = uncommitted_endings(app, [f"user{i}" for i in chosen[2 * args.samples :]])
    per_user = args.sessions // args.users
    reads, writes = floors(app, args.samples, args.sessions)
    listings: list[float] = []
    endings: list[float] = []
    with app.app_context():
        for user in listed_users[:100]:  # warm-up: connections, prepared statements
            user_sessions(user)
        for user in listed_users:
            t0 = time.perf_counter()
            found = user_sessions(user)
            listings.append(time.perf_counter() - t0)
            assert len(found) == per_user, (user, len(found))
        ended = 0
        for user in ended_users:
            t0 = time.perf_counter()
            ended += end_user_sessions(user)
            endings.append(time.perf_counter() - t0)
        left = sum(len(user_sessions(user)) for user in ended_users[:100])
        kept = sum(len(user_sessions(user)) for user in listed_users[:100])
    print(f"floor, one SELECT by primary key: {percentiles(reads)}")
    print(f"floor, one committed UPDATE by primary key: {percentiles(writes)}")
    measured = f"{per_user} sessions ({args.samples:,} users)"
    print(f"listing a user's {measured}: {percentiles(listings)}")
    print(f"ending a user's {measured}: {percentiles(endings)}")
    print(f"  the same DELETE rolled back, not committed: {percentiles(rolled_back)}")
    print(f"sessions ended: {ended:,} (expected {per_user * len(ended_users):,})")
    print(f"left for 100 ended users: {left}; kept for 100 others: {kept} of {100 * per_user}")
    with app.app_context():
        store = get_state(app).store
        if args.keep:
            fill(app, args.sessions, args.users, only=chosen[args.samples : 2 * args.samples])
        else:
            store.tables.sessions.metadata.drop_all(store.engine)
        store.dispose()


if __name__ == "__main__":
    main()
