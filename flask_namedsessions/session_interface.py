"""``flask.session`` on a named session: Flask's session interface, and the
session object it opens on every request.

Flask opens the session when the request context is pushed, before anything
has asked for it, so the object opens its named session only on first use: a
request that never touches ``flask.session`` sends no SQL. Its keys are the
named session's variables, kept in a dict of their own rather than in
``flask.g``, and saved by :meth:`NamedSessionInterface.save_session`, after
every ``after_request`` hook has run.
"""

from __future__ import annotations

import dataclasses
import re
import typing as t

from flask import Flask
from flask import session as flask_session
from flask.sessions import SessionInterface
from flask.sessions import SessionMixin

from . import context
from .exceptions import NamedSessionsError
from .rules import samesite as config_samesite
from .rules import valid_time
from .tracking import presented_ids

if t.TYPE_CHECKING:
    from flask import Request
    from flask import Response

    from .config import CookieOptions
    from .config import Settings
    from .config import TrackingMode
    from .session import NamedSession

__all__ = [
    "PERMANENT",
    "FlaskSessionSettings",
    "NamedSessionInterface",
    "ServerSession",
    "flask_session_settings",
    "named_flask_session",
]

#: Where ``session.permanent`` is kept: Flask's own key for it, which is
#: therefore not one of the session's keys.
PERMANENT = "_permanent"

_ATTRIBUTE_RE = re.compile(r"[^;,\s\x00-\x1f\x7f]+\Z")


@dataclasses.dataclass(frozen=True)
class FlaskSessionSettings:
    """Flask's ``SESSION_*`` configuration as ``flask.session`` uses it,
    checked once by ``init_app``."""

    #: the named session that serves ``flask.session``
    name: str
    mode: TrackingMode
    cookie: CookieOptions
    #: ``PERMANENT_SESSION_LIFETIME`` in minutes: a permanent session's idle
    #: timeout and its cookie's lifetime
    lifetime: float
    #: ``SESSION_REFRESH_EACH_REQUEST``: a permanent session's cookie goes
    #: out again on each request that reads the session
    refresh: bool
    #: a non-permanent session's idle timeout (``NAMEDSESSIONS_EXPIRES``)
    expires: float


def _fail(key: str, expected: str, value: object) -> t.NoReturn:
    raise ValueError(f"{key} must be {expected}, got {value!r}")


def _flag(config: t.Mapping[str, t.Any], key: str, default: bool) -> bool:
    value = config.get(key, default)
    if not isinstance(value, bool):
        _fail(key, "True or False", value)
    return value


def _attribute(config: t.Mapping[str, t.Any], key: str, value: t.Any) -> t.Any:
    """A cookie attribute's text, refused if a cookie cannot hold it."""
    if value is not None and (not isinstance(value, str) or not _ATTRIBUTE_RE.match(value)):
        _fail(key, "a cookie attribute without ';', ',', spaces or control characters", value)
    return value


def flask_session_settings(app: Flask, settings: Settings) -> FlaskSessionSettings:
    """Read Flask's ``SESSION_COOKIE_*``, ``PERMANENT_SESSION_LIFETIME`` and
    ``SESSION_REFRESH_EACH_REQUEST`` once, naming the key of a bad value."""
    config = app.config
    name = settings.flask_session
    if name is None:  # pragma: no cover - init_app asks only when it is set
        raise ValueError("NAMEDSESSIONS_FLASK_SESSION is not set")
    samesite = config_samesite("SESSION_COOKIE_SAMESITE", config.get("SESSION_COOKIE_SAMESITE"))
    if samesite is None:
        samesite = settings.cookie.samesite
    path = config.get("SESSION_COOKIE_PATH") or config.get("APPLICATION_ROOT") or "/"
    options = dataclasses.replace(
        settings.cookie,
        domain=_attribute(config, "SESSION_COOKIE_DOMAIN", config.get("SESSION_COOKIE_DOMAIN")),
        path=_attribute(config, "SESSION_COOKIE_PATH", path),
        httponly=_flag(config, "SESSION_COOKIE_HTTPONLY", True),
        # SameSite=None without Secure is refused by browsers.
        secure=_flag(config, "SESSION_COOKIE_SECURE", False) or samesite == "None",
        samesite=samesite,
        partitioned=_flag(config, "SESSION_COOKIE_PARTITIONED", False),
    )
    lifetime = app.permanent_session_lifetime.total_seconds() / 60
    if not valid_time(lifetime):
        _fail(
            "PERMANENT_SESSION_LIFETIME",
            "a positive duration (a timedelta or seconds)",
            config.get("PERMANENT_SESSION_LIFETIME"),
        )
    return FlaskSessionSettings(
        name=name,
        mode=settings.flask_session_tracking,
        cookie=settings.enforce(options, settings.flask_cookie_name),
        lifetime=lifetime,
        refresh=_flag(config, "SESSION_REFRESH_EACH_REQUEST", True),
        expires=settings.expires,
    )


class ServerSession(SessionMixin):
    """``flask.session``, kept server-side in one named session.

    Its keys are the named session's variables: each a row, saved only when
    its value changed, in place or not. ``permanent`` is not a key: it picks
    ``PERMANENT_SESSION_LIFETIME`` over ``NAMEDSESSIONS_EXPIRES`` as the idle
    timeout and gives the cookie that lifetime. ``modified`` says the mapping
    was changed (or the application says so); ``accessed`` is set by Flask.
    A session that holds nothing at the end of the request stores nothing
    and sends no cookie; one that held something is ended.

    .. versionadded:: 0.1
    """

    #: set by the request context whenever ``flask.session`` is used
    accessed = False

    def __init__(self, sessions: context.RequestSessions, config: FlaskSessionSettings) -> None:
        self._sessions = sessions
        self._config = config
        self._named: NamedSession | None = None
        self._values: dict[str, t.Any] = {}
        self.modified = False

    def __repr__(self) -> str:
        if self._named is None:
            return "<ServerSession not opened>"
        return f"<ServerSession {self._config.name!r} keys={sorted(self)}>"

    def _open(self) -> NamedSession:
        """The named session, loaded on first use (at most one SELECT)."""
        named = self._named
        if named is None:
            config = self._config
            named = self._sessions.open(
                config.name,
                explicit=None,
                expires=None,
                mode=config.mode,
                with_cookie=False,
                cookie=config.cookie,
                cookie_expires=None,
                rotate=False,
                values=self._values,
            )
            self._named = named
            self._sessions.before_save(self._finish)
        return named

    # -- Flask's session attributes ---------------------------------------------

    @property
    def permanent(self) -> bool:
        """Does the session last ``PERMANENT_SESSION_LIFETIME`` of idleness,
        with a cookie that lives as long, rather than ``NAMEDSESSIONS_EXPIRES``
        with a cookie for the browser session?"""
        return PERMANENT in self._open()

    @permanent.setter
    def permanent(self, value: bool) -> None:
        named = self._open()
        if bool(value) != (PERMANENT in named):
            if value:
                named[PERMANENT] = True
            else:
                del named[PERMANENT]
            self.modified = True

    @property
    def new(self) -> bool:  # type: ignore[override]
        """No live session was loaded: this one is new."""
        return self._open().result in ("new", "expire")

    # -- the mapping -------------------------------------------------------------

    def __getitem__(self, key: str) -> t.Any:
        if key == PERMANENT:
            raise KeyError(key)
        return self._open()[key]

    def get(self, key: str, default: t.Any = None) -> t.Any:
        if key == PERMANENT:
            return default
        return self._open().get(key, default)

    def __setitem__(self, key: str, value: t.Any) -> None:
        if key == PERMANENT:
            self.permanent = value
            return
        self._open()[key] = value
        self.modified = True

    def __delitem__(self, key: str) -> None:
        named = self._open()
        if key == PERMANENT or key not in named:
            raise KeyError(key)
        del named[key]
        self.modified = True

    def __contains__(self, key: object) -> bool:
        return key != PERMANENT and key in self._open()

    def __iter__(self) -> t.Iterator[str]:
        return (key for key in self._open() if key != PERMANENT)

    def __len__(self) -> int:
        named = self._open()
        return len(named) - (PERMANENT in named)

    def clear(self) -> None:
        """Forget every key and ``permanent``; a stored session gets a new
        ID at once and, unless something is set again in this request, is
        ended and its cookie expired."""
        named = self._open()
        for key in list(named):
            del named[key]
        if named.result in ("load", "rotate"):
            named.regenerate_id()
        self.modified = True

    # -- the end of the request --------------------------------------------------

    def _carry_on(self) -> None:
        """Open the session at the end of a request that brought its ID in a
        link (one SELECT) though the view never touched it, so that the
        page's links and forms carry it on: a visitor without cookies would
        lose it on any page that does not use ``flask.session``."""
        sessions = self._sessions
        config = self._config
        if self._named is not None or config.mode == "cookie":
            return
        if sessions.closing is not context.Closing.OPEN:
            return
        offered = presented_ids(sessions.request, sessions.settings, config.name, config.mode)
        if offered.param is not None:
            self._open()

    def _finish(self) -> None:
        """Decide, before the save, what the session keeps: nothing, and it
        is not stored (or ended, if it was); else its timeout and cookie
        follow ``permanent``."""
        named = self._named
        if named is None or named.ended or named.aborted:
            return
        if not len(self):
            # A stored session is ended; so is a new one that was cleared
            # while the browser sent a cookie for it, which then expires.
            carried = self._sessions.settings.flask_cookie_name in self._sessions.request.cookies
            if named.result != "new" or (self.modified and carried):
                named.end()
            else:
                named.abort()
            return
        config = self._config
        if PERMANENT in named:
            named._set_lifetime(config.lifetime, config.lifetime, self.modified or config.refresh)
        else:
            named._set_lifetime(config.expires, None, self.modified)


class NamedSessionInterface(SessionInterface):
    """Serves ``flask.session`` from the named session
    ``NAMEDSESSIONS_FLASK_SESSION``; installed by ``init_app``.

    :param begin: this request's sessions, created on first use.
    :param config: Flask's session settings, checked.
    :param close: saves and sends this request's sessions on the response,
        returning the response to send (the app's answer to a failed save).
    """

    def __init__(
        self,
        begin: t.Callable[[], context.RequestSessions],
        config: FlaskSessionSettings,
        close: t.Callable[[context.RequestSessions, Response], Response],
    ) -> None:
        self._begin = begin
        self._config = config
        self._close = close

    def open_session(self, app: Flask, request: Request) -> ServerSession:
        """A session that loads nothing until it is used."""
        sessions = self._begin()
        sessions.closed_by_interface = True
        return ServerSession(sessions, self._config)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        """Save this request's sessions, ``flask.session``'s among them, now
        that every ``after_request`` hook has run, and send their IDs."""
        if session.accessed:
            response.vary.add("Cookie")
        if not isinstance(session, ServerSession):
            return
        session._carry_on()
        sent = self._close(session._sessions, response)
        if sent is not response:
            _take_over(response, sent)


def _take_over(response: Response, other: Response) -> None:
    """Make ``response`` the app's answer to a failed save: Flask sends the
    object it handed to ``save_session``, whatever that returns."""
    response.status = other.status
    response.headers = other.headers
    response.response = other.response
    response.direct_passthrough = other.direct_passthrough


def named_flask_session() -> NamedSession:
    """The :class:`~flask_namedsessions.NamedSession` behind ``flask.session``
    in this request, opened (loaded) if it was not yet."""
    current = t.cast(t.Any, flask_session)._get_current_object()
    if not isinstance(current, ServerSession):
        raise NamedSessionsError(
            "flask.session is not served by flask-namedsessions in this app:"
            " set NAMEDSESSIONS_FLASK_SESSION and keep the session interface init_app installs"
        )
    return current._open()
