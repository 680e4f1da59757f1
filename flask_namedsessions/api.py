"""The request API: ``session_start()`` and friends.

Each function checks its arguments, then hands over to the request's
:class:`~flask_namedsessions.lifecycle.RequestSessions`. Names follow Lasso's
``session_*`` methods in Python spelling.
"""

from __future__ import annotations

import typing as t

from flask import g
from flask import Request
from flask import request

from . import ids
from .config import MAX_MINUTES
from .exceptions import SessionNotStarted
from .lifecycle import now_ms
from .lifecycle import RequestSessions
from .session import NamedSession
from .session import STATE_ATTR
from .state import get_state
from .tracking import chosen_mode
from .tracking import cookie_id
from .tracking import cookie_name
from .tracking import cookie_options
from .tracking import enforce_cookie_rules
from .tracking import param_id
from .tracking import reads_param
from .tracking import resolve_modes


def current_sessions() -> RequestSessions | None:
    """This request's sessions, if it started any.

    Flask may reuse an outer app context, so ``g`` can still hold another
    request's state: it is only ours if it names this very request.
    """
    current: RequestSessions | None = g.get(STATE_ATTR)
    if current is None or current.request is not _this_request():
        return None
    return current


def request_sessions() -> RequestSessions:
    """This request's sessions, created on first use."""
    current = current_sessions()
    if current is None:
        state = get_state()
        current = RequestSessions(state.settings, state.store, _this_request())
        setattr(g, STATE_ATTR, current)
    return current


def _this_request() -> Request:
    return t.cast(Request, t.cast(t.Any, request)._get_current_object())


def _request_ids(sessions: RequestSessions, name: str, mode: str) -> tuple[str | None, str | None]:
    """The IDs in the cookie and, where ``mode`` takes one, the parameter;
    the body is read only when there is no cookie."""
    this_request = sessions.request
    from_cookie = cookie_id(this_request, sessions.settings, name)
    if from_cookie is not None or not reads_param(mode, this_request):
        return from_cookie, None
    return None, param_id(this_request, sessions.settings, name)


def _check_minutes(what: str, value: object, name: str) -> float | None:
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not 0 < value <= MAX_MINUTES
    ):
        raise ValueError(
            f"{what} for session {name!r} must be a positive number of minutes"
            f" up to {MAX_MINUTES:,}"
        )
    return float(value)


def session_start(
    name: str,
    *,
    expires: float | None = None,
    id: str | None = None,
    use_cookie: bool | None = None,
    use_link: bool | None = None,
    use_none: bool | None = None,
    use_auto: bool | None = None,
    cookie_expires: float | None = None,
    domain: str | None = None,
    path: str | None = None,
    secure: bool | None = None,
    httponly: bool | None = None,
    samesite: str | None = None,
    rotate: bool = False,
) -> NamedSession:
    """Start the session ``name``: load it if the request carries a live one,
    otherwise create it. Its stored variables are assigned to ``g``.

    :param name: 1 to 64 characters from ``A-Z a-z 0-9 _ . -``.
    :param expires: idle timeout in minutes (fractions allowed); ``None`` keeps
        the session's stored value, or ``NAMEDSESSIONS_EXPIRES`` for a new one.
    :param id: use this ID instead of one from the request (the application
        tracks it); it is created under that ID if unknown.
    :param use_cookie: track by cookie (the default mode).
    :param use_link: track by rewriting links and forms of the HTML response.
    :param use_none: do not propagate the ID at all.
    :param use_auto: cookie always, links too while the request carried no cookie.
    :param cookie_expires: cookie lifetime in minutes; ``None`` makes a
        browser-session cookie.
    :param rotate: give a loaded session a new ID (result ``"rotate"``).

    Calling it again for the same name in one request returns the same
    object; a new ``expires`` still applies.

    .. versionadded:: 0.1
    """
    ids.check_name(name)
    expires = _check_minutes("expires", expires, name)
    cookie_expires = _check_minutes("cookie_expires", cookie_expires, name)
    if id is not None and not ids.is_valid_id(id):
        raise ValueError(
            f"invalid id= for session {name!r}: use 1 to 128 characters from A-Z a-z 0-9 - _ . ~"
        )
    sessions = request_sessions()
    record = sessions.records.get(name)
    if record is not None:
        if expires is not None:
            record.session.expires = expires
        return record.session
    settings = sessions.settings
    mode = chosen_mode(
        settings, use_cookie=use_cookie, use_link=use_link, use_none=use_none, use_auto=use_auto
    )
    carried = cookie_name(settings, name) in sessions.request.cookies
    tracking = resolve_modes(mode, carried_cookie=carried)
    if id is None:
        from_cookie, from_param = _request_ids(sessions, name, mode)
    else:
        from_cookie = from_param = None
    presented = sessions.load_presented(name, id, from_cookie, from_param)
    options = cookie_options(
        settings, domain=domain, path=path, secure=secure, httponly=httponly, samesite=samesite
    )
    return sessions.start(
        name,
        presented,
        explicit=id,
        expires=expires,
        tracking=tracking,
        cookie=options,
        cookie_expires=cookie_expires,
        rotate=rotate,
    )


def get_session(name: str) -> NamedSession:
    """The session ``name`` started in this request.

    :raises SessionNotStarted: if it was not started.
    """
    ids.check_name(name)
    record = request_sessions().records.get(name)
    if record is None:
        raise SessionNotStarted(name)
    return record.session


def session_id(name: str) -> str:
    """The ID of the started session ``name``."""
    return get_session(name).id


def session_result(name: str) -> str:
    """``"new"``, ``"load"``, ``"expire"`` or ``"rotate"``."""
    return get_session(name).result


def session_add_var(name: str, var: str) -> None:
    """Track ``g.<var>`` in session ``name``."""
    get_session(name).add_var(var)


def session_remove_var(name: str, var: str) -> None:
    """Stop tracking ``var``; ``g.<var>`` keeps its value for this request."""
    get_session(name).remove_var(var)


def session_end(name: str, *, secure: bool | None = None, httponly: bool | None = None) -> None:
    """Delete the stored session now and expire its cookie.

    :param secure: override the ``Secure`` attribute the cookie is expired with.
    :param httponly: override the ``HttpOnly`` attribute likewise.
    """
    session = get_session(name)
    sessions = request_sessions()
    record = sessions.records[name]
    if secure is not None:
        record.cookie["secure"] = secure
    if httponly is not None:
        record.cookie["httponly"] = httponly
    enforce_cookie_rules(sessions.settings, record.cookie)
    session.end()


def session_abort(name: str) -> None:
    """Do not save session ``name`` at the end of this request."""
    get_session(name).abort()


def session_delete_expired() -> int:
    """Delete every expired session now; return how many were deleted."""
    state = get_state()
    return sum(state.store.expired_batches(now_ms(), state.settings.gc_batch_size))


def has_session(name: str) -> bool:
    """Does this request carry a valid, unexpired session ``name``?

    It creates nothing and sets no cookie; a later ``session_start`` reuses
    what it loaded. The request parameter counts as for a session in the
    default tracking mode.
    """
    ids.check_name(name)
    sessions = request_sessions()
    record = sessions.records.get(name)
    if record is not None:
        return record.session.result in ("load", "rotate") and not record.session.ended
    sessions.read_cookies = True
    mode = sessions.settings.default_tracking
    presented = sessions.load_presented(name, None, *_request_ids(sessions, name, mode))
    return sessions.is_live(presented, now_ms())
