"""What the store reads and writes: a session row as loaded, what one
session's save writes and how that save went, a user's session as listed, and
a session as removed."""

from __future__ import annotations

import dataclasses
import datetime
import typing as t

__all__ = ["RemovedSession", "SaveOutcome", "SavePlan", "SessionInfo", "StoredSession"]


@dataclasses.dataclass
class StoredSession:
    """A session row as loaded, with its variables' stored text."""

    row_id: str
    key: str = dataclasses.field(repr=False)
    #: found by the key it was rotated away from, not by its current one
    by_old_key: bool
    old_key_until: int | None
    successor: str | None = dataclasses.field(repr=False)
    created_at: int
    touched_at: int
    expires_at: int
    expires_min: float
    values: dict[str, str]
    #: the user the session is bound to, as stored
    user_key: str | None = None

    @classmethod
    def from_row(cls, row: t.Any, *, by_old_key: bool) -> StoredSession:
        """The session of a row of :attr:`.Statements.columns`, without values."""
        return cls(
            row_id=row.row_id,
            key=row.key,
            by_old_key=by_old_key,
            old_key_until=row.old_key_until,
            successor=row.successor,
            created_at=row.created_at,
            touched_at=row.touched_at,
            expires_at=row.expires_at,
            expires_min=row.expires_min,
            values={},
            user_key=row.user_key,
        )


@dataclasses.dataclass
class SavePlan:
    """What one session's save writes: built by :mod:`.saving`, run by the store."""

    name: str
    row_id: str
    #: the time of the save
    now: int = 0
    #: the lookup key this request holds the session by: every write applies
    #: only while that key still opens the row (its current key, or the key
    #: a rotation replaced, within the grace)
    guard_key: str = dataclasses.field(default="", repr=False)
    create: dict[str, t.Any] | None = dataclasses.field(default=None, repr=False)
    #: an expired session to delete, if it still is expired: its expiry at or
    #: before ``expired_by``, or its creation at or before ``born_by`` (the
    #: absolute timeout)
    replaces_row: str | None = None
    expired_by: int = 0
    born_by: int | None = None
    update: dict[str, t.Any] | None = dataclasses.field(default=None, repr=False)
    #: a rotation: the UPDATE applies only while the row's current key is
    #: ``guard_key`` itself; the ID rotated from opens the successor another
    #: rotation may have left
    rotation: bool = False
    #: with the update, drop a rotation's seal whose grace ended by then (a
    #: rotation saved meanwhile by another request keeps its own)
    clear_seal_by: int | None = None
    rotated_from: str | None = dataclasses.field(default=None, repr=False)
    upserts: dict[str, str] = dataclasses.field(default_factory=dict)
    removals: list[str] = dataclasses.field(default_factory=list)

    def is_empty(self) -> bool:
        return not (
            self.create or self.replaces_row or self.update or self.upserts or self.removals
        )

    def is_one_statement(self) -> bool:
        """Is this plan one write of one row set, atomic without a transaction?"""
        if self.create is not None or self.replaces_row is not None:
            return False
        return (self.update is not None) + len(self.upserts) + bool(self.removals) == 1


@dataclasses.dataclass(frozen=True)
class SaveOutcome:
    """How a save went for one session: whether its row still exists, and if
    another request rotated it first, the ID that request gave it."""

    gone: bool = False
    new_id: str | None = dataclasses.field(default=None, repr=False)


def _utc(ms: int) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc)


@dataclasses.dataclass(frozen=True)
class SessionInfo:
    """One live session of a user, as :func:`~flask_namedsessions.user_sessions`
    lists it. Read-only: it describes the session, it does not open it.

    .. versionadded:: 0.1
    """

    #: identifies the session for :func:`~flask_namedsessions.end_user_session`;
    #: random, not derived from the session ID, and it never loads the session
    handle: str
    #: the session's name
    name: str
    #: when the session was created (UTC)
    created_at: datetime.datetime
    #: when a request last moved its expiry forward (UTC), as fine as
    #: :data:`NAMEDSESSIONS_TOUCH_INTERVAL`
    last_seen: datetime.datetime
    #: when it expires if nobody uses it (UTC)
    expires_at: datetime.datetime
    #: the browser's ``User-Agent``, if :data:`NAMEDSESSIONS_RECORD_USER_AGENT`
    user_agent: str | None
    #: the address, as :data:`NAMEDSESSIONS_RECORD_IP` records it
    ip: str | None
    #: the session of the request being served
    current: bool = False

    @classmethod
    def from_row(cls, row: t.Any, *, absolute_ms: int | None) -> SessionInfo:
        """A listed row; with an absolute timeout (in milliseconds), a session
        expires by then at the latest."""
        expires_at = row.expires_at
        if absolute_ms is not None:
            expires_at = min(expires_at, row.created_at + absolute_ms)
        return cls(
            handle=row.row_id,
            name=row.name,
            created_at=_utc(row.created_at),
            last_seen=_utc(row.touched_at),
            expires_at=_utc(expires_at),
            user_agent=row.user_agent,
            ip=row.ip,
        )


@dataclasses.dataclass(frozen=True)
class RemovedSession:
    """A session row that a revocation deleted: its handle and the lookup keys
    that opened it (so that a cache can drop them too), and whether it was
    still live."""

    row_id: str
    key: str = dataclasses.field(repr=False)
    old_key: str | None = dataclasses.field(repr=False)
    live: bool
