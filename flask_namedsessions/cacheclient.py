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

__all__ = ["CACHE_EXTRA", "check_url", "make_client"]

#: What to install for the cache.
CACHE_EXTRA = "pip install 'flask-namedsessions[redis]'"


def check_url(url: str) -> None:
    """Raise now for a missing redis-py or a URL that cannot be read
    (``init_app`` calls it; the client is made on first use, and a request
    must not be the first to find out)."""
    try:
        import redis  # noqa: F401
    except ImportError:
        raise RuntimeError(
            f"NAMEDSESSIONS_CACHE_URL is set, but redis-py is not installed: {CACHE_EXTRA}"
        ) from None
    scheme, _, rest = url.partition("://")
    scheme = scheme.lower()
    if scheme == "redis+sentinel":
        _sentinels(rest)
        return
    from redis.connection import parse_url

    try:
        parse_url(scheme.removesuffix("+cluster") + "://" + rest)  # type: ignore[no-untyped-call]
    except ValueError as exc:
        # redis-py's message names the part, never the password
        raise ValueError(f"NAMEDSESSIONS_CACHE_URL cannot be read: {exc}") from None


def make_client(url: str, timeout: float) -> redis.Redis:
    """A client for ``url``, connecting on first use.

    ``redis://``, ``rediss://`` and ``unix://`` are redis-py's own URLs.
    ``redis+cluster://host:port`` (``rediss+cluster://`` with TLS) reaches a
    Redis Cluster through any of its nodes; ``redis+sentinel://host:port,
    host:port/service/db`` asks those Sentinels for the master of
    ``service``.
    """
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

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
    return redis.Redis.from_url(url, **options, **_no_relaxed_timeouts())


def _no_relaxed_timeouts() -> dict[str, t.Any]:
    """redis-py 7 and later may relax a connection's timeout to seconds during
    a server's announced maintenance; the cache keeps its own bound."""
    try:
        from redis.maint_notifications import MaintNotificationsConfig
    except ImportError:  # redis-py before 7
        return {}
    return {"maint_notifications_config": MaintNotificationsConfig(enabled=False)}


def _sentinel_master(rest: str, options: dict[str, t.Any]) -> redis.Redis:
    """The master that the Sentinels of ``host:port,host:port/service/db``
    name (a password before ``@`` is the master's)."""
    from redis.sentinel import Sentinel

    sentinels, service, db, password = _sentinels(rest)
    if password is not None:
        options["password"] = password
    if db is not None:
        options["db"] = db
    sentinel = Sentinel(  # type: ignore[no-untyped-call]
        sentinels,
        sentinel_kwargs={"socket_timeout": options["socket_timeout"]},
        **options,
    )
    master = sentinel.master_for(service)  # type: ignore[no-untyped-call]
    return t.cast("redis.Redis", master)


def _sentinels(rest: str) -> tuple[list[tuple[str, int]], str, int | None, str | None]:
    """The Sentinels, service, database and password of a Sentinel URL
    without its scheme."""
    parts = urllib.parse.urlsplit("//" + rest)
    userinfo, _, hosts = parts.netloc.rpartition("@")
    path = [p for p in parts.path.split("/") if p]
    try:
        if not path or len(path) > 2:
            raise ValueError(parts.path)
        sentinels = []
        for host in hosts.split(","):
            name, _, port = host.rpartition(":") if ":" in host else (host, "", "")
            if not name:
                raise ValueError(host)
            sentinels.append((name, int(port or 26379)))
        db = int(path[1]) if len(path) == 2 else None
    except ValueError:
        raise ValueError(
            "NAMEDSESSIONS_CACHE_URL: a Sentinel URL reads"
            " redis+sentinel://[:password@]host:port[,host:port]/service[/db]"
        ) from None
    password = userinfo.partition(":")[2] if userinfo else None
    return sentinels, path[0], db, urllib.parse.unquote(password) if password else None
