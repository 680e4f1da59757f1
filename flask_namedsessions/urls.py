"""Judging URLs the way a browser resolves them, and adding parameters to them.

A session ID must never reach another host, so a URL counts as same-origin
only when a browser (the WHATWG URL parser) would send it to this site: outer
controls and spaces are stripped, tabs and newlines dropped, ``\\`` read as
``/``, extra slashes after the scheme ignored and userinfo skipped. Hosts are
compared as plain ASCII; anything a browser would have to normalise first
(percent-escapes, IDNA, a trailing dot, numeric IPv4 forms) counts as foreign.
"""

from __future__ import annotations

import dataclasses
import functools
import html
import html.entities
import re
import typing as t
from urllib.parse import quote
from urllib.parse import unquote

__all__ = [
    "SIMPLE_PATH",
    "LinkJudge",
    "Origin",
    "ParamPairs",
    "action_is_ours",
    "add_params",
    "clean_url",
    "decode_attribute",
    "is_link",
    "is_same_origin",
    "link_params",
    "param_pairs",
    "rewrite_location",
    "url_with_params",
]

#: What the URL parser strips from both ends: C0 controls and space.
_STRIP = "".join(chr(i) for i in range(0x21))
_DROP = str.maketrans("", "", "\t\n\r")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
_AUTHORITY = re.compile(r"[/\\]*([^/\\?#]*)")
_HOST_PORT = re.compile(r"([a-z0-9_\-]+(?:\.[a-z0-9_\-]+)*|\[[0-9a-f:.]+\])(?::([0-9]*))?\Z")
_DEFAULT_PORTS = {"http": 80, "https": 443}
#: html.unescape's own pattern, so that each match decodes as it would.
_CHARREF = re.compile(r"&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)")
_ALNUM_EQ = re.compile(r"[A-Za-z0-9=]")
_ENTITIES = html.entities.html5
#: A URL with nothing to decode or strip: printable ASCII, "&" only as "&amp;".
_PLAIN = re.compile(r"[!-%'-~]*(?:&amp;[!-%'-~]*)*\Z")
#: A relative URL without scheme, host, query, fragment or anything to decode.
SIMPLE_PATH = r"(?![/\\]{2})[!$%(-9;=@-\[\]-~]+"
#: Link shapes that need no decoding: a simple path (group 1), or a plain URL,
#: which may be absolute http(s) without userinfo (scheme, authority: 2, 3).
_SHAPE = re.compile(
    rf"({SIMPLE_PATH})\Z|(?=[!-%'-~]*(?:&amp;[!-%'-~]*)*\Z)"
    r"(?:([hH][tT][tT][pP][sS]?)://([^/\\?#@&]+)(?=[/?#]|\Z))?"
)

#: (name, "name=value" as it goes in a query) for each parameter
ParamPairs = tuple[tuple[str, str], ...]


@dataclasses.dataclass(frozen=True)
class Origin:
    """Who counts as "this site" for one response.

    :param scheme: the request's scheme, ``"http"`` or ``"https"``.
    :param host: the request's host, with a port if it has one.
    :param extra_hosts: more hosts of the same site (``NAMEDSESSIONS_LINK_HOSTS``),
        written like ``host``.
    """

    scheme: str
    host: str
    extra_hosts: frozenset[str] = frozenset()


def _host_key(authority: str, scheme: str) -> str | None:
    """``host`` or ``host:port`` in lower case, without the scheme's default
    port; ``None`` for anything that is not a plain ASCII host."""
    if not authority.isascii():
        return None
    match = _HOST_PORT.match(authority.lower())
    if match is None:
        return None
    host, port = match.groups()
    if port:
        number = int(port)
        if number > 65535:
            return None
        if number != _DEFAULT_PORTS.get(scheme):
            return f"{host}:{number}"
    return host


@functools.lru_cache(maxsize=64)
def _origin_keys(origin: Origin) -> frozenset[str]:
    hosts = (origin.host, *origin.extra_hosts)
    keys = (_host_key(h, origin.scheme.lower()) for h in hosts)
    return frozenset(k for k in keys if k is not None)


def clean_url(url: str) -> str:
    """The text the URL parser reads: ends stripped, tabs and newlines gone."""
    url = url.strip(_STRIP)
    if "\t" in url or "\n" in url or "\r" in url:
        url = url.translate(_DROP)
    return url


def is_link(url: str) -> bool:
    """Is this cleaned URL worth a parameter? Not when it only moves within
    the page (``#top``)."""
    return url[:1] != "#"


class LinkJudge:
    """Same-origin decisions for one document, which may set a ``<base>``.

    :param origin: the site the document came from.
    """

    __slots__ = ("_base_ours", "_context", "_hosts", "_keys", "_scheme")

    def __init__(self, origin: Origin) -> None:
        self._keys = _origin_keys(origin)
        self._scheme = origin.scheme.lower()
        #: the scheme that scheme-relative and "http:path" URLs take; None if not HTTP
        self._context: str | None = self._scheme
        self._base_ours = True
        self._hosts: dict[tuple[str, str], bool] = {}

    def set_base(self, base: str | None) -> None:
        """Resolve what follows against ``base`` (``None``: one that could not
        be read, so nothing relative is ours)."""
        url = None if base is None else clean_url(base)
        if url is not None:
            scheme = _SCHEME.match(url)
            if scheme is not None and scheme.group(1).lower() in ("javascript", "data"):
                return  # browsers ignore such a base: the document's URL stays
        target = None if url is None else self._target(url)
        if target is None:
            self._context, self._base_ours = None, False
        elif target[0]:
            self._context, self._base_ours = target[0], self.absolute_ours(*target)
        # a relative base resolves against the document: nothing changes

    def _target(self, url: str) -> tuple[str, str] | None:
        """``(scheme, authority)`` of an absolute URL, ``("", "")`` for one
        relative to the base, ``None`` if it is not an HTTP URL."""
        match = _SCHEME.match(url)
        if match is not None:
            scheme = match.group(1).lower()
            if scheme not in _DEFAULT_PORTS:
                return None
            rest = url[match.end() :]
            if scheme == self._context and rest[:2] not in ("//", "\\\\", "/\\", "\\/"):
                return "", ""  # "http:path" on an http page is relative
        elif url[:2] in ("//", "\\\\", "/\\", "\\/"):
            if self._context is None:
                return None
            scheme, rest = self._context, url
        else:
            return "", ""
        authority = _AUTHORITY.match(rest).group(1)  # type: ignore[union-attr]
        return scheme, authority.rpartition("@")[2]

    def absolute_ours(self, scheme: str, authority: str) -> bool:
        """Is ``scheme://authority`` (no userinfo) this site?"""
        if scheme == "http" and self._scheme == "https":
            return False  # never send the ID in clear text from a secure page
        found = self._hosts.get((scheme, authority))
        if found is None:
            if len(self._hosts) >= 256:
                self._hosts.clear()
            found = self._hosts[scheme, authority] = _host_key(authority, scheme) in self._keys
        return found

    @property
    def relative_ours(self) -> bool:
        """Are URLs relative to the base ours?"""
        return self._base_ours

    def ours(self, url: str) -> bool:
        """Would a browser send ``url`` (already cleaned) to this site?"""
        target = self._target(url)
        if target is None:
            return False
        if not target[0]:
            return self._base_ours
        return self.absolute_ours(*target)


def is_same_origin(url: str, origin: Origin, base: str | None = None) -> bool:
    """Would a browser showing a page from ``origin`` send ``url`` to this site?

    Relative URLs are ours unless ``base`` (a ``<base href>``) points
    elsewhere. Only ``http`` and ``https`` URLs can be ours, and an ``https``
    page's ``http`` links are not: the ID would travel in clear text.
    """
    judge = LinkJudge(origin)
    if base is not None:
        judge.set_base(base)
    return judge.ours(clean_url(url))


def param_pairs(params: t.Mapping[str, str]) -> ParamPairs:
    """Each param with its query text, percent-encoded once for all URLs."""
    return tuple((n, f"{quote(n, safe=':')}={quote(v, safe=':')}") for n, v in params.items())


def _has_param(query: str, name: str) -> bool:
    if "%" not in query:
        return any(part.partition("=")[0] == name for part in query.split("&"))
    return any(unquote(part.partition("=")[0]) == name for part in query.split("&"))


def _pieces(raw: str) -> list[tuple[int, int, str]]:
    """``raw`` as a browser decodes an attribute value: (start, end, text)
    pieces. A legacy reference without ``;`` stays as written before ``=`` or
    an alphanumeric (``?a=1&copy=2``), as in browsers and unlike
    :func:`html.unescape`."""
    pieces: list[tuple[int, int, str]] = []
    pos = 0
    for match in _CHARREF.finditer(raw):
        start, end = match.span()
        if start > pos:
            pieces.append((pos, start, raw[pos:start]))
        body = match.group(1)
        if body.startswith("#"):
            text = html.unescape(match.group())
        elif body in _ENTITIES:
            text = _ENTITIES[body]
        else:
            text = match.group()
            for size in range(len(body) - 1, 1, -1):
                if body[:size] in _ENTITIES:
                    if not _ALNUM_EQ.match(body[size]):
                        text = _ENTITIES[body[:size]] + body[size:]
                    break
        pieces.append((start, end, text))
        pos = end
    if pos < len(raw):
        pieces.append((pos, len(raw), raw[pos:]))
    return pieces


def decode_attribute(raw: str) -> str:
    """An attribute value as the browser sees it: references decoded, NUL
    replaced (the tokenizer's U+FFFD, which the URL parser does not strip)."""
    if "&" in raw:
        raw = "".join(text for _, _, text in _pieces(raw))
    return raw.replace("\x00", "\ufffd") if "\x00" in raw else raw


def _insert_at(raw: str, pieces: list[tuple[int, int, str]], strip: str = _STRIP) -> int:
    """Where the query of ``raw`` ends: before its fragment, else before the
    ``strip`` characters (spaces and controls) a browser strips from the end."""
    for start, stop, text in pieces:
        found = text.find("#")
        if found != -1:
            literal = stop - start == len(text)
            return start + found if literal else start
    end = len(raw)
    for start, stop, text in reversed(pieces):
        kept = text.rstrip(strip)
        if stop - start == len(text):  # written as it reads
            end = start + len(kept)
        elif not kept:  # a reference to a space or a control
            end = start
        if kept:
            break
    return end


def _query_text(judged: str, raw_head: str, params: ParamPairs, attribute: bool) -> str:
    """What to append to a URL that reads ``judged`` and whose query is written
    in ``raw_head``: the missing params with the separator they need."""
    _, mark, query = judged.partition("#")[0].partition("?")
    if query:
        encoded = "%" in query
        missing = [
            text
            for name, text in params
            if not ((encoded or name in query) and _has_param(query, name))
        ]
        if not missing:
            return ""
    else:
        missing = [text for _, text in params]
    amp = "&amp;" if attribute and "&amp;" in raw_head else "&"
    if not mark:
        sep = "?"
    elif query == "" or query[-1] == "&":
        sep = ""
    else:
        sep = amp
    return sep + amp.join(missing)


def add_params(raw: str, params: ParamPairs, *, attribute: bool) -> tuple[int, str]:
    """Where in ``raw`` to insert, and what, so the URL carries every param.

    The text goes before the fragment, or before the trailing spaces a browser
    strips; it is empty when every param is there already. With ``attribute``,
    ``raw`` is an HTML attribute value: it is judged with its character
    references decoded, and ``&`` is written ``&amp;`` when the query is.
    """
    if _PLAIN.match(raw):
        judged = raw.replace("&amp;", "&") if attribute and "&" in raw else raw
        hash_at = raw.find("#")
        insert_at = len(raw) if hash_at == -1 else hash_at
    else:
        pieces = _pieces(raw) if attribute and "&" in raw else [(0, len(raw), raw)]
        # In an attribute a NUL is already U+FFFD, which the URL keeps.
        insert_at = _insert_at(raw, pieces, _STRIP[1:] if attribute else _STRIP)
        # the browser strips the ends of the whole URL, not of the part before "#"
        joined = "".join(text for _, _, text in pieces)
        judged = clean_url(joined.replace("\x00", "\ufffd") if attribute else joined)
    return insert_at, _query_text(judged, raw[:insert_at], params, attribute)


def link_params(raw: str, judge: LinkJudge, params: ParamPairs) -> tuple[int, str]:
    """For a link's attribute value as written: where and what to insert, or
    ``(0, "")`` when the link is not ours or carries every param already.

    The common shapes take a shortcut; anything to decode or strip gets the
    full rules, which give the same answer (a property test holds them to it).
    """
    shape = _SHAPE.match(raw)
    if shape is None:
        url = clean_url(decode_attribute(raw))
        if not is_link(url) or not judge.ours(url):
            return 0, ""
        return add_params(raw, params, attribute=True)
    if shape.start(1) >= 0:  # "/p/1/shoes": nothing to judge but the base
        if not judge.relative_ours:
            return 0, ""
        return len(raw), "?" + "&".join(text for _, text in params)
    # nothing to decode but "&amp;", nothing to strip
    url = raw.replace("&amp;", "&") if "&" in raw else raw
    if url[:1] == "#":
        return 0, ""
    if shape.start(2) >= 0:
        if not judge.absolute_ours(shape.group(2).lower(), shape.group(3)):
            return 0, ""
    elif not judge.ours(url):
        return 0, ""
    hash_at = raw.find("#")
    insert_at = len(raw) if hash_at == -1 else hash_at
    return insert_at, _query_text(url, raw[:insert_at], params, True)


def action_is_ours(raw: str, judge: LinkJudge) -> bool:
    """Does a form whose ``action`` is written ``raw`` submit to this site?
    An empty action is the document's own URL, whatever the base."""
    url = raw.replace("&amp;", "&") if _PLAIN.match(raw) else decode_attribute(raw)
    return url == "" or judge.ours(clean_url(url))


def url_with_params(url: str, params: t.Mapping[str, str]) -> str:
    """``url`` with ``name=value`` for each param it does not carry yet.

    A param counts as present when the query has its name, raw or
    percent-encoded. The fragment stays last.
    """
    if not params:
        return url
    at, text = add_params(url, param_pairs(params), attribute=False)
    return url[:at] + text + url[at:] if text else url


def rewrite_location(location: str, params: t.Mapping[str, str], origin: Origin) -> str:
    """A same-origin redirect target gets the params; others stay as they are."""
    cleaned = clean_url(location)
    if params and cleaned and is_link(cleaned) and is_same_origin(cleaned, origin):
        return url_with_params(location, params)
    return location
