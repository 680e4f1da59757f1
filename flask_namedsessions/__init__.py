"""Named, per-visitor, server-side sessions for Flask, stored in SQL."""

from __future__ import annotations

from .api import get_session
from .api import has_session
from .api import session_abort
from .api import session_add_var
from .api import session_delete_expired
from .api import session_end
from .api import session_id
from .api import session_remove_var
from .api import session_result
from .api import session_start
from .exceptions import NamedSessionsError
from .exceptions import SessionNotStarted
from .exceptions import SessionStoreError
from .exceptions import SessionValueError
from .extension import NamedSessions
from .rows import SessionInfo
from .session import NamedSession
from .templating import session_hidden_input
from .templating import session_url
from .users import end_user_session
from .users import end_user_sessions
from .users import user_sessions

__all__ = [
    "NamedSession",
    "NamedSessions",
    "NamedSessionsError",
    "SessionInfo",
    "SessionNotStarted",
    "SessionStoreError",
    "SessionValueError",
    "end_user_session",
    "end_user_sessions",
    "get_session",
    "has_session",
    "session_abort",
    "session_add_var",
    "session_delete_expired",
    "session_end",
    "session_hidden_input",
    "session_id",
    "session_remove_var",
    "session_result",
    "session_start",
    "session_url",
    "user_sessions",
]
