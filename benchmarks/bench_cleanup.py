"""Deleting a million expired sessions while live ones keep loading.

Run: ``python benchmarks/bench_cleanup.py [--expired 1000000] [--batch-size 5000]``.
Fills PostgreSQL (``BENCH_POSTGRESQL_URL``) with expired sessions of five
variables each plus live ones, under the table prefix ``bench_``, then runs the
batched cleanup while threads keep loading live sessions through the WSGI app.
Reports the total time, the live requests' latency percentiles during the
cleanup, and checks that every live session survived. Drops its tables at the
end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time

from flask import Flask
from flask import g
from werkzeug.test import EnvironBuilder

from flask_namedsessions import NamedSessions
from flask_namedsessions import session_start
from flask_namedsessions.clock import now_ms
from flask_namedsessions.extension import get_state
from flask_namedsessions.ids import lookup_key

PG_URL = os.environ.get("BENCH_POSTGRESQL_URL", "postgresql+psycopg://postgres@127.0.0.1/test")


def make_app() -> Flask:
    app = Flask("cleanup")
    app.config.update(NAMEDSESSIONS_DATABASE_URI=PG_URL, NAMEDSESSIONS_TABLE_PREFIX="bench_")
    # the fill runs through the store's engine: its bulk INSERT takes longer
    # than the statement timeout a request gets
    app.config["NAMEDSESSIONS_STATEMENT_TIMEOUT"] = None
    NamedSessions(app)

    @app.route("/fill/<sid>")
    def fill(sid: str) -> str:
        session = session_start("live", id=sid, use_none=True, expires=600)
        for j in range(5):
            session[f"v{j}"] = f"live {sid}"
        return "ok"

    @app.route("/<sid>")
    def load(sid: str) -> str:
        session_start("live", id=sid, use_none=True)
        return str(g.v0)

    return app


def fill(app: Flask, expired: int, live: int) -> None:
    now = now_ms()
    with app.app_context():
        store = get_state(app).store
        engine = store.engine
    with engine.begin() as conn:
        conn.exec_driver_sql("TRUNCATE bench_variables, bench_sessions")
        conn.exec_driver_sql(
            "INSERT INTO bench_sessions (sid, name, key, created_at, touched_at, expires_at,"
            " expires_min) SELECT md5('e' || i), 'cart', md5('k' || i) || md5('x' || i),"
            " %(old)s, %(old)s, %(old)s + i %% 1000, 15 FROM generate_series(1, %(n)s) i",
            {"old": now - 86_400_000, "n": expired},
        )
        conn.exec_driver_sql(
            "INSERT INTO bench_variables (sid, name, value) SELECT s.sid, 'v' || j, '\"x\"'"
            " FROM bench_sessions s, generate_series(0, 4) j"
        )
    client = app.test_client()
    for i in range(live):
        assert client.get(f"/fill/live-{i}").status_code == 200
    # What autovacuum would do after a bulk load: the planner needs statistics.
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
            "ANALYZE bench_sessions, bench_variables"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--expired", type=int, default=1_000_000)
    parser.add_argument("--live", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    app = make_app()
    began = time.perf_counter()
    fill(app, args.expired, args.live)
    print(f"filled {args.expired:,} expired sessions in {time.perf_counter() - began:.1f} s")

    latencies: list[float] = []
    stop = threading.Event()

    def load(worker: int) -> None:
        environs = [
            EnvironBuilder(path=f"/live-{i}").get_environ()
            for i in range(worker, args.live, args.threads)
        ]

        def start_response(*_: object) -> None:
            return None

        while not stop.is_set():
            for environ in environs:
                t0 = time.perf_counter()
                body = app.wsgi_app(dict(environ), start_response)
                b"".join(body)
                latencies.append(time.perf_counter() - t0)

    threads = [threading.Thread(target=load, args=(w,)) for w in range(args.threads)]
    for thread in threads:
        thread.start()
    with app.app_context():
        store = get_state(app).store
        t0 = time.perf_counter()
        deleted = sum(store.expired_batches(now_ms(), args.batch_size))
        took = time.perf_counter() - t0
    stop.set()
    for thread in threads:
        thread.join()
    with app.app_context():
        engine = get_state(app).store.engine
        with engine.connect() as conn:
            live_left = conn.exec_driver_sql(
                "SELECT count(*) FROM bench_sessions WHERE name = 'live'"
            ).scalar_one()
            keys = {lookup_key("live", f"live-{i}") for i in range(args.live)}
            stored_keys = {
                row[0]
                for row in conn.exec_driver_sql(
                    "SELECT key FROM bench_sessions WHERE name = 'live'"
                )
            }
    latencies.sort()
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[int(len(latencies) * 0.99)] * 1000
    print(f"deleted {deleted:,} expired sessions in {took:.1f} s (batch size {args.batch_size})")
    print(f"live requests during cleanup: {len(latencies):,}, p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    print(f"live sessions left: {live_left} of {args.live}, all keys kept: {keys == stored_keys}")
    with app.app_context():
        store = get_state(app).store
        store.tables.sessions.metadata.drop_all(store.engine)
        store.dispose()


if __name__ == "__main__":
    main()
