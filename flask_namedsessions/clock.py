"""Time as the store keeps it: integer milliseconds since the epoch.

Exact, cheap to compare and the same on every database. Each app reads the
time through its own clock (``get_state(app).clock``), so that tests can move
it forward instead of sleeping.
"""

from __future__ import annotations

import time
import typing as t

__all__ = ["Clock", "minutes_ms", "now_ms"]

#: Returns the current time in milliseconds since the epoch.
Clock = t.Callable[[], int]


def now_ms() -> int:
    """The wall-clock time, in milliseconds since the epoch."""
    return int(time.time() * 1000)


def minutes_ms(minutes: float) -> int:
    """A duration in minutes (fractions allowed) as whole milliseconds."""
    return int(minutes * 60000)
