"""Adding session IDs to the links and forms of outgoing HTML, chunk by chunk.

One forward pass over the text, copying what it does not change: no DOM is
built, and nothing is scanned twice, so malformed input (thousands of unclosed
``<a`` or ``<!--``) costs no more than a clean page. An unterminated tag or
comment swallows the rest of the document, as it does in a browser, and a tag
longer than :data:`MAX_TAG` ends rewriting for the rest of the document, so
streaming holds back a bounded amount and always gives the same bytes as
rewriting the whole text at once.
"""

from __future__ import annotations

import html
import re
import typing as t

from .urls import insert_params
from .urls import is_same_origin
from .urls import Origin
from .urls import rewrite_location
from .urls import url_with_params

__all__ = [
    "HTMLRewriter",
    "Origin",
    "is_same_origin",
    "rewrite_html",
    "rewrite_location",
    "url_with_params",
]

#: The longest tag (from ``<`` to ``>``) that is still rewritten.
MAX_TAG = 65536

_LINK_ATTRS = {"a": "href", "area": "href", "frame": "src", "iframe": "src"}
_RAW_TEXT = frozenset(
    {"script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes"}
)
_TAG_NAME = re.compile(r"[A-Za-z][^\t\n\f\r />\x00]*")
_SPACE_SLASH = re.compile(r"[\t\n\f\r /]*")
_ATTR_NAME = re.compile(r"[^\t\n\f\r />][^\t\n\f\r />=]*")
_EQUALS = re.compile(r"[\t\n\f\r ]*=[\t\n\f\r ]*")
_UNQUOTED = re.compile(r"[^\t\n\f\r >]+")
_COMMENT_END = re.compile(r"--!?>")
_raw_end_cache: dict[str, re.Pattern[str]] = {}

_TEXT, _COMMENT, _BOGUS, _RAW, _PASS = range(5)


class _Incomplete(Exception):
    """The buffer ends inside the construct being read."""


class _Tag(t.NamedTuple):
    end: int
    name: str
    #: attribute name -> (value start, value end); the first one wins
    values: dict[str, tuple[int, int]]


def _raw_end(name: str) -> re.Pattern[str]:
    pattern = _raw_end_cache.get(name)
    if pattern is None:
        pattern = re.compile(rf"</{re.escape(name)}(?=[\t\n\f\r />])", re.IGNORECASE)
        _raw_end_cache[name] = pattern
    return pattern


def _parse_tag(buf: str, start: int) -> _Tag:
    """Read the start tag at ``buf[start]`` (``<`` then a letter) as the HTML
    tokenizer does; raise :exc:`_Incomplete` if it runs past the buffer."""
    n = len(buf)
    match = _TAG_NAME.match(buf, start + 1)
    if match is None:  # pragma: no cover - callers check for a letter
        raise _Incomplete
    name = match.group().lower()
    i = match.end()
    values: dict[str, tuple[int, int]] = {}
    while True:
        i = _SPACE_SLASH.match(buf, i).end()  # type: ignore[union-attr]
        if i >= n:
            raise _Incomplete
        if buf[i] == ">":
            return _Tag(i + 1, name, values)
        match = _ATTR_NAME.match(buf, i)
        attr = match.group().lower()  # type: ignore[union-attr]
        i = match.end()  # type: ignore[union-attr]
        if i >= n:
            raise _Incomplete
        equals = _EQUALS.match(buf, i)
        if equals is None:
            continue
        j = equals.end()
        if j >= n:
            raise _Incomplete
        quote = buf[j]
        if quote in "\"'":
            close = buf.find(quote, j + 1)
            if close == -1:
                raise _Incomplete
            span, i = (j + 1, close), close + 1
        elif quote == ">":
            span, i = (j, j), j
        else:
            i = _UNQUOTED.match(buf, j).end()  # type: ignore[union-attr]
            if i >= n:
                raise _Incomplete
            span = (j, i)
        values.setdefault(attr, span)


class HTMLRewriter:
    """Rewrite one HTML document fed in chunks.

    :param params: parameter name (``"_session:cart"``) to session ID.
    :param origin: the scheme and hosts that count as this site.
    """

    def __init__(self, params: t.Mapping[str, str], origin: Origin) -> None:
        self.params = dict(params)
        self.origin = origin
        self._buf = ""
        self._state = _TEXT
        self._raw_name = ""
        self._comment_fresh = False
        self._in_form = False
        self._base: str | None = None
        self._base_seen = False
        #: while a tag waits for its ``>``: how far the buffer is known to
        #: have none, so that each chunk is searched once
        self._scanned = 0
        self._tag_pending = False
        self._hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in self.params.items()
        )
        #: characters examined so far (the work done, for tests of linearity)
        self.steps = 0

    def feed(self, chunk: str) -> str:
        """Return the output that is final so far."""
        if not self.params:
            return chunk
        self._buf += chunk
        return self._run(final=False)

    def close(self) -> str:
        """Return everything held back; an incomplete tail leaves unchanged."""
        if not self.params:
            return ""
        return self._run(final=True)

    # -- the scanner -------------------------------------------------------------

    def _run(self, *, final: bool) -> str:
        buf = self._buf
        n = len(buf)
        out: list[str] = []
        pos = 0
        while pos < n:
            state = self._state
            if state == _PASS:
                out.append(buf[pos:])
                self.steps += n - pos
                pos = n
            elif state == _TEXT:
                lt = buf.find("<", pos)
                self.steps += (n if lt == -1 else lt) - pos
                if lt == -1:
                    out.append(buf[pos:])
                    pos = n
                    break
                out.append(buf[pos:lt])
                pos = lt
                if self._scanned and not final and n - pos <= MAX_TAG:
                    self.steps += n - pos - self._scanned
                    if buf.find(">", pos + self._scanned) == -1:
                        self._scanned = n - pos
                        break
                self._scanned = 0
                try:
                    pos = self._markup(buf, pos, out, final)
                except _Incomplete:
                    if final or n - pos > MAX_TAG:
                        self._state = _PASS
                        continue
                    if self._tag_pending:
                        self._scanned = n - pos
                    break
            elif state == _RAW:
                found = _raw_end(self._raw_name).search(buf, pos)
                if found is not None:
                    self.steps += found.start() - pos
                    out.append(buf[pos : found.start()])
                    pos = found.start()
                    self._state = _TEXT
                    continue
                keep = 0 if final else len(self._raw_name) + 3
                cut = max(pos, n - keep)
                self.steps += n - pos
                out.append(buf[pos:cut])
                pos = cut
                break
            else:
                pos = self._skip_comment(buf, pos, out, final)
                if self._state != _TEXT:
                    break
        self._buf = buf[pos:]
        if final:
            out.append(self._buf)
            self._buf = ""
        return "".join(out)

    def _skip_comment(self, buf: str, pos: int, out: list[str], final: bool) -> int:
        """Copy a comment (or a bogus one, ending at ``>``) through its end."""
        n = len(buf)
        done_at = -1
        if self._state == _BOGUS:
            end = buf.find(">", pos)
            if end != -1:
                done_at = end + 1
        else:
            if self._comment_fresh:
                if not final and (pos >= n or (buf[pos] == "-" and pos + 1 >= n)):
                    return pos
                self._comment_fresh = False
                if buf.startswith(">", pos):
                    done_at = pos + 1
                elif buf.startswith("->", pos):
                    done_at = pos + 2
            if done_at == -1:
                found = _COMMENT_END.search(buf, pos)
                if found is not None:
                    done_at = found.end()
        if done_at != -1:
            self._state = _TEXT
            stop = done_at
        else:
            # Keep what could begin the terminator; release the rest.
            keep = 0 if final or self._state == _BOGUS else 3
            stop = max(pos, n - keep)
        self.steps += stop - pos
        out.append(buf[pos:stop])
        return stop

    def _markup(self, buf: str, pos: int, out: list[str], final: bool) -> int:
        """Handle the markup at ``buf[pos] == "<"``; return where text resumes."""
        n = len(buf)
        if pos + 1 >= n:
            raise _Incomplete
        nxt = buf[pos + 1]
        if nxt == "!":
            if buf.startswith("<!--", pos):
                out.append("<!--")
                self._state, self._comment_fresh = _COMMENT, True
                return pos + 4
            if n - pos < 4 and "<!--".startswith(buf[pos:]):
                raise _Incomplete
            out.append("<!")
            self._state = _BOGUS
            return pos + 2
        if nxt == "?":
            out.append("<?")
            self._state = _BOGUS
            return pos + 2
        if nxt == "/":
            if pos + 2 >= n:
                raise _Incomplete
            if not buf[pos + 2].isascii() or not buf[pos + 2].isalpha():
                if buf[pos + 2] == ">":
                    out.append("</>")
                    return pos + 3
                out.append("</")
                self._state = _BOGUS
                return pos + 2
            name = _TAG_NAME.match(buf, pos + 2)
            self._tag_pending = True
            end = buf.find(">", pos)
            if name is None or end == -1 or name.end() >= n:
                raise _Incomplete
            self.steps += end + 1 - pos
            if end + 1 - pos > MAX_TAG:
                raise _Incomplete
            self._tag_pending = False
            if name.group().lower() == "form":
                self._in_form = False
            out.append(buf[pos : end + 1])
            return end + 1
        if not (nxt.isascii() and nxt.isalpha()):
            out.append("<")
            return pos + 1
        self._tag_pending = True
        tag = _parse_tag(buf, pos)
        self._tag_pending = False
        self.steps += tag.end - pos
        if tag.end - pos > MAX_TAG:
            raise _Incomplete
        return self._start_tag(buf, pos, tag, out, final)

    def _start_tag(self, buf: str, pos: int, tag: _Tag, out: list[str], final: bool) -> int:
        name = tag.name
        if name == "form":
            if self._in_form:
                out.append(buf[pos : tag.end])
                return tag.end
            hidden = self._hidden
            after = buf[tag.end : tag.end + len(hidden)]
            if not final and len(after) < len(hidden) and hidden.startswith(after):
                raise _Incomplete
            self._in_form = True
            out.append(buf[pos : tag.end])
            action = tag.values.get("action")
            url = "" if action is None else html.unescape(buf[action[0] : action[1]])
            if after != hidden and (not url.strip() or self._ours(url)):
                out.append(hidden)
            return tag.end
        if name == "base" and not self._base_seen and "href" in tag.values:
            start, end = tag.values["href"]
            self._base_seen = True
            self._base = html.unescape(buf[start:end])
        attr = _LINK_ATTRS.get(name)
        span = tag.values.get(attr) if attr else None
        if span is not None:
            raw = buf[span[0] : span[1]]
            judged = html.unescape(raw)
            if self._ours(judged):
                out.append(buf[pos : span[0]])
                out.append(insert_params(raw, judged, self.params))
                out.append(buf[span[1] : tag.end])
            else:
                out.append(buf[pos : tag.end])
        else:
            out.append(buf[pos : tag.end])
        if name == "plaintext":
            self._state = _PASS
        elif name in _RAW_TEXT:
            self._state, self._raw_name = _RAW, name
        return tag.end

    def _ours(self, url: str) -> bool:
        return is_same_origin(url, self.origin, self._base)


def rewrite_html(html_text: str, params: t.Mapping[str, str], origin: Origin) -> str:
    """Rewrite a whole document; the same as feeding it in any chunks."""
    rewriter = HTMLRewriter(params, origin)
    return rewriter.feed(html_text) + rewriter.close()
