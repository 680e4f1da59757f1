"""The cache's configuration, checked by ``init_app``."""

from __future__ import annotations

import typing as t

import pytest
from flask import Flask
from redis.sentinel import SentinelConnectionPool

from flask_namedsessions import NamedSessions
from flask_namedsessions.cachedstore import CachedStore
from flask_namedsessions.extension import get_state
from flask_namedsessions.store import Store


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


def init(tmp_path: t.Any, **config: t.Any) -> Flask:
    app = Flask(__name__, instance_path=str(tmp_path))
    app.config.update(config)
    NamedSessions(app)
    return app


def test_no_cache_by_default(tmp_path: t.Any) -> None:
    store = get_state(init(tmp_path)).store
    assert type(store) is Store


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("NAMEDSESSIONS_CACHE_URL", "memcached://x", "None or a URL of scheme redis, rediss,"),
        ("NAMEDSESSIONS_CACHE_URL", 6379, "a string"),
        ("NAMEDSESSIONS_CACHE_TTL", 0, "a positive number"),
        ("NAMEDSESSIONS_CACHE_TIMEOUT", "fast", "a positive number"),
        ("NAMEDSESSIONS_CACHE_RETRY_AFTER", -1, "a number >= 0"),
        ("NAMEDSESSIONS_CACHE_PREFIX", "a b", "a string matching"),
    ],
)
def test_bad_cache_setting_raises_naming_the_key(
    tmp_path: t.Any, key: str, value: t.Any, expected: str
) -> None:
    config = {"NAMEDSESSIONS_CACHE_URL": "redis://127.0.0.1:6379/5", key: value}
    with pytest.raises(ValueError, match=f"^{key} must be ") as info:
        init(tmp_path, **config)
    assert expected in str(info.value)


@pytest.mark.parametrize(
    "url",
    [
        "redis+sentinel://",
        "redis+sentinel://h:1",
        "redis+sentinel://h:x/s",
        "redis+sentinel://h/s/0/1",
    ],
)
def test_unreadable_sentinel_url_raises(tmp_path: t.Any, url: str) -> None:
    with pytest.raises(ValueError, match=r"a Sentinel URL reads redis\+sentinel://"):
        init(tmp_path, NAMEDSESSIONS_CACHE_URL=url)


@pytest.mark.parametrize(
    "url",
    [
        "redis://:secret@127.0.0.1:63x9/9",
        "redis://127.0.0.1:99999/9",
        "rediss://127.0.0.1:6379/9?socket_timeout=soon",
        "unix:///tmp/redis.sock?db=x",
        "redis+cluster://127.0.0.1:port",
    ],
)
def test_unreadable_cache_url_raises_in_init_app(tmp_path: t.Any, url: str) -> None:
    """Not in every request: redis-py reads the URL when the client is made."""
    with pytest.raises(ValueError, match=r"^NAMEDSESSIONS_CACHE_URL cannot be read") as info:
        init(tmp_path, NAMEDSESSIONS_CACHE_URL=url)
    assert "secret" not in str(info.value)


def test_sentinel_url_asks_for_the_master(tmp_path: t.Any) -> None:
    url = "redis+sentinel://:secret@127.0.0.1:26390,127.0.0.1/mymaster/3"
    store = get_state(init(tmp_path, NAMEDSESSIONS_CACHE_URL=url)).store
    assert isinstance(store, CachedStore)
    pool = store.cache.client.connection_pool
    assert isinstance(pool, SentinelConnectionPool)
    assert pool.service_name == "mymaster"
    assert pool.connection_kwargs["db"] == 3
    assert pool.connection_kwargs["password"] == "secret"
    assert pool.connection_kwargs["socket_timeout"] == 0.05
    hosts = [c.connection_pool.connection_kwargs for c in pool.sentinel_manager.sentinels]
    assert [(h["host"], h["port"]) for h in hosts] == [("127.0.0.1", 26390), ("127.0.0.1", 26379)]


def test_unreachable_cache_does_not_stop_the_app(tmp_path: t.Any) -> None:
    # a Cluster client asks for the slots as it is made: not in init_app
    app = init(tmp_path, NAMEDSESSIONS_CACHE_URL="redis+cluster://127.0.0.1:1")
    store = get_state(app).store
    assert isinstance(store, CachedStore)
    assert store.cache.read("k" * 64, 0, None) == (None, "")
    assert not store.cache.usable()


def test_cluster_url_makes_a_cluster_client(tmp_path: t.Any) -> None:
    app = init(tmp_path, NAMEDSESSIONS_CACHE_URL="redis+cluster://127.0.0.1:1")
    store = get_state(app).store
    assert isinstance(store, CachedStore)
    with pytest.raises(Exception, match=r"127\.0\.0\.1:1"):
        store.cache._connect()


def test_timeout_reaches_the_connections(tmp_path: t.Any) -> None:
    app = init(
        tmp_path,
        NAMEDSESSIONS_CACHE_URL="redis://127.0.0.1:6379/5",
        NAMEDSESSIONS_CACHE_TIMEOUT=0.2,
    )
    store = get_state(app).store
    assert isinstance(store, CachedStore)
    kwargs = store.cache.client.connection_pool.connection_kwargs
    assert kwargs["socket_timeout"] == kwargs["socket_connect_timeout"] == 0.2
