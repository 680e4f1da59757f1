"""The redis-py client behind the cache, from ``NAMEDSESSIONS_CACHE_URL``.

Every command is bounded by the cache timeout and never retried by redis-py:
a cache that answers late costs one timeout, and the circuit breaker in
:mod:`.cache` then leaves it alone for a while, rather than a request paying
for retries and back-off.
"""

from __future__ import annotations

import typing as t
import urllib.parse

if t.TYPE_CHECKING:
    import redis

__all__ = ["CACHE_EXTRA", "make_client"]

#: What to install for the cache.
CACHE_EXTRA = "pip install 'flask-namedsessions[redis]'"


def make_client(url: str, timeout: float) -> redis.Redis:
    """A client for ``url``, connecting on first use.

    ``redis://``, ``rediss://`` and ``unix://`` are redis-py's own URLs.
    ``redis+cluster://host:port`` (``rediss+cluster://`` with TLS) reaches a
    Redis Cluster through any of its nodes; ``redis+sentinel://host:port,
    host:port/service/db`` asks those Sentinels for the master of
    ``service``.
    """
    try:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry
    except ImportError:
        raise RuntimeError(
            f"NAMEDSESSIONS_CACHE_URL is set, but redis-py is not installed: {CACHE_EXTRA}"
        ) from None
    options: dict[str, t.Any] = {
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        "retry": Retry(NoBackoff(), 0),
        "decode_responses": True,
    }
    scheme, _, rest = url.partition("://")
    scheme = scheme.lower()
    if scheme.endswith("+cluster"):
        from redis.cluster import RedisCluster

        plain = scheme.removesuffix("+cluster") + "://" + rest
        return t.cast("redis.Redis", RedisCluster.from_url(plain, **options))
    if scheme == "redis+sentinel":
        return _sentinel_master(rest, options)
    return redis.Redis.from_url(url, **options)


def _sentinel_master(rest: str, options: dict[str, t.Any]) -> redis.Redis:
    """The master that the Sentinels of ``host:port,host:port/service/db``
    name (a password before ``@`` is the master's)."""
    from redis.sentinel import Sentinel

    parts = urllib.parse.urlsplit("//" + rest)
    hosts = parts.netloc.rpartition("@")[2]
    path = [p for p in parts.path.split("/") if p]
    if not hosts or not path:
        raise ValueError(
            "NAMEDSESSIONS_CACHE_URL: a Sentinel URL reads"
            " redis+sentinel://[:password@]host:port[,host:port]/service[/db]"
        )
    sentinels = []
    for host in hosts.split(","):
        name, _, port = host.rpartition(":") if ":" in host else (host, "", "26379")
        sentinels.append((name, int(port or 26379)))
    if parts.password is not None:
        options["password"] = urllib.parse.unquote(parts.password)
    if len(path) > 1:
        options["db"] = int(path[1])
    sentinel = Sentinel(  # type: ignore[no-untyped-call]
        sentinels,
        sentinel_kwargs={"socket_timeout": options["socket_timeout"]},
        **options,
    )
    master = sentinel.master_for(path[0])  # type: ignore[no-untyped-call]
    return t.cast("redis.Redis", master)
