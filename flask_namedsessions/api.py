"""The request API: ``session_start()`` and friends.

Each function checks its arguments, then hands over to the request's sessions
(:mod:`.context`). Names follow Lasso's ``session_*`` methods in Python spelling.
"""

from __future__ import annotations

from . import context
from . import ids
from .cleanup import Cleanup
from .extension import get_state
from .rules import DOMAIN_RULE
from .rules import MAX_MINUTES
from .rules import PATH_RULE
from .rules import valid_domain
from .rules import valid_path
from .rules import valid_time
from .session import NamedSession
from .session_interface import named_flask_session
from .tracking import chosen_mode

__all__ = [
    "get_session",
    "has_session",
    "request_sessions",
    "session_abort",
    "session_add_var",
    "session_delete_expired",
    "session_end",
    "session_id",
    "session_remove_var",
    "session_result",
    "session_start",
]


def request_sessions() -> context.RequestSessions:
    """This request's sessions, created on first use."""
    found = context.current()
    if found is None:
        state = get_state()
        found = context.begin(state.settings, state.store, state.clock)
    return found


def _minutes(what: str, value: object, name: str) -> float | None:
    if value is None:
        return None
    if not valid_time(value):
        raise ValueError(
            f"{what} for session {name!r} must be a positive number of minutes"
            f" up to {MAX_MINUTES:,}"
        )
    return float(value)  # type: ignore[arg-type]


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
    :raises ValueError: for a malformed name, ``id``, time, ``domain`` or
        ``path``, or tracking arguments that contradict each other
        (``use_cookie=True, use_none=True``).

    Calling it again for the same name in one request returns the same
    object; a new ``expires`` still applies.

    .. versionadded:: 0.1
    """
    ids.check_name(name)
    sessions = request_sessions()
    settings = sessions.settings
    if name == settings.flask_session:
        raise ValueError(
            f"session {name!r} serves flask.session (NAMEDSESSIONS_FLASK_SESSION):"
            f" use flask.session, or get_session({name!r}) for its NamedSession"
        )
    expires = _minutes("expires", expires, name)
    cookie_expires = _minutes("cookie_expires", cookie_expires, name)
    if id is not None and not ids.is_valid_id(id):
        raise ValueError(
            f"invalid id= for session {name!r}: use 1 to 128 characters from A-Z a-z 0-9 - _ . ~"
        )
    if domain is not None and not valid_domain(domain):
        raise ValueError(f"invalid domain= for session {name!r}: use {DOMAIN_RULE}")
    if path is not None and not valid_path(path):
        raise ValueError(f"invalid path= for session {name!r}: use {PATH_RULE}")
    mode, with_cookie = chosen_mode(
        settings,
        name,
        use_cookie=use_cookie,
        use_link=use_link,
        use_none=use_none,
        use_auto=use_auto,
    )
    cookie = settings.cookie_options(
        domain=domain, path=path, secure=secure, httponly=httponly, samesite=samesite
    )
    return sessions.open(
        name,
        explicit=id,
        expires=expires,
        mode=mode,
        with_cookie=with_cookie,
        cookie=cookie,
        cookie_expires=cookie_expires,
        rotate=rotate,
    )


def get_session(name: str) -> NamedSession:
    """The session ``name`` started in this request; the session behind
    ``flask.session`` (``NAMEDSESSIONS_FLASK_SESSION``) is opened on demand.

    :raises SessionNotStarted: if it was not started.
    """
    ids.check_name(name)
    sessions = request_sessions()
    if name == sessions.settings.flask_session and name not in sessions.sessions:
        return named_flask_session()
    return sessions.get(name)


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
    get_session(name)
    request_sessions().end(name, secure=secure, httponly=httponly)


def session_abort(name: str) -> None:
    """Do not save session ``name`` at the end of this request."""
    get_session(name).abort()


def session_delete_expired() -> int:
    """Delete every expired session now; return how many were deleted (0
    when another cleanup holds the cleanup lease: that one deletes them)."""
    state = get_state()
    settings = state.settings
    cleanup = Cleanup(state.store, state.clock, settings.gc_batch_size, settings.cleanup_pause)
    return cleanup.run() or 0


def has_session(name: str) -> bool:
    """Does this request carry a valid, unexpired session ``name``?

    It creates nothing and sets no cookie; a later ``session_start`` reuses
    what it loaded. The request parameter counts as for a session in the
    default tracking mode: never for ``"cookie"``, and for the others only
    on a request that a page of this site started.
    """
    ids.check_name(name)
    return request_sessions().has(name)
