"""The cache under real concurrency: gunicorn workers and threads, one Redis
server of the test's own, killed and started again under traffic."""

from __future__ import annotations

import typing as t
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.cache_support import own_redis  # noqa: F401 - fixture
from tests.cache_support import OwnRedis
from tests.server.test_concurrency import APP
from tests.server.test_concurrency import fetch
from tests.server.test_concurrency import values

pytestmark = pytest.mark.server

CLIENTS = 6
ROUNDS = 20


def counts(base: str, sid: str, during: t.Callable[[int], None] | None = None) -> None:
    """Each client increments its own variable: every answer is one more
    than the last, so no read saw older data than a save that returned."""

    def client(i: int) -> list[tuple[int, str]]:
        answers = []
        for n in range(ROUNDS):
            if during is not None and i == 0:
                during(n)
            status, body, _ = fetch(f"{base}/incr/v{i}?sid={sid}")
            answers.append((status, body))
        return answers

    with ThreadPoolExecutor(CLIENTS) as pool:
        results = list(pool.map(client, range(CLIENTS)))
    for answers in results:
        assert answers == [(200, str(n)) for n in range(1, ROUNDS + 1)]
    assert values(base, sid) == {"first": "1", **{f"v{i}": ROUNDS for i in range(CLIENTS)}}


@pytest.mark.parametrize("threads", [1, 4])
def test_every_increment_is_seen_through_the_cache(
    gunicorn: t.Callable[..., str],
    database_url: str,
    own_redis: OwnRedis,  # noqa: F811
    threads: int,
) -> None:
    env = {"NAMEDSESSIONS_DATABASE_URI": database_url, "TEST_CACHE_URL": own_redis.url}
    base = gunicorn(APP, env, workers=4 // threads + 1, threads=threads)
    sid = f"cached-{threads}"
    assert fetch(f"{base}/set/first/1?sid={sid}")[0] == 200
    counts(base, sid)


def test_cache_killed_and_started_under_traffic(
    gunicorn: t.Callable[..., str],
    database_url: str,
    own_redis: OwnRedis,  # noqa: F811
) -> None:
    env = {"NAMEDSESSIONS_DATABASE_URI": database_url, "TEST_CACHE_URL": own_redis.url}
    base = gunicorn(APP, env, workers=2, threads=2)
    sid = "outage"
    assert fetch(f"{base}/set/first/1?sid={sid}")[0] == 200

    def outage(n: int) -> None:
        if n == 5:
            own_redis.stop(kill=True)
        elif n == 12:
            own_redis.start()

    counts(base, sid, outage)
