"""Fixtures for the tests of the cache: a real Redis, its round trips
counted by a connection class of redis-py's own kind, and a Redis server of
the tests' own that they may stop."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import typing as t

import pytest
import redis
from flask import Flask

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
            self.process.send_signal(19)  # SIGSTOP

    def resume(self) -> None:
        if self.process is not None:
            self.process.send_signal(18)  # SIGCONT


@pytest.fixture
def own_redis(tmp_path: t.Any) -> t.Iterator[OwnRedis]:
    server = OwnRedis(tmp_path)
    server.start()
    yield server
    server.resume()
    server.stop()
