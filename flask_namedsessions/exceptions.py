"""Exceptions raised by flask-namedsessions.

Every exception derives from :class:`NamedSessionsError`, so an application can
catch them all at once. Messages name the session (and the variable, where one
is involved) but never a session ID.
"""

from __future__ import annotations


class NamedSessionsError(Exception):
    """Base class of every error raised by this extension."""


class SessionNotStarted(NamedSessionsError):
    """A session function was called for a name not started in this request."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"session {name!r} was not started in this request; call session_start({name!r}) first"
        )
        self.name = name


class SessionValueError(NamedSessionsError, ValueError):
    """A tracked variable holds a value that cannot be stored.

    Raised before anything of the request's save is written.
    """

    def __init__(self, message: str, *, session: str, var: str | None = None) -> None:
        super().__init__(message)
        self.session = session
        self.var = var


class SessionStoreError(NamedSessionsError):
    """The database failed; the message says which operation."""
