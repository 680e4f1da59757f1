"""Visitors that drive several app instances at once and check every answer.

A browser holds one cookie of the session "visit"; its tabs share it, each
writing a variable of its own and reading it back, each request through the
next instance, so that a write through one database node is read through
another, and tabs of one browser write the same session row at once through
different nodes. Every answer is checked as it comes: the session is the
one the browser has (never a new one, never another ID), and a tab reads
what it last wrote successfully (or a write whose answer it never got).
"""

from __future__ import annotations

import http.client
import itertools
import json
import threading
import time
import typing as t
from dataclasses import dataclass
from dataclasses import field

from tests.server.test_concurrency import fetch

COOKIE = "session_visit"


@dataclass
class Answer:
    """One request: when its answer came (seconds since the traffic
    started), from which instance, and whether it succeeded."""

    at: float
    instance: int
    ok: bool


@dataclass
class Tally:
    """Every answer and every broken promise, from all tabs."""

    answers: list[Answer] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    started: float = field(default_factory=time.monotonic)

    def now(self) -> float:
        return time.monotonic() - self.started

    def answer(self, instance: int, ok: bool) -> None:
        with self.lock:
            self.answers.append(Answer(self.now(), instance, ok))

    def problem(self, text: str) -> None:
        with self.lock:
            self.problems.append(text)

    @property
    def failed(self) -> int:
        return sum(not a.ok for a in self.answers)

    @property
    def rate(self) -> float:
        """Failed requests, in percent."""
        return 100 * self.failed / max(1, len(self.answers))

    def longest_gap(self, instance: int, after: float = 0.0) -> float:
        """The longest time, from ``after`` on, between two successful
        answers of ``instance`` (or from ``after`` to its first)."""
        times = [after] + [
            a.at for a in self.answers if a.instance == instance and a.ok and a.at >= after
        ]
        if len(times) == 1:
            return float("inf")
        return max(b - a for a, b in itertools.pairwise(times))

    def first_success(self, instance: int, after: float) -> float:
        """Seconds from ``after`` to ``instance``'s first successful answer."""
        times = [a.at for a in self.answers if a.instance == instance and a.ok and a.at >= after]
        return min(times) - after if times else float("inf")

    def outage(self, instance: int, after: float) -> tuple[float, float]:
        """When ``instance``'s first and last failed answers after ``after``
        came, and when the first success after them came (``inf``: none)."""
        failed = [a.at for a in self.answers if a.instance == instance and not a.ok]
        failed = [at for at in failed if at >= after] or [after]
        back = [a.at for a in self.answers if a.instance == instance and a.ok and a.at > failed[-1]]
        return failed[0], min(back, default=float("inf"))

    def summary(self) -> str:
        return f"{self.failed} of {len(self.answers)} requests failed ({self.rate:.2f} %)"


class Browser:
    """A visitor's browser: one ID of the session "visit", set by the
    instance that created it."""

    def __init__(self, name: str, base: str) -> None:
        self.name = name
        status, body, headers = fetch(f"{base}/visit/v/0")
        if status != 200 or json.loads(body)["result"] != "new":
            raise AssertionError(f"creating {name}'s session: {status} {body[:200]}")
        sid = _cookie(headers)
        if not sid:
            raise AssertionError(f"creating {name}'s session set no {COOKIE} cookie")
        self.sid = sid


def _cookie(headers: t.Any) -> str | None:
    """The value that ``Set-Cookie`` gives the "visit" cookie, if any."""
    for header in headers.get_all("Set-Cookie") or []:
        name, _, rest = header.partition("=")
        if name.strip() == COOKIE:
            return str(rest.split(";")[0])
    return None


class Tab:
    """One writer of one variable of its browser's session."""

    def __init__(self, browser: Browser, var: str) -> None:
        self.browser = browser
        self.var = var
        self.written = 0
        #: the last value written with a successful answer
        self.last: int | None = None
        #: values written since, whose answer failed: they may have been saved
        self.maybe: set[int] = set()

    def __str__(self) -> str:
        return f"{self.browser.name} tab {self.var}"

    def request(self, bases: list[str], instance: int, path: str, tally: Tally) -> t.Any:
        """Send one request; check and return its JSON, or ``None`` if it
        failed."""
        cookie = {"Cookie": f"{COOKIE}={self.browser.sid}"}
        try:
            status, body, headers = fetch(bases[instance] + path, cookie)
        except (OSError, http.client.HTTPException):
            status, body, headers = 0, "", None
        tally.answer(instance, status == 200)
        if status != 200:
            return None
        data = json.loads(body)
        where = f"{self} on instance {instance} at {tally.now():.2f} s"
        if data["result"] != "load":
            tally.problem(f"{where}: session {data['result']}, not load")
        sent = _cookie(headers)
        if sent is not None and sent != self.browser.sid:
            tally.problem(f"{where}: handed a new session ID")
        return data

    def check(self, value: t.Any, where: str, tally: Tally) -> None:
        """What it reads must be what it last saved, or a failed write."""
        if value != self.last and value not in self.maybe:
            tally.problem(
                f"{self} read {value!r} {where}: acknowledged {self.last!r}"
                f" (failed writes since: {sorted(self.maybe)})"
            )

    def step(self, bases: list[str], instance: int, tally: Tally) -> int:
        """Write a new value through one instance, read it through the next;
        return the instance after that."""
        self.written += 1
        value = self.written
        if self.request(bases, instance, f"/visit/{self.var}/{value}", tally) is None:
            self.maybe.add(value)
        else:
            self.last = value
            self.maybe.clear()
        instance = (instance + 1) % len(bases)
        data = self.request(bases, instance, f"/visit/{self.var}", tally)
        if data is not None:
            self.check(data["value"], f"on instance {instance} at {tally.now():.2f} s", tally)
        return (instance + 1) % len(bases)


class Traffic:
    """Browsers with tabs driving ``bases`` from threads, until stopped.

    Use it as a context manager: the threads always stop and are joined.
    """

    def __init__(self, bases: list[str], browsers: int, tabs: int) -> None:
        self.bases = bases
        self.browsers = [Browser(f"browser {b}", bases[b % len(bases)]) for b in range(browsers)]
        self.tabs = [Tab(browser, f"v{i}") for browser in self.browsers for i in range(tabs)]
        self.tally = Tally()
        self.stopping = threading.Event()
        self.threads = [
            threading.Thread(target=self._run, args=(tab, i % len(bases)), daemon=True)
            for i, tab in enumerate(self.tabs)
        ]

    def _run(self, tab: Tab, instance: int) -> None:
        while not self.stopping.is_set():
            instance = tab.step(self.bases, instance, self.tally)

    def __enter__(self) -> Traffic:
        self.tally.started = time.monotonic()
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        for thread in self.threads:
            # A request waits at most fetch()'s 30 s timeout.
            thread.join(timeout=65)

    def run_for(self, seconds: float) -> None:
        """Let the traffic run ``seconds`` more."""
        self.stopping.wait(seconds)

    def verify(self, base: str) -> None:
        """After the traffic, every tab reads back what it last saved."""
        for tab in self.tabs:
            data = tab.request([base], 0, f"/visit/{tab.var}", self.tally)
            if data is None:
                self.tally.problem(f"{tab}: the final read failed")
            else:
                tab.check(data["value"], "at the end", self.tally)
