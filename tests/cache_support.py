"""Fixtures for the tests of the cache: a real Redis, its round trips
counted by a connection class of redis-py's own kind, and a Redis server of
the tests' own that they may stop."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import typing as t

import pytest
import redis
import sqlalchemy as sa
from flask import Flask
from flask import jsonify
from flask import request
from flask.typing import ResponseReturnValue

from flask_namedsessions import end_user_sessions
from flask_namedsessions import session_delete_expired
from flask_namedsessions import session_start
from flask_namedsessions.extension import get_state

#: The Redis database the cache tests use, and a second one for tests that
#: need two caches.
CACHE_URL = os.environ.get("NAMEDSESSIONS_TEST_CACHE_URL", "redis://127.0.0.1:6379/5")
OTHER_CACHE_URL = os.environ.get("NAMEDSESSIONS_TEST_OTHER_CACHE_URL", "redis://127.0.0.1:6379/6")
#: The port of the Redis server that outage tests start and stop.
OWN_PORT = int(os.environ.get("NAMEDSESSIONS_TEST_OWN_REDIS_PORT", "6391"))


def _flush(url: str) -> None:
    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    except redis.RedisError as exc:
        pytest.fail(f"Redis at {url} is unreachable ({exc}); start it", pytrace=False)
    finally:
        client.close()


@pytest.fixture
def cache_url() -> t.Iterator[str]:
    """The test Redis database, emptied before and after."""
    _flush(CACHE_URL)
    yield CACHE_URL
    _flush(CACHE_URL)


@pytest.fixture
def cached_app(make_app: t.Callable[..., Flask], cache_url: str) -> t.Callable[..., Flask]:
    """``make_app`` with the cache on."""

    def make(**config: t.Any) -> Flask:
        config.setdefault("NAMEDSESSIONS_CACHE_URL", cache_url)
        return make_app(**config)

    return make


class CommandLog:
    """Round trips to the cache: each packed send is one."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def reset(self) -> None:
        self.sent.clear()

    @property
    def count(self) -> int:
        return len(self.sent)


def count_cache(app: Flask) -> CommandLog:
    """Count the round trips of ``app``'s cache from now on, through a
    connection class that records what it sends."""
    log = CommandLog()

    class Counting(redis.Connection):
        def send_packed_command(self, command: t.Any, check_health: bool = True) -> None:
            log.sent.append(command if isinstance(command, bytes) else b"".join(command))
            super().send_packed_command(command, check_health)

    pool = get_state(app).store.cache.client.connection_pool  # type: ignore[attr-defined]
    pool.disconnect()
    pool.connection_class = Counting
    pool.reset()
    # The connection's own handshake is not a round trip of a request.
    client = get_state(app).store.cache.client  # type: ignore[attr-defined]
    client.ping()
    log.reset()
    return log


class OwnRedis:
    """A Redis server on :data:`OWN_PORT` that a test may stop and start."""

    def __init__(self, tmp_path: t.Any) -> None:
        self.dir = tmp_path
        self.process: subprocess.Popen[bytes] | None = None
        self.url = f"redis://127.0.0.1:{OWN_PORT}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed", pytrace=False)
        command = [binary, "--port", str(OWN_PORT), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--dir", str(self.dir)]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", OWN_PORT), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        pytest.fail(f"redis-server did not start on port {OWN_PORT}", pytrace=False)

    def stop(self, *, kill: bool = False) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        if kill:
            process.kill()
        else:
            process.terminate()
        process.wait(timeout=10)

    def pause(self) -> None:
        """Stop answering, without closing connections (a slow server)."""
        if self.process is not None:
            self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)


@pytest.fixture
def own_redis(tmp_path: t.Any) -> t.Iterator[OwnRedis]:
    server = OwnRedis(tmp_path)
    server.start()
    yield server
    server.resume()
    server.stop()


class Hold:
    """Holds one thread at one point of its SQL until the test releases it:
    ``"select"``, just after its first SELECT (a reader between its SQL read
    and its fill), or ``"committed"``, when its connection returns to the
    pool after a write (a writer between its commit and its cache update).

    Listens through SQLAlchemy's own events; no code of the package knows.
    """

    def __init__(self, app: Flask, thread: str, point: str) -> None:
        self.thread = thread
        self.point = point
        self.reached = threading.Event()
        self.released = threading.Event()
        self._wrote = False
        self.engine = get_state(app).store.engine
        sa.event.listen(self.engine, "after_cursor_execute", self._statement)
        sa.event.listen(self.engine, "checkin", self._checkin)

    def _mine(self) -> bool:
        return threading.current_thread().name == self.thread and not self.reached.is_set()

    def _wait(self) -> None:
        self.reached.set()
        if not self.released.wait(30):
            raise RuntimeError("the test never released the held thread")

    def _statement(self, conn: t.Any, cursor: t.Any, statement: str, *args: t.Any) -> None:
        if not self._mine():
            return
        verb = statement.lstrip().split(None, 1)[0].upper()
        if self.point == "select" and verb == "SELECT":
            self._wait()
        elif verb in ("INSERT", "UPDATE", "DELETE"):
            self._wrote = True

    def _checkin(self, *args: t.Any) -> None:
        if self.point == "committed" and self._wrote and self._mine():
            self._wait()

    def release(self) -> None:
        self.released.set()

    def remove(self) -> None:
        self.release()
        sa.event.remove(self.engine, "after_cursor_execute", self._statement)
        sa.event.remove(self.engine, "checkin", self._checkin)


class Background:
    """A request run in a thread of a known name, its response kept."""

    def __init__(self, client: t.Any, url: str, name: str) -> None:
        self.response: t.Any = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(client, url), name=name)
        self.thread.start()

    def _run(self, client: t.Any, url: str) -> None:
        try:
            self.response = client.get(url)
        except BaseException as exc:  # reported by join()
            self.error = exc

    def join(self) -> t.Any:
        self.thread.join(30)
        if self.error is not None:
            raise self.error
        return self.response


def add_views(app: Flask, created: t.Mapping[str, str]) -> None:
    """The views the cache tests drive: ``/create`` stores ``created``, the
    others act on the session whose ID is ``?sid=``."""

    def start() -> t.Any:
        return session_start("cart", id=request.args.get("sid"), use_none=True)

    @app.route("/create")
    def create() -> str:
        s = start()
        for var, value in created.items():
            s[var] = value
        return s.id

    @app.route("/read")
    def read() -> ResponseReturnValue:
        s = start()
        return jsonify(result=s.result, id=s.id, values={k: s.get(k) for k in s})

    @app.route("/set/<var>/<value>")
    def set_(var: str, value: str) -> str:
        start()[var] = value
        return ""

    @app.route("/remove/<var>")
    def remove(var: str) -> str:
        start().remove_var(var)
        return ""

    @app.route("/end")
    def end() -> str:
        start().end()
        return ""

    @app.route("/regenerate")
    def regenerate() -> str:
        s = start()
        s.regenerate_id()
        return s.id

    @app.route("/bind/<user>")
    def bind(user: str) -> str:
        start().bind_user(user)
        return ""

    @app.route("/revoke/<user>")
    def revoke(user: str) -> str:
        return str(end_user_sessions(user))

    @app.route("/cleanup")
    def cleanup() -> str:
        return str(session_delete_expired())
