"""Requests per second of session stores, in one run, through the WSGI app.

Run: ``python benchmarks/bench_requests.py [--seconds 1.5] [--rounds 5]``, or
``--quick`` for a smoke run of every case (a tenth of a second, one round).
Two tables per database, each measured in the same rounds as its anchors:

- the *classic* view reads one of ten short strings;
- the *realistic* view reads all ten variables of an app's session (an int
  id, strings, a bool, a float, a short list, a small dict) through the
  mapping, and the write case also changes one of them.

Requests go straight to ``app.wsgi_app`` with a prepared environ, so the
numbers compare the stores, not an HTTP stack. PostgreSQL is
``BENCH_POSTGRESQL_URL`` (default ``postgresql+psycopg://postgres@127.0.0.1/test``);
Flask-Session's Redis backend uses database ``BENCH_REDIS_DB`` (default 2)
of the Redis on 127.0.0.1:6379, and our cache, where the installed package
has ``NAMEDSESSIONS_CACHE_URL``, ``BENCH_CACHE_URL`` (default
``redis://127.0.0.1:6379/3``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import typing as t

import sqlalchemy as sa
from bench_apps import CACHE_PREFIX
from bench_apps import cache_supported
from bench_apps import cookie_session
from bench_apps import drop_keys
from bench_apps import drop_tables
from bench_apps import flask_session
from bench_apps import flask_session_redis
from bench_apps import one_select
from bench_apps import ours
from bench_apps import plain
from bench_apps import REDIS_PREFIX
from flask import Flask
from werkzeug.test import EnvironBuilder

PG_URL = os.environ.get("BENCH_POSTGRESQL_URL", "postgresql+psycopg://postgres@127.0.0.1/test")
CACHE_URL = os.environ.get("BENCH_CACHE_URL", "redis://127.0.0.1:6379/3")
FLOOR = "(b) Flask + one SELECT by key"

__all__ = ["PG_URL", "cookie_of", "measure"]


def run(app: Flask, path: str, cookie: str | None, seconds: float) -> float:
    """Requests per second for ``path`` with ``cookie`` over ``seconds``."""
    headers = {"Cookie": cookie} if cookie else {}
    environ = EnvironBuilder(path=path, headers=headers).get_environ()

    def start_response(status: str, headers: list[t.Any], exc_info: t.Any = None) -> t.Any:
        if not status.startswith("200"):
            raise SystemExit(f"{app.name} {path}: {status}")

    count = 0
    deadline = time.perf_counter() + seconds
    began = time.perf_counter()
    while time.perf_counter() < deadline:
        for _ in range(20):
            body = app.wsgi_app(dict(environ), start_response)
            b"".join(body)
            getattr(body, "close", lambda: None)()
            count += 1
    return count / (time.perf_counter() - began)


def cookie_of(app: Flask, path: str) -> str:
    response = app.test_client().get(path)
    return "; ".join(h.split(";", 1)[0] for h in response.headers.getlist("Set-Cookie"))


Cases = dict[str, tuple[Flask, str, str | None]]


def measure(cases: Cases, seconds: float, rounds: int) -> dict[str, float]:
    """The median requests per second of each case, the cases interleaved in
    every round so that a change of load hits them all alike."""
    results: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, (app, path, cookie) in cases.items():
            results[name].append(run(app, path, cookie, seconds))
    return {name: statistics.median(values) for name, values in results.items()}


def table(medians: dict[str, float], names: list[str], anchors: list[str]) -> None:
    """Print ``names`` with their ratios to each of ``anchors``."""
    present = [a for a in anchors if a in medians]
    print("| case | req/s | " + " | ".join(f"vs {a.split(' ', 1)[0]}" for a in present) + " |")
    print("|---|---:|" + "---:|" * len(present))
    for name in names:
        value = medians[name]
        ratios = " | ".join(f"{value / medians[a]:.2f}x" for a in present)
        print(f"| {name} | {value:,.0f} | {ratios} |")


def bench(label: str, url: str, seconds: float, rounds: int, redis_too: bool) -> None:
    """Both tables for the database at ``url``."""
    made: list[tuple[Flask, t.Any]] = []

    def keep(app: Flask, db: t.Any = None) -> Flask:
        made.append((app, db))
        return app

    select_app, select_engine = one_select(url)
    fs_app = keep(*flask_session(url, refresh=True))
    fs_off_app = keep(*flask_session(url, refresh=False))
    own = keep(ours(url))
    with_db = keep(*ours(url, with_db=True))
    cases: Cases = {
        "(a) plain Flask": (plain(), "/", None),
        FLOOR: (select_app, "/", None),
    }
    cookie_app = cookie_session()
    redis_client = None
    if redis_too:
        redis_app, redis_client = flask_session_redis(refresh=True)
        redis_off_app, _ = flask_session_redis(refresh=False, client=redis_client)
    classic: Cases = {
        "(c) Flask cookie session": (cookie_app, "/", cookie_of(cookie_app, "/set")),
        "(d) Flask-Session SQL, defaults": (fs_app, "/", cookie_of(fs_app, "/set")),
        "(d') Flask-Session SQL, refresh off": (fs_off_app, "/", cookie_of(fs_off_app, "/set")),
        "(d) Flask-Session SQL, one value changed": (fs_app, "/change", cookie_of(fs_app, "/set")),
        "(e) ours, read-only": (own, "/", cookie_of(own, "/set")),
        "(e) ours, one variable changed": (own, "/change", cookie_of(own, "/set")),
        "(e) ours, new session": (own, "/set", None),
    }
    realistic_apps = [
        ("(c) Flask cookie session", cookie_app),
        ("(d) Flask-Session SQL, defaults", fs_app),
    ]
    if redis_client is not None:
        realistic_apps.append(("(r) Flask-Session Redis, defaults", redis_app))
        realistic_apps.append(("(r') Flask-Session Redis, refresh off", redis_off_app))
    realistic_apps += [("(e) ours, own engine", own), ("(e) ours, db=", with_db)]
    cached = None
    if redis_too and cache_supported():
        cached = keep(ours(url, cache_url=CACHE_URL))
        realistic_apps.append(("(e) ours, own engine + cache", cached))
    elif redis_too:
        print("\n(the installed flask-namedsessions has no NAMEDSESSIONS_CACHE_URL: no cache case)")
    realistic: Cases = {}
    for who, app in realistic_apps:
        cookie = cookie_of(app, "/r/set")
        realistic[f"{who}, realistic read"] = (app, "/r", cookie)
        realistic[f"{who}, realistic change"] = (app, "/r/change", cookie)
    medians = measure({**cases, **classic, **realistic}, seconds, rounds)
    print(f"\n{label}, classic view (median of {rounds} rounds of {seconds} s)\n")
    anchors = [FLOOR, "(d) Flask-Session SQL, defaults", "(d') Flask-Session SQL, refresh off"]
    table(medians, [*cases, *classic], anchors)
    print(f"\n{label}, realistic view (same rounds)\n")
    anchors = [
        FLOOR,
        "(d) Flask-Session SQL, defaults, realistic read",
        "(r) Flask-Session Redis, defaults, realistic read",
        "(r') Flask-Session Redis, refresh off, realistic read",
    ]
    table(medians, [*cases, *realistic], anchors)
    drop_tables(made)
    with select_engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS bench_kv"))
    select_engine.dispose()
    if redis_client is not None:
        drop_keys(redis_client, REDIS_PREFIX)
        redis_client.close()
    if cached is not None:
        import redis

        with redis.Redis.from_url(CACHE_URL) as client:
            drop_keys(client, CACHE_PREFIX)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=1.5)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="0.05 s, one round: a smoke run")
    parser.add_argument(
        "--databases", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql"
    )
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.rounds = 0.05, 1
    databases = args.databases.split(",")
    if "sqlite" in databases:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{tmp}/bench.sqlite3"
            bench("SQLite (file, WAL)", url, args.seconds, args.rounds, redis_too=False)
    if "postgresql" in databases:
        bench("PostgreSQL", PG_URL, args.seconds, args.rounds, redis_too=True)


if __name__ == "__main__":
    main()
