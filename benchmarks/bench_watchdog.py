"""What the commit watchdog costs a save on PostgreSQL.

Run: ``python benchmarks/bench_watchdog.py [--requests 300] [--rounds 20]``.
Saves through ``app.test_client()`` on PostgreSQL (``BENCH_POSTGRESQL_URL``,
tables under the prefix ``bench_watchdog_``): one session changed (one
upsert in autocommit, watched whole) and two (a transaction, its COMMIT
watched), each with the watchdog on and off in alternating rounds of the
same app. Reports the process's CPU time per request (all threads, the
watchdog's included), median of the rounds, which the load of other
processes moves less than wall time; and the cost of one watch alone.
Drops its tables at the end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from flask import Flask

from flask_namedsessions import NamedSessions
from flask_namedsessions import session_start
from flask_namedsessions.extension import get_state
from flask_namedsessions.watchdog import Watchdog

PG_URL = os.environ.get("BENCH_POSTGRESQL_URL", "postgresql+psycopg://postgres@127.0.0.1/test")
PREFIX = "bench_watchdog_"


def make_app() -> Flask:
    app = Flask("watchdog")
    app.config.update(
        NAMEDSESSIONS_DATABASE_URI=PG_URL,
        NAMEDSESSIONS_TABLE_PREFIX=PREFIX,
        NAMEDSESSIONS_STATEMENT_TIMEOUT=10,
    )
    NamedSessions(app)
    count = iter(range(10**9))

    @app.route("/one")
    def one() -> str:
        session_start("cart")["a"] = next(count)
        return ""

    @app.route("/two")
    def two() -> str:
        session_start("cart")["a"] = session_start("wish")["b"] = next(count)
        return ""

    return app


def watch_alone(times: int) -> float:
    """Microseconds for one start and stop, on a connection never cancelled."""
    watchdog = Watchdog(10.0)
    started = time.perf_counter()
    for _ in range(times):
        watchdog.stop(watchdog.start(None))
    return (time.perf_counter() - started) / times * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    print(f"one watch, started and stopped: {watch_alone(200_000):.2f} us")
    app = make_app()
    client = app.test_client()
    engines = get_state(app).store.engines
    watchdog = engines.watchdog
    assert watchdog is not None, "the watchdog needs PostgreSQL through psycopg 3"
    try:
        for path in ("/one", "/two"):
            client.get(path)
            cpu: dict[bool, list[float]] = {True: [], False: []}
            for _ in range(args.rounds):
                for on in (True, False):
                    engines.watchdog = watchdog if on else None
                    started = time.process_time()
                    for _ in range(args.requests):
                        client.get(path)
                    cpu[on].append((time.process_time() - started) / args.requests * 1e6)
            with_, without = statistics.median(cpu[True]), statistics.median(cpu[False])
            print(
                f"{path}: CPU per request {with_:.0f} us watched, {without:.0f} us not:"
                f" {with_ - without:+.0f} us ({(with_ / without - 1) * 100:+.1f} %)"
            )
    finally:
        with app.app_context():
            store = get_state(app).store
            with store.engine.begin() as conn:
                for table in (store.tables.variables, store.tables.sessions, store.tables.leases):
                    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {table.name}")
            store.dispose()


if __name__ == "__main__":
    main()
