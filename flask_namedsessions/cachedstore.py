"""The store with a write-through cache in front of it.

Reads ask the cache first and fill it from SQL under a lease; every write
commits to SQL first and then updates the cache, variable by variable, or
removes the entry (see :mod:`.cachescripts` for why that is coherent).
Sessions found by a key a rotation replaced are never cached: only a current
key opens an entry.
"""

from __future__ import annotations

import typing as t

from . import ids
from .cache import CacheWrite
from .cache import SessionCache
from .clock import minutes_ms
from .store import removal_params
from .store import Store

if t.TYPE_CHECKING:
    from .clock import Clock
    from .config import Settings
    from .rows import RemovedSession
    from .rows import SaveOutcome
    from .rows import SavePlan
    from .rows import StoredSession

__all__ = ["CachedStore"]

#: Columns of a save's update that an entry holds, by field.
_META = {"touched_at": "t", "expires_at": "e", "expires_min": "m", "user_key": "u"}


class CachedStore(Store):
    """:class:`.Store`, with :class:`.SessionCache` in front of its reads.

    :param clock: the app's time, to judge cached expiries by.
    """

    def __init__(
        self, *args: t.Any, settings: Settings, clock: t.Callable[[], Clock], **kwargs: t.Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.cache = SessionCache(settings)
        self._absolute = settings.absolute_timeout
        self._clock = clock

    def load(self, name: str, key: str, *, by_old_key: bool = True) -> StoredSession | None:
        now = self._clock()()
        born_after = None if self._absolute is None else now - minutes_ms(self._absolute)
        cached, token = self.cache.read(key, now, born_after)
        if cached is not None:
            return cached
        stored = super().load(name, key, by_old_key=by_old_key)
        if token and stored is not None and not stored.by_old_key and stored.expires_at > now:
            self.cache.fill(key, stored, token)
        return stored

    def save(self, plans: list[SavePlan]) -> dict[str, SaveOutcome]:
        keys = [key for plan in plans for key in _touched_keys(plan)]
        nonces = self.cache.announce(keys)
        outcomes: dict[str, SaveOutcome] = {}
        try:
            outcomes = super().save(plans)
        finally:
            writes = _writes(plans, outcomes, nonces or {})
            if nonces is None:
                self.cache.remember(w.key for w in writes)
            else:
                self.cache.finish(writes)
        return outcomes

    def delete(
        self, name: str, row_id: str, keys: t.Sequence[str] = (), *, guard: str | None = None
    ) -> None:
        """Delete one session now, and the cache entries of ``keys``."""
        nonces = self.cache.announce(list(keys))
        try:
            super().delete(name, row_id, guard=guard)
        finally:
            self._removed(keys, nonces)

    def end_user_sessions(
        self,
        user: str,
        *,
        name: str | None = None,
        handle: str | None = None,
        keep: t.Collection[str] = (),
        **kwargs: t.Any,
    ) -> list[RemovedSession]:
        """Announce the entries of the sessions about to end (one SELECT
        more), then end them: a DELETE whose outcome is unknown, and not
        retried, leaves them unserved rather than cached past their end."""
        params = removal_params(user, name, handle, keep)
        stmt = self.user_sql.removal_keys(name is not None, handle is not None, bool(keep))
        rows = self._read("finding the sessions of a user", lambda c: c.execute(stmt, params).all())
        announced = list(dict.fromkeys(k for row in rows for k in row if k is not None))
        nonces = self.cache.announce(announced)
        removed: list[RemovedSession] = []
        try:
            removed = super().end_user_sessions(user, name=name, handle=handle, keep=keep, **kwargs)
        finally:
            found = {k for s in removed for k in (s.key, s.old_key) if k is not None}
            self._removed(announced + sorted(found.difference(announced)), nonces)
        return removed

    def _removed(self, keys: t.Sequence[str], nonces: dict[str, str] | None) -> None:
        """After a removal's commit (or its failure): remove the entries."""
        if nonces is None:
            self.cache.remember(keys)
        else:
            self.cache.finish([CacheWrite(key, nonces.get(key, "")) for key in keys])


def _writes(
    plans: list[SavePlan], outcomes: dict[str, SaveOutcome], nonces: dict[str, str]
) -> list[CacheWrite]:
    """What a save does to the cache after its commit (after a failed
    commit: remove)."""
    writes = []
    for plan in plans:
        outcome = outcomes.get(plan.name)
        for key in _touched_keys(plan):
            fields = None if outcome is None else _fields(plan, outcome)
            nonce = nonces.get(key, "")
            if fields is None:
                writes.append(CacheWrite(key, nonce))
            else:
                writes.append(CacheWrite(key, nonce, *fields))
        if outcome is not None and outcome.new_id is not None:
            # Written under the key another request's rotation gave it.
            writes.append(CacheWrite(ids.lookup_key(plan.name, outcome.new_id), ""))
    return writes


def _touched_keys(plan: SavePlan) -> list[str]:
    """The entries a save changes: the one it holds the session by, and the
    one a new session takes (an explicit ID may have an old entry)."""
    keys = []
    if plan.guard_key:
        keys.append(plan.guard_key)
    if plan.create is not None and plan.create["key"] not in keys:
        keys.append(plan.create["key"])
    return keys


def _fields(plan: SavePlan, outcome: SaveOutcome) -> tuple[dict[str, str], tuple[str, ...]] | None:
    """What a save sets and deletes in its entry, or ``None`` to remove the
    entry: a new, regenerated, rotated or vanished session."""
    update = plan.update or {}
    if outcome.gone or outcome.new_id is not None or plan.create is not None or "key" in update:
        return None
    sets = {"." + var: text for var, text in plan.upserts.items()}
    deletes = ["." + var for var in plan.removals]
    for column, field in _META.items():
        if column not in update:
            continue
        value = update[column]
        if value is None:
            deletes.append(field)
        else:
            sets[field] = repr(float(value)) if field == "m" else str(value)
    return sets, tuple(deletes)
