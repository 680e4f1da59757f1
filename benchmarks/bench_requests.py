"""Requests per second of session stores, in one run, through the WSGI app.

Run: ``python benchmarks/bench_requests.py [--seconds 1.5] [--rounds 5]``.
Each case serves a view that reads (or changes) ten small session values;
requests go straight to ``app.wsgi_app`` with a prepared environ, so the
numbers compare the stores, not an HTTP stack. PostgreSQL is
``postgresql+psycopg://postgres@127.0.0.1/test`` unless ``BENCH_POSTGRESQL_URL``
says otherwise.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import typing as t
import warnings

import sqlalchemy as sa
from flask import Flask
from flask import g
from flask import session
from werkzeug.test import EnvironBuilder

from flask_namedsessions import NamedSessions
from flask_namedsessions import session_start
from flask_namedsessions.extension import get_state

VALUES = {f"v{i}": f"value {i}" for i in range(10)}
PG_URL = os.environ.get("BENCH_POSTGRESQL_URL", "postgresql+psycopg://postgres@127.0.0.1/test")


def run(app: Flask, path: str, cookie: str | None, seconds: float) -> float:
    """Requests per second for ``path`` with ``cookie`` over ``seconds``."""
    headers = {"Cookie": cookie} if cookie else {}
    environ = EnvironBuilder(path=path, headers=headers).get_environ()

    def start_response(status: str, headers: list[t.Any], exc_info: t.Any = None) -> t.Any:
        return None

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


def plain() -> Flask:
    app = Flask("plain")

    @app.route("/")
    def index() -> str:
        return "ok"

    return app


def one_select(url: str, *, fill: bool = True) -> tuple[Flask, sa.Engine]:
    """The floor: one SELECT by primary key per request. ``fill=False`` leaves
    the table as another process filled it (gunicorn's workers share one)."""
    engine = sa.create_engine(url).execution_options(isolation_level="AUTOCOMMIT")
    meta = sa.MetaData()
    table = sa.Table(
        "bench_kv", meta, sa.Column("id", sa.Integer, primary_key=True), sa.Column("val", sa.Text)
    )
    if fill:
        meta.drop_all(engine)
        meta.create_all(engine)
        with engine.begin() as conn:
            conn.execute(table.insert(), [{"id": 1, "val": "x"}])
    stmt = sa.select(table.c.val).where(table.c.id == sa.bindparam("id"))
    app = Flask("select")

    @app.route("/")
    def index() -> str:
        with engine.connect() as conn:
            return str(conn.execute(stmt, {"id": 1}).scalar())

    return app, engine


def cookie_session() -> Flask:
    app = Flask("cookie")
    app.secret_key = "bench"

    @app.route("/set")
    def set_() -> str:
        session.update(VALUES)
        return "ok"

    @app.route("/")
    def index() -> str:
        return str(session["v3"])

    return app


def flask_session(url: str, refresh: bool) -> tuple[Flask, t.Any]:
    from flask_session import Session
    from flask_sqlalchemy import SQLAlchemy

    db = SQLAlchemy()
    app = Flask("flask_session")
    app.config.update(
        SQLALCHEMY_DATABASE_URI=url,
        SESSION_TYPE="sqlalchemy",
        SESSION_SQLALCHEMY=db,
        SESSION_SQLALCHEMY_TABLE="bench_flask_sessions",
        SESSION_REFRESH_EACH_REQUEST=refresh,
        SECRET_KEY="bench",
    )
    db.init_app(app)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        Session(app)

    @app.route("/set")
    def set_() -> str:
        session.update(VALUES)
        return "ok"

    @app.route("/")
    def index() -> str:
        return str(session["v3"])

    @app.route("/change")
    def change() -> str:
        session["v3"] = str(time.perf_counter())
        return "ok"

    return app, db


def ours(url: str) -> Flask:
    app = Flask("ours")
    app.config["NAMEDSESSIONS_DATABASE_URI"] = url
    app.config["NAMEDSESSIONS_TABLE_PREFIX"] = "bench_"
    NamedSessions(app)

    @app.route("/set")
    def set_() -> str:
        s = session_start("cart")
        for key, value in VALUES.items():
            s[key] = value
        return "ok"

    @app.route("/")
    def index() -> str:
        session_start("cart")
        return str(g.v3)

    @app.route("/change")
    def change() -> str:
        session_start("cart")
        g.v3 = str(time.perf_counter())
        return "ok"

    return app


def measure(
    cases: dict[str, tuple[Flask, str, str | None]], seconds: float, rounds: int
) -> dict[str, float]:
    results: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, (app, path, cookie) in cases.items():
            results[name].append(run(app, path, cookie, seconds))
    return {name: statistics.median(values) for name, values in results.items()}


def bench(label: str, url: str, seconds: float, rounds: int) -> None:
    select_app, select_engine = one_select(url)
    fs_app, fs_db = flask_session(url, refresh=True)
    fs_off_app, fs_off_db = flask_session(url, refresh=False)
    ours_app = ours(url)
    cookie_app = cookie_session()
    cases = {
        "(a) plain Flask": (plain(), "/", None),
        "(b) Flask + one SELECT by key": (select_app, "/", None),
        "(c) Flask cookie session": (cookie_app, "/", cookie_of(cookie_app, "/set")),
        "(d) Flask-Session, defaults": (fs_app, "/", cookie_of(fs_app, "/set")),
        "(d') Flask-Session, refresh off": (fs_off_app, "/", cookie_of(fs_off_app, "/set")),
        "(d) Flask-Session, one value changed": (fs_app, "/change", cookie_of(fs_app, "/set")),
        "(e) ours, read-only": (ours_app, "/", cookie_of(ours_app, "/set")),
        "(e) ours, one variable changed": (ours_app, "/change", cookie_of(ours_app, "/set")),
        "(e) ours, new session": (ours_app, "/set", None),
    }
    medians = measure(cases, seconds, rounds)
    floor = medians["(b) Flask + one SELECT by key"]
    fs_default = medians["(d) Flask-Session, defaults"]
    fs_off = medians["(d') Flask-Session, refresh off"]
    print(f"\n{label} (median of {rounds} rounds of {seconds} s)\n")
    print("| case | req/s | vs (b) | vs (d) defaults | vs (d') refresh off |")
    print("|---|---:|---:|---:|---:|")
    for name, value in medians.items():
        print(
            f"| {name} | {value:,.0f} | {value / floor:.2f}x"
            f" | {value / fs_default:.2f}x | {value / fs_off:.2f}x |"
        )
    drop_tables(ours_app, [(fs_app, fs_db), (fs_off_app, fs_off_db)])
    with select_engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS bench_kv"))
    select_engine.dispose()


def drop_tables(ours_app: Flask, flask_session_apps: list[tuple[Flask, t.Any]]) -> None:
    """Drop the tables a run made: ours, and Flask-Session's."""
    with ours_app.app_context():
        store = get_state(ours_app).store
        store.tables.sessions.metadata.drop_all(store.engine)
        store.dispose()
    for app, db in flask_session_apps:
        with app.app_context():
            db.metadata.drop_all(db.engine)
            db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=1.5)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bench("SQLite (file, WAL)", f"sqlite:///{tmp}/bench.sqlite3", args.seconds, args.rounds)
    bench("PostgreSQL", PG_URL, args.seconds, args.rounds)


if __name__ == "__main__":
    main()
