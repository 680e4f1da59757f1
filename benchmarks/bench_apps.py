"""The apps that ``bench_requests.py`` measures, each with the same views.

Every session-backed app serves the classic views (``/set`` stores ten short
strings, ``/`` reads one, ``/change`` changes one) and the realistic ones
(``/r/set`` stores :data:`REALISTIC`, ``/r`` reads every variable through the
session mapping, ``/r/change`` reads them all and changes one).
"""

from __future__ import annotations

import itertools
import os
import typing as t
import warnings
from collections.abc import MutableMapping

import sqlalchemy as sa
from flask import Flask
from flask import g
from flask import session

from flask_namedsessions import NamedSessions
from flask_namedsessions import session_start
from flask_namedsessions.config import DEFAULTS
from flask_namedsessions.extension import EXTENSION_KEY
from flask_namedsessions.extension import get_state

VALUES = {f"v{i}": f"value {i}" for i in range(10)}
#: What an app keeps in a visitor's session, in ten variables of mixed types.
REALISTIC: dict[str, t.Any] = {
    "user_id": 4217,
    "username": "ada",
    "display_name": "Ada Lovelace",
    "email": "ada@example.com",
    "locale": "en-GB",
    "logged_in": True,
    "balance": 1234.5,
    "last_page": "/orders/42",
    "recent": [17, 4, 99],
    "prefs": {"theme": "dark", "per_page": 20},
}
REDIS_DB = int(os.environ.get("BENCH_REDIS_DB", "2"))
#: Flask-Session's key prefix in Redis: only these keys are deleted afterwards.
REDIS_PREFIX = "bench_requests:"
#: Our cache's key prefix, likewise.
CACHE_PREFIX = "bench_cache:"


def cache_supported() -> bool:
    """Does the installed flask-namedsessions have the cache?"""
    return "NAMEDSESSIONS_CACHE_URL" in DEFAULTS


def realistic_views(app: Flask, mapping: t.Callable[[], MutableMapping[str, t.Any]]) -> None:
    """The realistic views, on the session that ``mapping`` returns."""
    counter = itertools.count()

    @app.route("/r/set")
    def realistic_set() -> str:
        mapping().update(REALISTIC)
        return "ok"

    @app.route("/r")
    def realistic_read() -> str:
        values = mapping()
        seen = [values[name] for name in REALISTIC]
        return f"{seen[0]} {len(seen)}"

    @app.route("/r/change")
    def realistic_change() -> str:
        values = mapping()
        seen = [values[name] for name in REALISTIC]
        values["last_page"] = f"/orders/{next(counter)}"
        return f"{seen[0]} {len(seen)}"


def flask_session_views(app: Flask) -> Flask:
    """The classic and realistic views on ``flask.session``."""

    @app.route("/set")
    def set_() -> str:
        session.update(VALUES)
        return "ok"

    @app.route("/")
    def index() -> str:
        return str(session["v3"])

    counter = itertools.count()

    @app.route("/change")
    def change() -> str:
        session["v3"] = f"changed {next(counter)}"
        return "ok"

    realistic_views(app, lambda: t.cast(MutableMapping[str, t.Any], session))
    return app


def plain() -> Flask:
    app = Flask("plain")

    @app.route("/")
    def index() -> str:
        return "ok"

    return app


def one_select(url: str, *, fill: bool = True) -> tuple[Flask, sa.Engine]:
    """The floor: one SELECT by primary key per request, on connections that
    autocommit from the start (no isolation switch per checkout).
    ``fill=False`` leaves the table as another process filled it (gunicorn's
    workers share one)."""
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
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
    return flask_session_views(app)


def flask_session(url: str, refresh: bool) -> tuple[Flask, t.Any]:
    """Flask-Session 0.8's SQLAlchemy backend."""
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
    return flask_session_views(app), db


def flask_session_redis(refresh: bool, client: t.Any = None) -> tuple[Flask, t.Any]:
    """Flask-Session 0.8's Redis backend, on database ``BENCH_REDIS_DB``."""
    import redis
    from flask_session import Session

    if client is None:
        client = redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DB)
    app = Flask("flask_session_redis")
    app.config.update(
        SECRET_KEY="bench",
        SESSION_TYPE="redis",
        SESSION_REDIS=client,
        SESSION_KEY_PREFIX=REDIS_PREFIX + ("on:" if refresh else "off:"),
        SESSION_REFRESH_EACH_REQUEST=refresh,
    )
    Session(app)
    return flask_session_views(app), client


def ours(url: str, *, with_db: bool = False, cache_url: str | None = None) -> t.Any:
    """flask-namedsessions on its own engine, or with ``with_db`` on
    Flask-SQLAlchemy's (then returned with the ``db``), or with the cache."""
    app = Flask("ours_db" if with_db else "ours")
    app.config["NAMEDSESSIONS_TABLE_PREFIX"] = "bench_db_" if with_db else "bench_"
    if cache_url is not None:
        app.config["NAMEDSESSIONS_CACHE_URL"] = cache_url
        app.config["NAMEDSESSIONS_CACHE_PREFIX"] = CACHE_PREFIX
        app.config["NAMEDSESSIONS_TABLE_PREFIX"] = "bench_cache_"
    db = None
    if with_db:
        from flask_sqlalchemy import SQLAlchemy

        db = SQLAlchemy()
        app.config["SQLALCHEMY_DATABASE_URI"] = url
        app.config["NAMEDSESSIONS_CREATE_TABLES"] = True
        db.init_app(app)
        NamedSessions(app, db=db)
    else:
        app.config["NAMEDSESSIONS_DATABASE_URI"] = url
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

    counter = itertools.count()

    @app.route("/change")
    def change() -> str:
        session_start("cart")
        g.v3 = f"changed {next(counter)}"
        return "ok"

    realistic_views(app, lambda: session_start("app"))
    return (app, db) if with_db else app


def drop_keys(client: t.Any, prefix: str) -> None:
    """Delete the Redis keys under ``prefix``, and nothing else."""
    keys = list(client.scan_iter(match=prefix + "*"))
    if keys:
        client.delete(*keys)


def drop_tables(made: list[tuple[Flask, t.Any]]) -> None:
    """Drop the tables the apps in ``made`` used: ours, and those of a
    Flask-SQLAlchemy ``db`` given with an app."""
    for app, db in made:
        with app.app_context():
            if EXTENSION_KEY in app.extensions:
                store = get_state(app).store
                store.tables.sessions.metadata.drop_all(store.engine)
                store.dispose()
            if db is not None:
                db.metadata.drop_all(db.engine)
                db.engine.dispose()
