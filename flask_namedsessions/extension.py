"""The ``NamedSessions`` extension: ``init_app``, per-app state, request hooks."""

from __future__ import annotations

import logging
import os
import random
import typing as t

import sqlalchemy as sa
from flask import current_app
from flask import Flask
from flask import g
from flask import got_request_exception
from flask import request
from flask import Response

from .api import current_sessions
from .cli import cli
from .config import build_settings
from .config import DEFAULTS
from .config import Settings
from .exceptions import NamedSessionsError
from .lifecycle import now_ms
from .models import define_tables
from .responses import send_ids
from .session import STATE_ATTR
from .state import EXTENSION_KEY
from .state import State
from .store import CASCADES
from .store import Store
from .templating import template_globals

if t.TYPE_CHECKING:
    from flask_sqlalchemy import SQLAlchemy


logger = logging.getLogger("flask_namedsessions")


def _own_engine(app: Flask, settings: Settings) -> t.Callable[[], sa.Engine]:
    """A lazy engine for ``NAMEDSESSIONS_DATABASE_URI``, by default an SQLite
    file in the instance folder, set up for several threads and processes."""
    uri = settings.database_uri
    if uri is None:
        uri = "sqlite:///" + os.path.join(app.instance_path, "namedsessions.sqlite3")
    options = dict(settings.engine_options)

    def make() -> sa.Engine:
        url = sa.make_url(uri)
        backend = url.get_backend_name()
        connect_args = dict(options.pop("connect_args", {}))
        if backend == "sqlite" and url.database not in (None, "", ":memory:"):
            os.makedirs(os.path.dirname(os.path.abspath(url.database)), exist_ok=True)
            connect_args.setdefault("timeout", 30)
            connect_args.setdefault("check_same_thread", False)
        elif (backend == "postgresql" and url.get_driver_name() in ("psycopg", "psycopg2")) or (
            backend in ("mysql", "mariadb") and url.get_driver_name() == "pymysql"
        ):
            connect_args.setdefault("connect_timeout", 5)
        if backend in ("mysql", "mariadb"):
            options.setdefault("pool_recycle", 3600)
        if backend == "postgresql":
            # Reads and single-statement saves then cost one round trip, with
            # no isolation switch on each checkout; the store still wraps a
            # save of several statements in one transaction.
            options.setdefault("isolation_level", "AUTOCOMMIT")
        engine = sa.create_engine(url, connect_args=connect_args, **options)
        if backend == "sqlite":
            sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine

    return make


def _sqlite_pragmas(dbapi_connection: t.Any, record: t.Any) -> None:
    """WAL lets readers run beside a writer; the busy timeout makes writers
    queue instead of failing; foreign keys delete variables with sessions."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
    record.info[CASCADES] = True


class NamedSessions:
    """Named, per-visitor, server-side sessions stored in SQL.

    :param app: the Flask app, or ``None`` to call :meth:`init_app` later.
    :param db: a Flask-SQLAlchemy instance: the tables are declared in its
        metadata and use its engine (or ``NAMEDSESSIONS_BIND_KEY``). Without it,
        the extension makes its own engine from ``NAMEDSESSIONS_DATABASE_URI``.

    .. versionadded:: 0.1
    """

    def __init__(self, app: Flask | None = None, *, db: SQLAlchemy | None = None) -> None:
        self._db = db
        if app is not None:
            self.init_app(app, db=db)

    def init_app(self, app: Flask, *, db: SQLAlchemy | None = None) -> None:
        """Register the extension on ``app``: config defaults, tables, hooks,
        template globals and the ``flask namedsessions`` commands."""
        if EXTENSION_KEY in app.extensions:
            raise RuntimeError(
                "flask-namedsessions is already set up on this app; call init_app only once per app"
            )
        db = db if db is not None else self._db
        for key, value in DEFAULTS.items():
            app.config.setdefault(key, value)
        settings = build_settings(app.config)
        if db is not None:
            bind_key = settings.bind_key
            tables = define_tables(db._make_metadata(bind_key), settings.table_prefix)

            def get_engine() -> sa.Engine:
                return db.engines[bind_key]
        else:
            tables = define_tables(None, settings.table_prefix)
            get_engine = _own_engine(app, settings)
        store = Store(tables, get_engine, create_tables=settings.create_tables)
        app.extensions[EXTENSION_KEY] = State(settings=settings, store=store)
        app.before_request(_before_request)
        app.after_request(_after_request)
        got_request_exception.connect(_on_exception, app)
        app.jinja_env.globals.update(template_globals())
        app.cli.add_command(cli)


def _before_request() -> None:
    # Drop a previous request's state; sessions started by a hook that ran
    # before this one belong to this request and stay.
    if current_sessions() is None:
        setattr(g, STATE_ATTR, None)


def _on_exception(sender: Flask, exception: BaseException, **extra: t.Any) -> None:
    sessions = current_sessions()
    if sessions is not None:
        sessions.failed = True


def _after_request(response: Response) -> Response:
    """Save the started sessions, then send their IDs on the response.

    Flask runs this hook a second time, for the error response, when a save
    fails and no error handler of the app answers it: ``save_tried`` keeps that
    pass from saving again, while it still expires the cookies of ended
    sessions; ``finished`` stops any further pass.
    """
    sessions = current_sessions()
    if sessions is None or sessions.finished:
        return response
    if not sessions.save_tried:
        sessions.save_tried = True
        if not sessions.failed or sessions.settings.save_on_error:
            try:
                sessions.save()
            except NamedSessionsError as exc:
                sessions.failed = sessions.save_failed = True
                response = _handle(exc)
    sessions.finished = True
    send_ids(response, sessions, request)
    settings = sessions.settings
    if settings.gc_probability and random.random() < settings.gc_probability:
        response.call_on_close(_collect_garbage(sessions.store, settings.gc_batch_size))
    return response


def _handle(exc: NamedSessionsError) -> Response:
    """A failed save answered like an error of the view: by the app's handler
    for it (a 503 for :exc:`SessionStoreError`, say), else re-raised to Flask,
    which logs it and answers 500."""
    return current_app.make_response(current_app.handle_user_exception(exc))


def _collect_garbage(store: Store, batch_size: int) -> t.Callable[[], None]:
    """One batch of expired sessions, deleted after the response has gone."""

    def run() -> None:
        try:
            next(store.expired_batches(now_ms(), batch_size), 0)
        except NamedSessionsError as exc:
            logger.warning("deleting expired sessions failed: %s", exc)

    return run
