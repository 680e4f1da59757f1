"""Starting sessions during a request and saving them at its end.

One :class:`RequestSessions` lives in ``g._namedsessions`` for each request. It
decides each session's result (new, load, expire, rotate), restores variables
into :data:`flask.g`, and at the end turns what changed into one transaction.
"""

from __future__ import annotations

import dataclasses
import secrets
import time
import typing as t

from flask import g

from . import ids
from . import serialize
from .session import NamedSession
from .store import SavePlan
from .store import StoredSession

if t.TYPE_CHECKING:
    from flask import Request

    from .config import Settings
    from .store import Store


def _g() -> t.Any:
    """``flask.g`` itself: one proxy lookup instead of one per variable."""
    return t.cast(t.Any, g)._get_current_object()


#: Types whose values cannot change in place: a variable that still holds the
#: very object loaded from the store still has its stored form.
_IMMUTABLE = frozenset({str, int, float, bool, type(None), bytes})


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclasses.dataclass
class Presented:
    """An ID the request carried, where it came from, and what it loaded."""

    session_id: str = dataclasses.field(repr=False)
    source: str  # "arg", "cookie" or "param"
    stored: StoredSession | None


@dataclasses.dataclass
class Record:
    """What the extension knows of one started session beyond its public face."""

    session: NamedSession
    key: str = dataclasses.field(repr=False)
    sid: str
    cookie: dict[str, t.Any]
    cookie_expires: float | None
    source: str | None
    stored: StoredSession | None = None
    stored_key: str | None = dataclasses.field(default=None, repr=False)
    replaces_sid: str | None = None
    rotated_from: str | None = dataclasses.field(default=None, repr=False)
    regenerated: bool = False
    gone: bool = False
    #: immutable values as loaded; still the same object means unchanged
    loaded: dict[str, t.Any] = dataclasses.field(default_factory=dict)

    @property
    def is_new(self) -> bool:
        return self.stored is None


class RequestSessions:
    """The sessions of one request."""

    def __init__(self, settings: Settings, store: Store, request: Request) -> None:
        self.settings = settings
        #: the request these sessions belong to
        self.request = request
        self.store = store
        self.records: dict[str, Record] = {}
        self.presented: dict[str, Presented | None] = {}
        #: the request failed, or its save did: nothing more is saved
        self.failed = False
        #: the save ran (or was skipped) once; a second pass only sends IDs
        self.save_tried = False
        #: the save failed: no new or rotated ID may reach the visitor
        self.save_failed = False
        #: the IDs were sent on a response; nothing more to do
        self.finished = False
        #: a template helper wrote an ID into the response body
        self.id_in_body = False
        #: a :func:`has_session` answer depended on the request's cookies
        self.read_cookies = False

    # -- finding and loading -------------------------------------------------------

    def load_presented(
        self, name: str, explicit: str | None, cookie_id: str | None, param_id: str | None
    ) -> Presented | None:
        """Load what the request (or the developer) presents for ``name``:
        at most one SELECT, none for a malformed or missing ID."""
        candidates: list[tuple[str | None, str]]
        if explicit is not None:
            candidates = [(explicit, "arg")]
        else:
            candidates = [(cookie_id, "cookie"), (param_id, "param")]
        for value, source in candidates:
            if value is None or not ids.is_valid_id(value):
                continue
            # The developer's own ID is used as is: it never finds a session
            # that was rotated away from it, so that lookup is skipped.
            by_old_key = source != "arg"
            cached = self.presented.get(name)
            if cached is not None and cached.session_id == value and cached.source == source:
                return cached
            stored = self.store.load(name, ids.lookup_key(name, value), by_old_key=by_old_key)
            found = Presented(value, source, stored)
            self.presented[name] = found
            return found
        return None

    def is_live(self, presented: Presented | None, now: int) -> bool:
        """Does ``presented`` name a valid, unexpired session?"""
        if presented is None or presented.stored is None:
            return False
        stored = presented.stored
        if stored.by_old_key:
            return (stored.old_key_until or 0) > now and not self._expired(stored, now)
        return not self._expired(stored, now)

    def _expired(self, stored: StoredSession, now: int) -> bool:
        if stored.expires_at <= now:
            return True
        absolute = self.settings.absolute_timeout
        return absolute is not None and stored.created_at + absolute * 60000 <= now

    # -- starting --------------------------------------------------------------------

    def start(
        self,
        name: str,
        presented: Presented | None,
        *,
        explicit: str | None,
        expires: float | None,
        tracking: frozenset[str],
        cookie: dict[str, t.Any],
        cookie_expires: float | None,
        rotate: bool,
    ) -> NamedSession:
        """Create, load or replace the session ``name`` (see SPEC section 4)."""
        now = now_ms()
        stored = presented.stored if presented else None
        result = "new"
        session_id: str | None = None
        if presented is not None and stored is not None and self.is_live(presented, now):
            result = "load"
            if stored.by_old_key:
                # A request still in flight with a rotated ID: carry on under the
                # current one, which only the old ID can unseal.
                session_id = ids.open_successor(
                    name, stored.sid, presented.session_id, stored.successor or ""
                )
                if session_id is None:
                    stored, result = None, "new"
            else:
                session_id = presented.session_id
        elif stored is not None and not stored.by_old_key:
            result = "expire"
        if result == "expire" or result == "new":
            replaced = stored.sid if result == "expire" and stored is not None else None
            stored = None
            session_id = explicit if explicit is not None else ids.new_id()
        else:
            replaced = None
        if session_id is None:  # pragma: no cover - every branch sets it
            session_id = ids.new_id()
        if expires is None:
            expires = stored.expires_min if stored is not None else self.settings.expires
        session = NamedSession(
            self, name, session_id, result, expires, tracking, self.settings.max_vars
        )
        if stored is not None and presented is not None and session_id == presented.session_id:
            key = stored.key  # loaded by this very ID: its key is known
        else:
            key = ids.lookup_key(name, session_id)
        record = Record(
            session=session,
            key=key,
            sid=stored.sid if stored is not None else secrets.token_hex(16),
            cookie=cookie,
            cookie_expires=cookie_expires,
            source=presented.source if presented else None,
            stored=stored,
            stored_key=stored.key if stored is not None else None,
            replaces_sid=replaced,
        )
        self.records[name] = record
        if stored is not None:
            namespace = _g()
            loaded = record.loaded
            for var, text in stored.values.items():
                session._vars[var] = text
                value = serialize.loads(text)
                setattr(namespace, var, value)
                if type(value) in _IMMUTABLE:
                    loaded[var] = value
            if rotate and explicit is None and not stored.by_old_key:
                self._new_id(record, grace=True)
                session.result = "rotate"
        return session

    def _new_id(self, record: Record, *, grace: bool) -> None:
        session = record.session
        old_id = session.id
        session.id = ids.new_id()
        record.key = ids.lookup_key(session.name, session.id)
        if record.stored is not None:
            record.rotated_from = old_id if grace else None
            record.regenerated = True

    def regenerate(self, session: NamedSession) -> None:
        self._new_id(self.records[session.name], grace=False)

    def end(self, session: NamedSession) -> None:
        """Delete the stored session now; its cookie is expired at the end."""
        record = self.records[session.name]
        if record.stored is not None and not session.ended:
            self.store.delete(session.name, record.sid)
        if record.replaces_sid is not None:
            self.store.delete(session.name, record.replaces_sid)
            record.replaces_sid = None
        session.ended = True

    # -- saving ---------------------------------------------------------------------

    def plans(self) -> list[SavePlan]:
        """Everything to write, serialized first so that a bad value raises
        before anything reaches the database."""
        now = now_ms()
        plans = []
        for record in self.records.values():
            session = record.session
            if session.ended:
                continue
            if session.aborted:
                if record.replaces_sid is not None:
                    # Not saved, but the expired session it replaced goes.
                    plans.append(
                        SavePlan(name=session.name, sid=record.sid, **self._replacing(record, now))
                    )
                continue
            plan = self._plan(record, now)
            if not plan.is_empty():
                plans.append(plan)
        return plans

    def _plan(self, record: Record, now: int) -> SavePlan:
        session = record.session
        max_bytes = self.settings.max_value_bytes
        namespace = _g()
        loaded = record.loaded
        upserts = {}
        for var, stored_text in session._vars.items():
            value = getattr(namespace, var, None)
            if stored_text is not None and var in loaded and loaded[var] is value:
                continue
            text = serialize.dumps(value, session=session.name, var=var, max_bytes=max_bytes)
            if text != stored_text:
                upserts[var] = text
        plan = SavePlan(name=session.name, sid=record.sid, **self._replacing(record, now))
        plan.upserts = dict(sorted(upserts.items()))
        plan.removals = sorted(session._removed)
        if record.is_new:
            plan.create = {
                "sid": record.sid,
                "name": session.name,
                "key": record.key,
                "created_at": now,
                **self._times(record, now),
            }
        elif record.regenerated or self._touch_due(record, now):
            plan.update = self._times(record, now)
            if record.regenerated:
                plan.update["key"] = record.key
                if record.rotated_from is not None:
                    # A rotation applies only to the key it saw: of two at
                    # once, the first wins and the other follows its successor.
                    plan.update_guard_key = record.stored_key
                    plan.rotated_from = record.rotated_from
                    plan.update["old_key"] = record.stored_key
                    plan.update["old_key_until"] = now + self._grace_ms
                    plan.update["successor"] = ids.seal_successor(
                        session.name, record.sid, record.rotated_from, session.id
                    )
                else:
                    # regenerate_id() always wins, so that no ID handed out
                    # before it, rotated ones included, still opens the session.
                    plan.update.update(old_key=None, old_key_until=None, successor=None)
            elif record.stored is not None and now >= record.stored.touched_at + self._grace_ms:
                # A rotation's grace is over (a rotation touches): its sealed
                # successor goes, so a leaked table and an old ID give nothing.
                plan.clear_seal_by = now
        return plan

    @property
    def _grace_ms(self) -> int:
        return int(self.settings.rotate_grace * 1000)

    def _replacing(self, record: Record, now: int) -> dict[str, t.Any]:
        """The expired session a save replaces, with what proves it still
        expired (see :class:`SavePlan`)."""
        if record.replaces_sid is None:
            return {}
        absolute = self.settings.absolute_timeout
        born_by = None if absolute is None else now - int(absolute * 60000)
        return {"replaces_sid": record.replaces_sid, "expired_by": now, "born_by": born_by}

    def _times(self, record: Record, now: int) -> dict[str, t.Any]:
        expires = record.session.expires
        expires_at = now + int(expires * 60000)
        absolute = self.settings.absolute_timeout
        created = record.stored.created_at if record.stored is not None else now
        if absolute is not None:
            expires_at = min(expires_at, created + int(absolute * 60000))
        return {"touched_at": now, "expires_at": expires_at, "expires_min": expires}

    def _touch_due(self, record: Record, now: int) -> bool:
        stored = record.stored
        if stored is None:
            return False
        if stored.expires_min != record.session.expires:
            return True
        interval = min(self.settings.touch_interval * 1000, stored.expires_min * 6000)
        return now - stored.touched_at >= interval

    def save(self) -> None:
        """Write every started session in one transaction (nothing if nothing
        changed), then note which sessions vanished meanwhile."""
        plans = self.plans()
        if not plans:
            return
        outcomes = self.store.save(plans)
        for plan in plans:
            record = self.records[plan.name]
            outcome = outcomes[plan.name]
            if outcome.gone:
                record.gone = True
            elif outcome.new_id is not None:
                record.session.id = outcome.new_id
