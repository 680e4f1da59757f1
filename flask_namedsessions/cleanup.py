"""The cleanup of expired sessions: one cleaner at a time, batch by batch.

Several cron jobs, or workers that each run a batch now and then
(``NAMEDSESSIONS_GC_PROBABILITY``), would otherwise delete the same rows at
once and pile up on a cluster. A cleaner first takes the cleanup lease (see
:mod:`.leases`), keeps it before each batch, and gives it back at the end; a
cleaner that finds it held does nothing. Batches stay small enough for a
Galera write set, and a pause between them lets replication and the
requests keep up.
"""

from __future__ import annotations

import secrets
import typing as t

from .exceptions import SessionStoreError

if t.TYPE_CHECKING:
    from types import TracebackType

    from .clock import Clock
    from .store import Store

__all__ = ["LEASE", "LEASE_MS", "Cleanup"]

#: The lease's name in the leases table.
LEASE = "cleanup"
#: How long the lease lasts unless kept: a cleaner that died frees it after this.
LEASE_MS = 60_000


class Cleanup:
    """One run of the cleanup, under the lease: use it as a context manager,
    then look at :attr:`held`.

    :param store: where the sessions are.
    :param clock: the app's time in milliseconds.
    :param batch_size: sessions deleted per transaction.
    :param pause: seconds between two batches.
    """

    def __init__(self, store: Store, clock: Clock, batch_size: int, pause: float) -> None:
        self.store = store
        self.clock = clock
        self.batch_size = batch_size
        self.pause = pause
        #: this cleaner holds the lease: no other one runs
        self.held = False
        self._holder = secrets.token_hex(16)

    def _hold(self) -> bool:
        now = self.clock()
        return self.store.hold_lease(LEASE, self._holder, now, now + LEASE_MS)

    def __enter__(self) -> Cleanup:
        self.held = self._hold()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self.held:
            return
        self.held = False
        try:
            self.store.release_lease(LEASE, self._holder)
        except SessionStoreError:
            if exc is None:
                raise
            # the error that stopped the run says more; the lease lapses

    def batches(self, limit: int | None = None) -> t.Iterator[int]:
        """Delete expired sessions, yielding each batch's count; at most
        ``limit`` batches. Stops when a batch finds fewer than a full batch,
        or if the lease was lost (this cleaner stalled past it, and another
        took over)."""
        batches = self.store.expired_batches(self.clock(), self.batch_size, self.pause)
        for done, count in enumerate(batches, 1):
            yield count
            if count < self.batch_size or (limit is not None and done >= limit):
                return
            if not self._hold():
                return

    def run(self, limit: int | None = None) -> int | None:
        """Run the cleanup if the lease is free: how many sessions it
        deleted, or ``None`` when another cleaner holds the lease."""
        with self:
            if not self.held:
                return None
            return sum(self.batches(limit))
