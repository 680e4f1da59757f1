"""The cache in front of the session tables: entries, leases, and a circuit
breaker.

SQL stays the source of truth: the cache only ever holds what a reader read
from SQL under a lease, updated field by field by writers after their commit
(see :mod:`.cachescripts`). It is an accelerator, never a dependency: a
command that fails or takes longer than ``NAMEDSESSIONS_CACHE_TIMEOUT`` opens
the breaker, and for ``NAMEDSESSIONS_CACHE_RETRY_AFTER`` seconds reads do not
ask the cache at all (writes still do: other processes may be reading it);
after a write that could not reach it, reads leave it alone for
``NAMEDSESSIONS_CACHE_TTL`` seconds, the longest any entry lives, so that no
entry older than that write is served here.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import threading
import time
import typing as t

from . import cachescripts
from .cacheclient import check_url
from .cacheclient import make_client
from .rows import StoredSession

if t.TYPE_CHECKING:
    import redis

    from .config import Settings

__all__ = ["CacheWrite", "SessionCache"]

logger = logging.getLogger("flask_namedsessions")

#: How long a reader's lease lasts, in milliseconds: a fill later than that
#: is refused, which is always safe.
LEASE_MS = 10_000
#: Keys whose removal failed, removed once the cache answers again (bounded:
#: past that, the entries' own lifetime is what remains).
_PENDING_MAX = 10_000


class CacheWrite(t.NamedTuple):
    """What one save or removal does to one entry after its SQL commit."""

    key: str
    #: announced before the commit with this nonce ("" if not)
    nonce: str
    #: fields to set (variables as ``.name``), fields to delete; ``None``:
    #: remove the entry
    sets: dict[str, str] | None = None
    deletes: tuple[str, ...] = ()


def entry_fields(stored: StoredSession) -> dict[str, str]:
    """A loaded session as an entry's fields."""
    fields = {
        "r": stored.row_id,
        "c": str(stored.created_at),
        "t": str(stored.touched_at),
        "e": str(stored.expires_at),
        "m": repr(float(stored.expires_min)),
    }
    if stored.user_key is not None:
        fields["u"] = stored.user_key
    for var, text in stored.values.items():
        fields["." + var] = text
    return fields


def _stored(key: str, fields: dict[str, str]) -> StoredSession:
    return StoredSession(
        row_id=fields["r"],
        key=key,
        by_old_key=False,
        old_key_until=None,
        successor=None,
        created_at=int(fields["c"]),
        touched_at=int(fields["t"]),
        expires_at=int(fields["e"]),
        expires_min=float(fields["m"]),
        values={k[1:]: v for k, v in fields.items() if k[:1] == "."},
        user_key=fields.get("u"),
    )


class SessionCache:
    """One app's cache: one round trip to read, one to fill after a miss,
    one before and one after a write's commit."""

    def __init__(self, settings: Settings) -> None:
        url = settings.cache_url
        if url is None:
            raise ValueError("SessionCache needs NAMEDSESSIONS_CACHE_URL")
        check_url(url)
        timeout = settings.cache_timeout
        self._connect: t.Callable[[], redis.Redis] = lambda: make_client(url, timeout)
        self._client: redis.Redis | None = None
        self.prefix = settings.cache_prefix
        self.ttl_ms = int(settings.cache_ttl * 1000)
        self.retry_after = settings.cache_retry_after
        self._errors = _redis_errors()
        self._refusals = _refusals()
        self._scripts: dict[str, t.Any] = {}
        self._lock = threading.Lock()
        #: monotonic times: the breaker is open until, reads bypass until
        self._down_until = 0.0
        self._bypass_until = 0.0
        self._pending: set[str] = set()

    @property
    def client(self) -> redis.Redis:
        """The client, made on first use: a Cluster client asks its nodes for
        the slots as it is made, and a cache that is down then must not stop
        the app from starting."""
        client = self._client
        if client is None:
            with self._lock:
                if self._client is None:
                    made = self._connect()
                    self._scripts = {
                        name: made.register_script(getattr(cachescripts, name))
                        for name in ("READ", "FILL", "ANNOUNCE", "FINISH")
                    }
                    self._client = made
                client = self._client
        return client

    # -- keys and the breaker ------------------------------------------------------

    def _keys(self, key: str) -> list[str]:
        """The entry and state keys of a lookup key, in one Cluster slot."""
        entry = f"{self.prefix}{{{key}}}"
        return [entry, entry + ":w"]

    def usable(self) -> bool:
        """Is the breaker closed (or due for another try)?"""
        return time.monotonic() >= self._down_until

    def readable(self) -> bool:
        """May a read use the cache: breaker closed, and no failed write
        within the entries' lifetime?"""
        now = time.monotonic()
        return now >= self._down_until and now >= self._bypass_until

    def _failed(self, what: str, exc: BaseException, keys: t.Iterable[str] | None = None) -> None:
        """Open the breaker; for a write (``keys`` given), also :meth:`remember`.
        Logged when the breaker opens, not for each write while it is open."""
        now = time.monotonic()
        with self._lock:
            was_closed = now >= self._down_until
            self._down_until = now + self.retry_after
        if keys is not None:
            self.remember(keys)
        if was_closed:
            logger.warning(
                "session cache: %s failed (%s); reads use SQL for %s s",
                what,
                type(exc).__name__,
                self.retry_after,
            )

    def _call(self, name: str, key: str, args: list[t.Any]) -> t.Any:
        client = self.client
        return self._scripts[name](keys=self._keys(key), args=args, client=client)

    def _flush_pending(self) -> None:
        """Remove the entries that earlier writes could not update (their
        leases go with them; a writer count in flight stays)."""
        with self._lock:
            pending, self._pending = self._pending, set()
        pipe = self.client.pipeline(transaction=False)
        for key in pending:
            entry, state = self._keys(key)
            pipe.delete(entry)
            pipe.hdel(state, "l")
        try:
            pipe.execute()
        except BaseException:
            with self._lock:
                self._pending |= pending
            raise

    # -- reads -----------------------------------------------------------------

    def read(self, key: str, now: int, born_after: int | None) -> tuple[StoredSession | None, str]:
        """The cached live session of ``key``, else ``None`` and a lease token
        for :meth:`fill` (empty when no fill may follow). One round trip."""
        if not self.usable():
            return None, ""
        if self._pending:
            try:
                self._flush_pending()
            except self._errors as exc:
                self._failed("removing entries", exc, ())
                return None, ""
        if not self.readable():
            return None, ""
        token = secrets.token_hex(8)
        args = [now, "" if born_after is None else born_after, token, LEASE_MS]
        try:
            found = self._call("READ", key, args)
        except self._errors as exc:
            self._failed("reading", exc)
            return None, ""
        if not found:
            return None, token
        return _stored(key, dict(zip(found[::2], found[1::2], strict=True))), ""

    def fill(self, key: str, stored: StoredSession, token: str) -> None:
        """Cache what a reader found in SQL, if no write came since its lease."""
        args: list[t.Any] = [token, self.ttl_ms]
        for item in entry_fields(stored).items():
            args.extend(item)
        try:
            self._call("FILL", key, args)
        except self._errors as exc:
            self._failed("filling", exc)

    # -- writes ----------------------------------------------------------------

    def announce(self, keys: t.Sequence[str]) -> dict[str, str] | None:
        """Tell readers that writes to ``keys`` are about to commit; return
        each key's nonce, or ``None`` when the cache could not be told.

        Writes ask the cache even while the breaker keeps reads away: a write
        that skipped it would leave other processes, whose breakers are
        closed, an entry older than the write.
        """
        if not keys:
            return {}
        nonces = {key: secrets.token_hex(8) for key in keys}
        try:
            if self._pending:
                self._flush_pending()
            if len(keys) == 1:
                self._call("ANNOUNCE", keys[0], [nonces[keys[0]], self.ttl_ms])
            else:
                self._pipeline("ANNOUNCE", [(k, [nonces[k], self.ttl_ms]) for k in keys])
        except self._errors as exc:
            self._failed("announcing a write", exc, keys)
            if isinstance(exc, self._refusals):
                # The server answered but refused (out of memory, say): it
                # still takes removals, and other processes still read.
                with contextlib.suppress(*self._errors):
                    self._flush_pending()
            return None
        return nonces

    def finish(self, writes: t.Sequence[CacheWrite]) -> None:
        """After the commit: update or remove each entry."""
        if not writes:
            return
        calls = [(w.key, _finish_args(w)) for w in writes]
        try:
            if len(calls) == 1:
                self._call("FINISH", *calls[0])
            else:
                self._pipeline("FINISH", calls)
        except self._errors as exc:
            self._failed("updating after a save", exc, [w.key for w in writes])

    def remember(self, keys: t.Iterable[str]) -> None:
        """Entries a write could not update: reads here bypass the cache for
        the entries' lifetime, and the entries go once it answers again."""
        with self._lock:
            self._bypass_until = time.monotonic() + self.ttl_ms / 1000
            if len(self._pending) < _PENDING_MAX:
                self._pending.update(keys)

    def _pipeline(self, name: str, calls: list[tuple[str, list[t.Any]]]) -> None:
        """Run one script for several keys in one round trip, loading it
        first where the server lost it."""
        client = self.client
        script = self._scripts[name]
        for attempt in (0, 1):
            pipe = client.pipeline(transaction=False)
            for key, args in calls:
                pipe.evalsha(script.sha, 2, *self._keys(key), *args)
            results = pipe.execute(raise_on_error=False)
            errors = [r for r in results if isinstance(r, Exception)]
            if not errors:
                return
            if attempt or not all("NOSCRIPT" in str(e) for e in errors):
                raise errors[0]
            client.script_load(script.script)


def _finish_args(write: CacheWrite) -> list[t.Any]:
    if write.sets is None:
        return [write.nonce, "drop", 0]
    args: list[t.Any] = [write.nonce, "apply", len(write.sets)]
    for item in write.sets.items():
        args.extend(item)
    args.extend(write.deletes)
    return args


def _redis_errors() -> tuple[type[BaseException], ...]:
    """What a failing cache raises: redis-py's errors (a Cluster's that are
    not among them too) and the socket's."""
    import redis
    from redis.exceptions import RedisClusterException

    return (redis.RedisError, RedisClusterException, OSError)


def _refusals() -> tuple[type[BaseException], ...]:
    """Errors of a server that answered: it refused the command."""
    from redis.exceptions import ResponseError

    return (ResponseError,)
