"""How long to wait before running a failed write again, and when to stop.

A replicated database (a Galera cluster, a PostgreSQL primary that fails
over) fails transactions that would succeed a moment later: certification
conflicts, deadlocks, a node that is rejoining. Several attempts, spread out
by a pause that doubles each time and is jittered so that the writers that
collided do not collide again, cure nearly all of them; a bound on the total
time keeps a request from waiting on a database that stays down.
"""

from __future__ import annotations

import dataclasses
import random
import time

__all__ = ["RetryPolicy"]


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """How often, and for how long, a write that failed for a passing reason
    is run again.

    :param attempts: the most attempts in all, the first included.
    :param backoff: the first pause, in seconds; each pause doubles the one
        before, and is jittered to between half and all of that.
    :param limit: no attempt starts more than this many seconds after the
        first one began.
    """

    attempts: int = 8
    backoff: float = 0.01
    limit: float = 2.0

    def pause(self, failed: int, started: float) -> float | None:
        """The pause before attempt ``failed + 1``, or ``None`` when there is
        to be none: ``failed`` attempts are all that is allowed, or the next
        one would start past the time limit of the run that ``started``
        (a :func:`time.monotonic` time)."""
        if failed >= self.attempts:
            return None
        ceiling = self.backoff * 2 ** (failed - 1)
        pause = random.uniform(ceiling / 2, ceiling)
        if time.monotonic() + pause - started > self.limit:
            return None
        return pause
