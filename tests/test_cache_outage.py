"""A cache that fails is an accelerator lost, never a request failed: a Redis
server of the tests' own, stopped, paused, flushed and short of memory under
traffic, on each database."""

from __future__ import annotations

import typing as t

import pytest
import redis
from flask import Flask
from flask import jsonify
from flask import request
from flask.typing import ResponseReturnValue

from flask_namedsessions import session_start
from tests.cache_support import count_cache
from tests.cache_support import own_redis  # noqa: F401 - fixture
from tests.cache_support import OwnRedis


def make(make_app: t.Callable[..., Flask], server: OwnRedis, **config: t.Any) -> Flask:
    app = make_app(NAMEDSESSIONS_CACHE_URL=server.url, **config)

    @app.route("/set/<var>/<value>")
    def set_(var: str, value: str) -> str:
        s = session_start("cart", id=request.args.get("sid"), use_none=True)
        s[var] = value
        return s.id

    @app.route("/read")
    def read() -> ResponseReturnValue:
        s = session_start("cart", id=request.args.get("sid"), use_none=True)
        return jsonify(result=s.result, values={k: s.get(k) for k in s})

    return app


class Traffic:
    """Writes and reads of one session through a test client, each checked."""

    def __init__(self, app: Flask) -> None:
        self.client = app.test_client()
        self.sid = self.client.get("/set/n/0").text

    def write(self, value: int) -> None:
        response = self.client.get(f"/set/n/{value}?sid={self.sid}")
        assert response.status_code == 200

    def read(self, app: Flask | None = None) -> str:
        client = self.client if app is None else app.test_client()
        response = client.get(f"/read?sid={self.sid}")
        assert response.status_code == 200
        assert response.json["result"] == "load"  # type: ignore[index]
        return t.cast(str, response.json["values"]["n"])  # type: ignore[index]

    def round(self, value: int, *apps: Flask) -> None:
        self.write(value)
        assert self.read() == str(value)
        for app in apps:
            assert self.read(app) == str(value)


def test_stopped_cache_fails_no_request_and_breaker_stops_asking(
    make_app: t.Callable[..., Flask],
    own_redis: OwnRedis,  # noqa: F811
    sql_count: t.Any,
) -> None:
    app = make(make_app, own_redis, NAMEDSESSIONS_CACHE_RETRY_AFTER=60)
    traffic = Traffic(app)
    for i in range(1, 10):
        traffic.round(i)
    sent = count_cache(app)
    own_redis.stop(kill=True)
    for i in range(10, 40):
        traffic.round(i)
    # each write tries once (other processes may still read the cache),
    # reads try no more once the first failure opened the breaker
    assert sent.count <= 30 + 1
    sent.reset()
    for _ in range(10):
        assert traffic.read() == "39"
    assert sent.count == 0
    log = sql_count(app)
    traffic.read()
    assert log.count == 1


def test_cache_comes_back_after_retry_after(
    make_app: t.Callable[..., Flask],
    own_redis: OwnRedis,  # noqa: F811
    sql_count: t.Any,
) -> None:
    app = make(make_app, own_redis, NAMEDSESSIONS_CACHE_RETRY_AFTER=0)
    traffic = Traffic(app)
    traffic.round(1)
    own_redis.stop()
    for _ in range(3):
        assert traffic.read() == "1"  # reads only: nothing to keep from the cache
    own_redis.start()
    traffic.read()  # a miss, filled
    log = sql_count(app)
    assert traffic.read() == "1"
    assert log.count == 0


def test_write_during_outage_keeps_reads_off_the_cache(
    make_app: t.Callable[..., Flask],
    own_redis: OwnRedis,  # noqa: F811
    sql_count: t.Any,
) -> None:
    one = make(make_app, own_redis, NAMEDSESSIONS_CACHE_RETRY_AFTER=0)
    two = make(make_app, own_redis, NAMEDSESSIONS_CACHE_RETRY_AFTER=0)
    traffic = Traffic(one)
    traffic.round(1, two)  # cached in both
    own_redis.pause()  # slow: commands time out, the entry stays
    traffic.write(2)
    assert traffic.read() == "2"
    own_redis.resume()
    for app in (one, two):
        log = sql_count(app)
        assert traffic.read(app) == "2"
        assert log.count == 1  # neither serves the entry it could not update
    traffic.round(3, two)


def test_paused_cache_costs_reads_one_timeout(
    make_app: t.Callable[..., Flask],
    own_redis: OwnRedis,  # noqa: F811
) -> None:
    app = make(make_app, own_redis, NAMEDSESSIONS_CACHE_RETRY_AFTER=60)
    traffic = Traffic(app)
    traffic.round(1)
    sent = count_cache(app)
    own_redis.pause()
    for _ in range(20):
        assert traffic.read() == "1"
    assert sent.count == 1
    traffic.round(2)
    own_redis.resume()


def test_write_while_the_breaker_is_open_still_reaches_the_cache(
    make_app: t.Callable[..., Flask],
    own_redis: OwnRedis,  # noqa: F811
) -> None:
    one = make(make_app, own_redis, NAMEDSESSIONS_CACHE_RETRY_AFTER=60)
    two = make(make_app, own_redis, NAMEDSESSIONS_CACHE_RETRY_AFTER=60)
    traffic = Traffic(one)
    traffic.round(1, two)  # cached
    own_redis.pause()
    assert traffic.read() == "1"  # times out: one's breaker opens
    own_redis.resume()
    traffic.write(2)  # the cache answers again, but one's reads stay away
    assert traffic.read(two) == "2"  # two's breaker is closed: no older entry


def test_flushed_and_evicting_cache_lose_nothing(
    make_app: t.Callable[..., Flask],
    own_redis: OwnRedis,  # noqa: F811
) -> None:
    one = make(make_app, own_redis)
    two = make(make_app, own_redis)
    traffic = Traffic(one)
    server = redis.Redis.from_url(own_redis.url)
    for i in range(5):
        traffic.round(i, two)
        server.flushdb()
    server.config_set("maxmemory-policy", "allkeys-lru")
    server.config_set("maxmemory", "3mb")
    for j in range(2000):
        server.set(f"junk:{j}", "x" * 2000)  # the cache's keys are evicted
    for i in range(5, 25):
        traffic.round(i, two)
        server.set(f"junk:more:{i}", "x" * 100_000)
    server.close()


def test_full_cache_refusing_writes_loses_nothing(
    make_app: t.Callable[..., Flask],
    own_redis: OwnRedis,  # noqa: F811
) -> None:
    one = make(make_app, own_redis, NAMEDSESSIONS_CACHE_RETRY_AFTER=0)
    two = make(make_app, own_redis, NAMEDSESSIONS_CACHE_RETRY_AFTER=0)
    traffic = Traffic(one)
    traffic.round(1, two)
    server = redis.Redis.from_url(own_redis.url)
    server.config_set("maxmemory-policy", "noeviction")
    used = int(server.info("memory")["used_memory"])
    server.config_set("maxmemory", str(used))
    with pytest.raises(redis.ResponseError, match="maxmemory"):
        server.set("junk", "x" * 10_000)
    for i in range(2, 10):
        traffic.write(i)  # refused by the cache, which still serves reads
        assert traffic.read(two) == str(i)
        assert traffic.read() == str(i)
    server.config_set("maxmemory", "0")
    server.close()
    for i in range(10, 15):
        traffic.round(i, two)


def test_cli_ending_sessions_says_when_the_cache_was_not_told(
    make_app: t.Callable[..., Flask],
    own_redis: OwnRedis,  # noqa: F811
) -> None:
    """The command runs once and exits: nothing of it is left to remove the
    entries later, so it fails, saying what the workers may still serve."""
    worker = make(make_app, own_redis)

    @worker.route("/bind")
    def bind() -> str:
        session_start("cart", id=request.args.get("sid"), use_none=True).bind_user("ada")
        return ""

    traffic = Traffic(worker)
    worker.test_client().get(f"/bind?sid={traffic.sid}")
    traffic.round(1, worker)  # cached
    # the command's host cannot reach the cache the workers reach
    command = make_app(NAMEDSESSIONS_CACHE_URL="redis://127.0.0.1:1/0")
    result = command.test_cli_runner().invoke(args=["namedsessions", "end-user-sessions", "ada"])
    assert result.exit_code == 1
    assert result.output.startswith("Ended 1 sessions.\nError: the session cache could not")
    assert "NAMEDSESSIONS_CACHE_TTL (300 s)" in result.output
    ok = command.test_cli_runner().invoke(args=["namedsessions", "end-user-sessions", "ada"])
    assert (ok.exit_code, ok.output) == (0, "Ended 0 sessions.\n")
