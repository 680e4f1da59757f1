"""The ``NamedSessions`` extension: ``init_app``, per-app state and its
accessor, and the request hooks, which hand over to :mod:`.context`."""

from __future__ import annotations

import dataclasses
import logging
import random
import typing as t

import sqlalchemy as sa
from flask import current_app
from flask import Flask
from flask import got_request_exception
from flask import request
from flask import Response

from . import context
from .cli import command_group
from .clock import Clock
from .clock import now_ms
from .config import build_settings
from .config import DEFAULTS
from .config import Settings
from .engine import Engines
from .engine import own_engine
from .exceptions import NamedSessionsError
from .models import define_tables
from .sending import guard_url
from .store import Store
from .templating import template_globals

if t.TYPE_CHECKING:
    from flask_sqlalchemy import SQLAlchemy

__all__ = ["EXTENSION_KEY", "NamedSessions", "State", "get_state"]

logger = logging.getLogger("flask_namedsessions")

EXTENSION_KEY = "namedsessions"


@dataclasses.dataclass
class State:
    """What one app needs at request time, in ``app.extensions["namedsessions"]``."""

    settings: Settings
    store: Store
    #: the time in milliseconds; tests may move it
    clock: Clock = now_ms


def get_state(app: Flask | None = None) -> State:
    """The per-app state, or a clear error when ``init_app`` was not called."""
    state = (app or current_app).extensions.get(EXTENSION_KEY)
    if state is None:
        raise RuntimeError(
            "flask-namedsessions is not set up for this app;"
            " call NamedSessions().init_app(app) first"
        )
    return t.cast(State, state)


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
            metadata = db.metadatas.get(bind_key)
            if metadata is None:
                raise RuntimeError(
                    f"NAMEDSESSIONS_BIND_KEY is {bind_key!r}, but the Flask-SQLAlchemy"
                    " instance has no such bind: add it to SQLALCHEMY_BINDS and call"
                    " db.init_app(app) before init_app of flask-namedsessions"
                )
            tables = define_tables(metadata, settings.table_prefix)

            def app_engine() -> sa.Engine:
                return db.engines[bind_key]

            engines = Engines(app_engine)
        else:
            tables = define_tables(None, settings.table_prefix)
            engine = own_engine(app.instance_path, settings)
            engines = Engines(lambda: engine)
        store = Store(tables, engines, create_tables=settings.create_tables)
        app.extensions[EXTENSION_KEY] = State(settings=settings, store=store)
        app.before_request(_before_request)
        app.after_request(_after_request)
        got_request_exception.connect(_on_exception, app)
        app.jinja_env.globals.update(template_globals())
        app.cli.add_command(command_group(get_state))


def _before_request() -> None:
    # Drop a previous request's state; sessions started by a hook that ran
    # before this one belong to this request and stay.
    context.forget_other()


def _on_exception(sender: Flask, exception: BaseException, **extra: t.Any) -> None:
    sessions = context.current()
    if sessions is not None:
        sessions.failed()


def _after_request(response: Response) -> Response:
    """Save the started sessions and send their IDs; now and then, delete a
    batch of expired sessions once the response has gone."""
    sessions = context.current()
    if sessions is None:
        guard_url(response, request, get_state().settings)
        return response
    if sessions.closing is context.Closing.SENT:
        return response
    response = sessions.close(response)
    settings = sessions.settings
    if settings.gc_probability and random.random() < settings.gc_probability:
        state = get_state()
        response.call_on_close(_collect_garbage(state, settings.gc_batch_size))
    return response


def _collect_garbage(state: State, batch_size: int) -> t.Callable[[], None]:
    """One batch of expired sessions, deleted after the response has gone."""

    def run() -> None:
        try:
            next(state.store.expired_batches(state.clock(), batch_size), 0)
        except NamedSessionsError as exc:
            logger.warning("deleting expired sessions failed: %s", exc)

    return run
