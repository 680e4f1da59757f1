"""Judging URLs the way a browser resolves them, and adding parameters to them.

A session ID must never reach another host, so a URL counts as same-origin only
when a browser would send it to this host: leading controls and spaces are
stripped, tabs and newlines dropped, ``\\`` read as ``/``, extra slashes after
the scheme ignored, userinfo skipped. Anything doubtful counts as foreign.
"""

from __future__ import annotations

import dataclasses
import re
import typing as t
from urllib.parse import quote
from urllib.parse import unquote

_STRIP = "".join(chr(i) for i in range(0x21))
_DROP = str.maketrans("", "", "\t\n\r")
_SCHEME_RE = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
_HOST_RE = re.compile(r"(?:[a-z0-9_\-]+(?:\.[a-z0-9_\-]+)*|\[[0-9a-f:.]+\])\Z")
_DEFAULT_PORTS = {"http": "80", "https": "443"}


@dataclasses.dataclass(frozen=True)
class Origin:
    """Who counts as "this site" for one response.

    :param scheme: the request's scheme, ``"http"`` or ``"https"``.
    :param host: the request's host, with a port if it has one.
    :param extra_hosts: more hosts of the same site (``NAMEDSESSIONS_LINK_HOSTS``).
    """

    scheme: str
    host: str
    extra_hosts: frozenset[str] = frozenset()

    def host_keys(self) -> frozenset[str]:
        keys = {_host_key(h, self.scheme) for h in (self.host, *self.extra_hosts)}
        return frozenset(k for k in keys if k is not None)


def _host_key(hostport: str, scheme: str) -> str | None:
    """``host:port`` in lower case, default port left out; ``None`` if odd."""
    hostport = hostport.lower()
    host, port = hostport, ""
    if not hostport.endswith("]") and ":" in hostport:
        host, _, port = hostport.rpartition(":")
        if not port.isdigit() and port != "":
            return None
        port = port.lstrip("0") or ("0" if port else "")
    if not _HOST_RE.match(host):
        return None
    if port in ("", _DEFAULT_PORTS.get(scheme)):
        return host
    return f"{host}:{port}"


def clean_url(url: str) -> str:
    """What a browser parses: outer controls and spaces gone, no tabs or newlines."""
    return url.strip(_STRIP).translate(_DROP)


def is_same_origin(url: str, origin: Origin, base: str | None = None) -> bool:
    """Would a browser on ``origin`` send a request for ``url`` to this site?

    Fragment-only URLs and non-HTTP schemes are not links to rewrite, so they
    count as "no". With a ``base`` on another host, relative URLs are foreign.
    """
    url = clean_url(url)
    if url.startswith("#"):
        return False
    match = _SCHEME_RE.match(url)
    if match:
        scheme = match.group(1).lower()
        if scheme not in _DEFAULT_PORTS:
            return False
        rest = url[match.end() :].replace("\\", "/")
        if scheme == origin.scheme and not rest.startswith("/"):
            return base is None or is_same_origin(base, origin)
        return _authority_is_ours(rest, scheme, origin)
    slashed = url.replace("\\", "/")
    if slashed.startswith("//"):
        return _authority_is_ours(slashed, origin.scheme, origin)
    return base is None or is_same_origin(base, origin)


def _authority_is_ours(rest: str, scheme: str, origin: Origin) -> bool:
    rest = rest.lstrip("/")
    end = len(rest)
    for stop in "/?#":
        found = rest.find(stop)
        if found != -1 and found < end:
            end = found
    authority = rest[:end].rsplit("@", 1)[-1]
    key = _host_key(authority, scheme)
    return key is not None and key in origin.host_keys()


def has_param(url: str, name: str) -> bool:
    """Does the query of ``url`` already carry ``name`` (raw or percent-encoded)?"""
    query = url.split("#", 1)[0].partition("?")[2]
    return any(unquote(part.partition("=")[0]) == name for part in query.split("&"))


def param_text(name: str, value: str) -> str:
    return f"{quote(name, safe=':')}={quote(value, safe='')}"


def insert_params(raw: str, judged: str, params: t.Mapping[str, str], amp: str = "&") -> str:
    """Add the missing params to ``raw`` before its fragment; ``judged`` is
    ``raw`` as the browser reads it (entities decoded), used to see which
    params are there already; ``amp`` is how ``&`` is written."""
    missing = [param_text(n, v) for n, v in params.items() if not has_param(judged, n)]
    if not missing:
        return raw
    hash_at = raw.find("#")
    head, tail = (raw, "") if hash_at == -1 else (raw[:hash_at], raw[hash_at:])
    if "&amp;" in head.partition("?")[2]:
        amp = "&amp;"
    if "?" not in head:
        sep = "?"
    elif head.endswith(("?", "&")):
        sep = ""
    else:
        sep = amp
    return head + sep + amp.join(missing) + tail


def url_with_params(url: str, params: t.Mapping[str, str]) -> str:
    """``url`` with ``name=value`` for each param it does not carry yet,
    keeping any fragment last."""
    return insert_params(url, url, params)


def rewrite_location(location: str, params: t.Mapping[str, str], origin: Origin) -> str:
    """A same-origin redirect target gets the params; others stay as they are."""
    if params and is_same_origin(location, origin):
        return url_with_params(location, params)
    return location
