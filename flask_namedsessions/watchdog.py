"""A bound on a commit's wait, from the client side.

PostgreSQL stops a statement's ``statement_timeout`` before the commit, so a
commit that waits for a synchronous standby that went away waits for ever.
One thread per process cancels a watched connection's command once it has
run longer than its bound; PostgreSQL then ends the wait with a warning and
counts the commit as done, though the standby may never have got it, so the
caller must not acknowledge it (:meth:`Watch.unconfirmed`).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import math
import os
import threading
import time
import typing as t

import sqlalchemy as sa

__all__ = ["Watch", "Watchdog", "for_engine"]

logger = logging.getLogger("flask_namedsessions")


class Watch:
    """One command's deadline, on one psycopg connection."""

    __slots__ = ("connection", "deadline", "done", "fired", "warnings")

    def __init__(self, connection: t.Any, deadline: float) -> None:
        self.connection = connection
        self.deadline = deadline
        self.done = False
        self.fired = False
        self.warnings = 0

    def unconfirmed(self) -> bool:
        """Did the cancel end a wait after the commit was made locally?
        PostgreSQL answers that with a warning, not an error."""
        return self.warnings > 0

    def _notice(self, diagnostic: t.Any) -> None:
        if diagnostic.severity_nonlocalized == "WARNING":
            self.warnings += 1

    def _cancel(self) -> None:
        self.fired = True
        # Registered only now: commands that run in time pay nothing.
        self.connection.add_notice_handler(self._notice)
        try:
            self.connection.cancel_safe(timeout=5.0)
        except Exception as exc:  # the command may end by itself all the same
            logger.warning("cancelling a command that outran its time failed: %s", exc)


class _Dog:
    """The thread and the deadlines it waits for, earliest first.

    The thread is woken only for a deadline earlier than the one it sleeps
    until; while none is due it sleeps a second at a time, so that a steady
    stream of commands costs no wake-up each, and it ends after a minute
    with nothing to watch.
    """

    def __init__(self) -> None:
        self.cond = threading.Condition(threading.Lock())
        self.due: list[tuple[float, int, Watch]] = []
        self.order = itertools.count()
        self.thread: threading.Thread | None = None
        #: when the sleeping thread wakes by itself (-inf: it is awake)
        self.until = -math.inf

    def add(self, watch: Watch) -> None:
        with self.cond:
            heapq.heappush(self.due, (watch.deadline, next(self.order), watch))
            if self.thread is None:
                self.thread = threading.Thread(
                    target=self._run, name="namedsessions-watchdog", daemon=True
                )
                self.thread.start()
            elif watch.deadline < self.until:
                self.cond.notify()

    def finish(self, watch: Watch) -> None:
        watch.done = True
        due = self.due
        with self.cond:
            # Commands end mostly in the order they began: the heap stays short.
            while due and due[0][2].done:
                heapq.heappop(due)

    def _run(self) -> None:
        due = self.due
        idle_since = time.monotonic()
        with self.cond:
            while True:
                while due and due[0][2].done:
                    heapq.heappop(due)
                now = time.monotonic()
                if due and due[0][0] <= now:
                    watch = heapq.heappop(due)[2]
                    self.cond.release()
                    try:
                        watch._cancel()
                    finally:
                        self.cond.acquire()
                    continue
                if due:
                    idle_since = now
                    self.until = due[0][0]
                elif now - idle_since > 60.0:
                    self.thread = None
                    return
                else:
                    self.until = now + 1.0
                self.cond.wait(self.until - now)
                self.until = -math.inf


_dog = _Dog()


def _after_fork() -> None:
    global _dog
    _dog = _Dog()


os.register_at_fork(after_in_child=_after_fork)


class Watchdog:
    """Cancels a watched command of one engine after ``seconds``, and a
    tenth more: where PostgreSQL's own ``statement_timeout`` covers the
    command (a statement in autocommit, before its commit), it answers
    first, with its own error."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._after = seconds * 1.1

    def start(self, dbapi_connection: t.Any) -> Watch:
        """Watch the command that is about to run on ``dbapi_connection``."""
        watch = Watch(dbapi_connection, time.monotonic() + self._after)
        _dog.add(watch)
        return watch

    def stop(self, watch: Watch) -> None:
        """The command ended (or failed): no cancel from now on."""
        _dog.finish(watch)


def for_engine(engine: sa.Engine, seconds: float | None) -> Watchdog | None:
    """A watchdog for ``engine``'s commits: psycopg 3 connections to
    PostgreSQL, when there is a bound; nothing for other databases, whose
    timeouts cover the commit already (PyMySQL's read timeout), or that
    have no standby to wait for (SQLite)."""
    dialect = engine.dialect
    if not seconds or dialect.name != "postgresql" or dialect.driver != "psycopg":
        return None
    return Watchdog(seconds)
