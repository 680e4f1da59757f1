"""What a save writes: a :class:`~.store.SavePlan` from a session, the
settings and the time.

Values are serialized here, before anything reaches the database, so that a
value that cannot be stored raises while nothing of the request's save is
written yet.
"""

from __future__ import annotations

import typing as t

from . import ids
from . import serialize
from .clock import minutes_ms
from .rows import SavePlan

if t.TYPE_CHECKING:
    from .config import Settings
    from .session import NamedSession
    from .session import Record

__all__ = ["plans"]


def plans(sessions: t.Iterable[NamedSession], settings: Settings, now: int) -> list[SavePlan]:
    """Everything to write for ``sessions``; sessions with nothing to write
    are left out."""
    found = []
    for session in sessions:
        if session.ended:
            continue
        if session.aborted:
            record = session._record
            if record.replaces_row is not None:
                # Not saved, but the expired session it replaced goes.
                found.append(
                    SavePlan(
                        name=session.name,
                        row_id=record.row_id,
                        now=now,
                        **_replacing(record, settings, now),
                    )
                )
            continue
        plan = _plan(session, settings, now)
        if not plan.is_empty():
            found.append(plan)
    return found


def _plan(session: NamedSession, settings: Settings, now: int) -> SavePlan:
    record = session._record
    stored = record.stored
    plan = SavePlan(
        name=session.name,
        row_id=record.row_id,
        now=now,
        guard_key=record.key if stored is None else stored.key,
        **_replacing(record, settings, now),
    )
    if stored is None and not session._kept(settings.save_empty):
        return plan  # nothing to keep: no row, and no ID goes out
    max_bytes = settings.max_value_bytes
    loaded = record.loaded
    snapshots = record.snapshots
    upserts = {}
    for var, stored_text in record.vars.items():
        value = record.read(var)
        if stored_text is not None:
            # Unchanged without encoding: the very immutable object loaded,
            # or a container equal to its copy as loaded, type for type.
            if var in loaded and loaded[var] is value:
                continue
            if var in snapshots and _same(value, snapshots[var]):
                continue
        text = serialize.dumps(value, session=session.name, var=var, max_bytes=max_bytes)
        if text != stored_text:
            upserts[var] = text
    plan.upserts = dict(sorted(upserts.items()))
    plan.removals = sorted(record.removed)
    grace = int(settings.rotate_grace * 1000)
    if stored is None:
        plan.create = {
            "row_id": record.row_id,
            "name": session.name,
            "key": record.key,
            "created_at": now,
            **_times(session, settings, now),
            "user_key": record.user,
            "user_agent": None,
            "ip": None,
            **record.device,
        }
    elif record.regenerated or _touch_due(session, settings, now):
        plan.update = _times(session, settings, now)
        if record.regenerated:
            plan.update["key"] = record.key
            if record.rotated_from is not None:
                # A rotation applies only to the key it saw: of two at
                # once, the first wins and the other follows its successor.
                plan.rotation = True
                plan.rotated_from = record.rotated_from
                plan.update["old_key"] = stored.key
                plan.update["old_key_until"] = now + grace
                plan.update["successor"] = ids.seal_successor(
                    session.name, record.row_id, record.rotated_from, session.id
                )
            else:
                # regenerate_id() always wins, so that no ID handed out
                # before it, rotated ones included, still opens the session.
                plan.update.update(old_key=None, old_key_until=None, successor=None)
        elif now >= stored.touched_at + grace:
            # A rotation's grace is over (a rotation touches): its sealed
            # successor goes, so a leaked table and an old ID give nothing.
            plan.clear_seal_by = now
    if stored is not None and record.user != stored.user_key:
        # Bound to another user (or unbound): the device details are
        # recorded anew for the user it is bound to.
        bound = {"user_key": record.user, **(record.device if record.user is not None else {})}
        plan.update = {**(plan.update or {}), **bound}
    return plan


def _same(value: t.Any, snapshot: t.Any) -> bool:
    try:
        return serialize.same(value, snapshot)
    except RecursionError:
        return False  # nested too deeply: encoding says what is wrong


def _replacing(record: Record, settings: Settings, now: int) -> dict[str, t.Any]:
    """The expired session a save replaces, with what proves it still
    expired (see :class:`~.store.SavePlan`)."""
    if record.replaces_row is None:
        return {}
    absolute = settings.absolute_timeout
    born_by = None if absolute is None else now - minutes_ms(absolute)
    return {"replaces_row": record.replaces_row, "expired_by": now, "born_by": born_by}


def _times(session: NamedSession, settings: Settings, now: int) -> dict[str, t.Any]:
    expires = session.expires
    expires_at = now + minutes_ms(expires)
    absolute = settings.absolute_timeout
    stored = session._record.stored
    created = stored.created_at if stored is not None else now
    if absolute is not None:
        expires_at = min(expires_at, created + minutes_ms(absolute))
    return {"touched_at": now, "expires_at": expires_at, "expires_min": expires}


def _touch_due(session: NamedSession, settings: Settings, now: int) -> bool:
    """Is the expiry due to move forward: at most once per touch interval,
    at least once per tenth of the session's timeout?"""
    stored = session._record.stored
    if stored is None:
        return False
    if stored.expires_min != session.expires:
        return True
    interval = min(settings.touch_interval * 1000, stored.expires_min * 6000)
    return now - stored.touched_at >= interval
