"""Requests per second of flask.session backends under Flask-Login, in one run.

Run: ``python benchmarks/bench_flask_session.py [--seconds 1.5] [--rounds 5]``.
A logged-in visitor (Flask-Login) asks for a page that reads ``current_user``
and one session key (read-only), or that also changes that key (write).
Requests go straight to ``app.wsgi_app`` with a prepared environ, as in
``bench_requests.py``. The backends: flask-namedsessions serving
``flask.session``, Flask-Session 0.8's SQLAlchemy backend (defaults, and
``SESSION_REFRESH_EACH_REQUEST = False``) and its Redis backend (Redis on
127.0.0.1:6379, database ``BENCH_REDIS_DB``, default 2), and Flask's signed
cookie. PostgreSQL is ``BENCH_POSTGRESQL_URL``.
"""

from __future__ import annotations

import argparse
import itertools
import os
import tempfile
import typing as t
import warnings

from bench_apps import drop_tables
from bench_requests import cookie_of
from bench_requests import measure
from bench_requests import PG_URL
from flask import Flask
from flask import session
from flask_login import current_user
from flask_login import login_user
from flask_login import LoginManager
from flask_login import UserMixin

from flask_namedsessions import NamedSessions

REDIS_DB = int(os.environ.get("BENCH_REDIS_DB", "2"))
#: Flask-Session's key prefix in Redis: only these keys are deleted afterwards.
REDIS_PREFIX = "bench_flask_session:"
CART = [{"sku": f"item-{i}", "qty": i} for i in range(5)]


class User(UserMixin):
    def __init__(self, user_id: str) -> None:
        self.id = user_id


def with_login(app: Flask) -> Flask:
    """Flask-Login and the three views every backend serves."""
    manager = LoginManager(app)
    manager.user_loader(User)
    counter = itertools.count()

    @app.route("/login")
    def login() -> str:
        login_user(User("ada"))
        session["cart"] = list(CART)
        return "in"

    @app.route("/")
    def read() -> str:
        return f"{current_user.get_id()} {len(session['cart'])}"

    @app.route("/write")
    def write() -> str:
        session["cart"] = [*CART, next(counter)]
        return f"{current_user.get_id()} {len(session['cart'])}"

    return app


def ours(url: str) -> Flask:
    app = Flask("ours")
    app.config.update(
        SECRET_KEY="bench",
        NAMEDSESSIONS_DATABASE_URI=url,
        NAMEDSESSIONS_TABLE_PREFIX="bench_fs_",
        NAMEDSESSIONS_FLASK_SESSION="main",
    )
    NamedSessions(app)
    return with_login(app)


def flask_session_sqlalchemy(url: str, *, refresh: bool) -> tuple[Flask, t.Any]:
    from flask_session import Session
    from flask_sqlalchemy import SQLAlchemy

    db = SQLAlchemy()
    app = Flask("flask_session")
    app.config.update(
        SECRET_KEY="bench",
        SQLALCHEMY_DATABASE_URI=url,
        SESSION_TYPE="sqlalchemy",
        SESSION_SQLALCHEMY=db,
        SESSION_SQLALCHEMY_TABLE="bench_fs_flask_sessions",
        SESSION_REFRESH_EACH_REQUEST=refresh,
    )
    db.init_app(app)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        Session(app)
    return with_login(app), db


def flask_session_redis() -> tuple[Flask, t.Any]:
    import redis
    from flask_session import Session

    client = redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DB)
    app = Flask("flask_session_redis")
    app.config.update(
        SECRET_KEY="bench",
        SESSION_TYPE="redis",
        SESSION_REDIS=client,
        SESSION_KEY_PREFIX=REDIS_PREFIX,
    )
    Session(app)
    return with_login(app), client


def cookie() -> Flask:
    app = Flask("cookie")
    app.secret_key = "bench"
    return with_login(app)


def bench(label: str, url: str, seconds: float, rounds: int, redis_too: bool) -> None:
    ours_app = ours(url)
    fs_app, fs_db = flask_session_sqlalchemy(url, refresh=True)
    fs_off_app, fs_off_db = flask_session_sqlalchemy(url, refresh=False)
    apps: dict[str, Flask] = {
        "ours": ours_app,
        "Flask-Session SQLAlchemy, defaults": fs_app,
        "Flask-Session SQLAlchemy, refresh off": fs_off_app,
    }
    redis_client = None
    if redis_too:
        redis_app, redis_client = flask_session_redis()
        apps["Flask-Session Redis"] = redis_app
    apps["Flask cookie session"] = cookie()
    cases: dict[str, tuple[Flask, str, str | None]] = {}
    for kind, path in (("read-only", "/"), ("write", "/write")):
        for name, app in apps.items():
            cases[f"{name}, {kind}"] = (app, path, cookie_of(app, "/login"))
    medians = measure(cases, seconds, rounds)
    print(f"\n{label} (median of {rounds} rounds of {seconds} s)\n")
    print("| case | req/s | vs Flask-Session SQLAlchemy defaults | vs refresh off |")
    print("|---|---:|---:|---:|")
    for kind in ("read-only", "write"):
        base = medians[f"Flask-Session SQLAlchemy, defaults, {kind}"]
        off = medians[f"Flask-Session SQLAlchemy, refresh off, {kind}"]
        for name in apps:
            value = medians[f"{name}, {kind}"]
            print(f"| {name}, {kind} | {value:,.0f} | {value / base:.2f}x | {value / off:.2f}x |")
    drop_tables([(ours_app, None), (fs_app, fs_db), (fs_off_app, fs_off_db)])
    if redis_client is not None:
        keys = list(redis_client.scan_iter(match=REDIS_PREFIX + "*"))
        if keys:
            redis_client.delete(*keys)
        redis_client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=1.5)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    bench("PostgreSQL", PG_URL, args.seconds, args.rounds, redis_too=True)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.sqlite3"
        bench("SQLite (file, WAL)", url, args.seconds, args.rounds, redis_too=False)


if __name__ == "__main__":
    main()
