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
from . import logins
from .cachedstore import CachedStore
from .cleanup import Cleanup
from .cli import command_group
from .clock import Clock
from .clock import now_ms
from .config import build_settings
from .config import DEFAULTS
from .config import Settings
from .config import warn_unknown_keys
from .engine import check_not_shared
from .engine import Engines
from .engine import own_engine
from .exceptions import NamedSessionsError
from .models import define_tables
from .models import Tables
from .sending import guard_url
from .session_interface import flask_session_settings
from .session_interface import NamedSessionInterface
from .store import Store
from .templating import template_globals
from .watchdog import for_engine

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
        metadata and use its engine (or ``NAMEDSESSIONS_BIND_KEY``), unless
        ``NAMEDSESSIONS_DATABASE_URI`` gives the sessions their own. Without
        it, the extension makes its own engine from ``NAMEDSESSIONS_DATABASE_URI``.

    ``db`` may be passed by position or by name, as Flask-Migrate's own
    ``Migrate(app, db)`` takes it.

    .. versionadded:: 0.1
    """

    def __init__(self, app: Flask | None = None, db: SQLAlchemy | None = None) -> None:
        self._db = db
        if app is not None:
            self.init_app(app, db)

    def init_app(self, app: Flask, db: SQLAlchemy | None = None) -> None:
        """Register the extension on ``app``: config defaults, tables, hooks,
        template globals and the ``flask namedsessions`` commands.

        The configuration is checked here, and the engine made (it connects
        on first use): a bad value, an unusable database URI, a missing
        driver or a database the sessions cannot share raises now, and a
        ``NAMEDSESSIONS_*`` key that is none of ours warns.
        """
        if EXTENSION_KEY in app.extensions:
            raise RuntimeError(
                "flask-namedsessions is already set up on this app; call init_app only once per app"
            )
        db = db if db is not None else self._db
        for key, value in DEFAULTS.items():
            app.config.setdefault(key, value)
        warn_unknown_keys(app.config)
        settings = build_settings(app.config, with_db=db is not None)
        if db is not None and settings.database_uri is None:
            tables, engine = _app_database(app, db, settings)
            watchdog = None
            table_help = (
                "create the session tables with 'flask db upgrade' (Flask-Migrate)"
                " or 'flask namedsessions create-tables'"
            )
        else:
            tables = define_tables(None, settings.table_prefix)
            engine = own_engine(app.instance_path, settings)
            watchdog = for_engine(engine, settings.statement_timeout)
            table_help = "create the session tables with 'flask namedsessions create-tables'"
        engines = Engines(lambda: engine, watchdog)
        store_options: dict[str, t.Any] = {
            "create_tables": settings.create_tables,
            "table_help": table_help,
            "retry": settings.retry,
        }
        store: Store
        if settings.cache_url is None:
            store = Store(tables, engines, **store_options)
        else:
            store = CachedStore(
                tables, engines, settings=settings, clock=lambda: state.clock, **store_options
            )
        state = State(settings=settings, store=store)
        interface = None
        if settings.flask_session is not None:

            def begin() -> context.RequestSessions:
                return context.begin(state.settings, state.store, state.clock)

            interface = NamedSessionInterface(begin, flask_session_settings(app, settings), _close)
        app.extensions[EXTENSION_KEY] = state
        app.after_request(_after_request)
        got_request_exception.connect(_on_exception, app)
        app.jinja_env.globals.update(template_globals())
        app.cli.add_command(command_group(get_state))
        if interface is not None:
            app.session_interface = interface
            logins.connect(app, regenerate=settings.regenerate_on_login)


def _app_database(app: Flask, db: SQLAlchemy, settings: Settings) -> tuple[Tables, sa.Engine]:
    """The tables in ``db``'s metadata and the engine they live on, which
    the store may share with the application only if it gets connections
    of its own."""
    bind_key = settings.bind_key
    if app.extensions.get("sqlalchemy") is not db:
        raise RuntimeError(
            "the Flask-SQLAlchemy db given to flask-namedsessions is not set up on"
            " this app: call db.init_app(app) before init_app of flask-namedsessions"
        )
    metadata = db.metadatas.get(bind_key)
    if metadata is None:
        raise RuntimeError(
            f"NAMEDSESSIONS_BIND_KEY is {bind_key!r}, but the Flask-SQLAlchemy"
            " instance has no such bind: add it to SQLALCHEMY_BINDS and call"
            " db.init_app(app) before init_app of flask-namedsessions"
        )
    with app.app_context():
        engine = db.engines[bind_key]
    source = "SQLALCHEMY_DATABASE_URI" if bind_key is None else f"SQLALCHEMY_BINDS[{bind_key!r}]"
    check_not_shared(engine, source)
    return define_tables(metadata, settings.table_prefix), engine


def _on_exception(sender: Flask, exception: BaseException, **extra: t.Any) -> None:
    sessions = context.current()
    if sessions is not None:
        sessions.failed()


def _after_request(response: Response) -> Response:
    """Save the started sessions and send their IDs, unless the session
    interface does it once every ``after_request`` hook has run."""
    sessions = context.current()
    if sessions is None:
        guard_url(response, request, get_state().settings)
        return response
    if sessions.closed_by_interface:
        return response
    return _close(sessions, response)


def _close(sessions: context.RequestSessions, response: Response) -> Response:
    """Save ``sessions`` and send their IDs on ``response`` (once); now and
    then, delete a batch of expired sessions once the response has gone."""
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
            Cleanup(state.store, state.clock, batch_size, 0.0).run(limit=1)
        except NamedSessionsError as exc:
            logger.warning("deleting expired sessions failed: %s", exc)

    return run
