"""Sessions of a user: list them, end one, end them all.

Usable in any app context: a view (a "your devices" page, a password change),
a CLI command, a background job. A session is found here only once a request
bound it with :meth:`~flask_namedsessions.NamedSession.bind_user`. Inside a
request, the sessions that request started are its ``current`` ones: they are
marked in listings, can be kept when ending the others, and when they are
ended here they save nothing and their cookies are expired.
"""

from __future__ import annotations

import dataclasses
import re

from flask import has_request_context

from . import context
from . import ids
from .binding import user_key
from .extension import get_state
from .models import ROW_ID_LENGTH
from .rows import RemovedSession
from .rows import SessionInfo
from .session_interface import named_flask_session

__all__ = ["end_user_session", "end_user_sessions", "user_sessions"]

_HANDLE_RE = re.compile(rf"[0-9a-f]{{{ROW_ID_LENGTH}}}\Z")


def _current() -> context.RequestSessions | None:
    return context.current() if has_request_context() else None


def _started_here() -> frozenset[str]:
    """The handles of the stored sessions this request started, the one
    behind ``flask.session`` included even if the view has not used it yet
    (it is opened for that: one SELECT at most)."""
    sessions = _current()
    if sessions is None:
        return frozenset()
    if sessions.closed_by_interface:
        named_flask_session()
    return sessions.stored_rows()


def _ended(removed: list[RemovedSession]) -> int:
    """Let the request know which of its sessions ended; how many live ones did."""
    sessions = _current()
    if sessions is not None:
        sessions.ended_elsewhere({r.row_id for r in removed})
    return sum(r.live for r in removed)


def user_sessions(user: str | int, *, name: str | None = None) -> list[SessionInfo]:
    """The live sessions bound to ``user``, most recently seen first.

    One SELECT, by an index. In a request, the sessions it started are marked
    ``current``.

    :param user: the user key given to
        :meth:`~flask_namedsessions.NamedSession.bind_user`.
    :param name: only the sessions of this name.

    .. versionadded:: 0.1
    """
    key = user_key(user, "cannot list the sessions of a user")
    if name is not None:
        ids.check_name(name)
    state = get_state()
    found = state.store.user_sessions(key, name, state.clock(), state.settings.absolute_timeout)
    current = _started_here()
    if not current:
        return found
    return [dataclasses.replace(info, current=info.handle in current) for info in found]


def end_user_sessions(
    user: str | int, *, name: str | None = None, keep_current: bool = False
) -> int:
    """End every session bound to ``user`` ("log out everywhere"), and
    return how many live sessions ended.

    One DELETE (with the cache, a SELECT of their keys before it). Ended
    sessions open for nobody afterwards, not within a rotation's grace
    either, and a request still in flight with one of them saves nothing.
    Expired sessions of the user are deleted too (they are not counted), so
    nothing of the user is left.

    :param name: only the sessions of this name.
    :param keep_current: keep the sessions that the request being served
        started ("log out everywhere else"). Outside a request no session is
        current, and all of them end.

    .. versionadded:: 0.1
    """
    key = user_key(user, "cannot end the sessions of a user")
    if name is not None:
        ids.check_name(name)
    state = get_state()
    keep = _started_here() if keep_current else frozenset()
    removed = state.store.end_user_sessions(
        key, name=name, keep=keep, now=state.clock(), absolute=state.settings.absolute_timeout
    )
    return _ended(removed)


def end_user_session(user: str | int, handle: str) -> bool:
    """End the one session ``handle`` (from :attr:`SessionInfo.handle`) if it
    is bound to ``user``; return whether a live session ended.

    A handle that a visitor sent may be anything: one that is malformed,
    unknown or another user's ends nothing and returns ``False``.

    .. versionadded:: 0.1
    """
    key = user_key(user, "cannot end a session of a user")
    if not isinstance(handle, str) or _HANDLE_RE.match(handle) is None:
        return False
    state = get_state()
    removed = state.store.end_user_sessions(
        key, handle=handle, now=state.clock(), absolute=state.settings.absolute_timeout
    )
    return _ended(removed) == 1
