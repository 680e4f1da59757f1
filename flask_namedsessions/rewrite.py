"""Adding session IDs to the links and forms of outgoing HTML, chunk by chunk.

One forward pass that copies what it does not change and builds no tree.
Tags are read with the HTML tokenizer's rules (quotes hide ``>``, ``=`` may
start a name, a script ends where a browser ends it), so nothing inside
``<script>``, ``<style>``, ``<textarea>``, ``<title>`` or a comment is touched
and no ``<base>`` goes unseen. One regular expression skips text and the tags
that need nothing and reads the next link; only forms, ``<base>``, comments,
raw-text elements and odd tags reach the slower, exact path.

Each character is read a bounded number of times: an unterminated tag or
comment runs to the end of the document (as in a browser), and a tag longer
than :data:`MAX_TAG` is copied unchanged while its end is found. So malformed
input costs no more than a clean page, streaming holds back at most about
``2 * MAX_TAG`` characters, and any split into chunks gives the same output as
rewriting the whole text at once.
"""

from __future__ import annotations

import html
import re
import typing as t

from . import htmltags
from . import rawtext
from .forms import Forms
from .urls import decode_attribute
from .urls import link_params
from .urls import LinkJudge

# Transitional: each "name as name" below is a re-export for linking.py,
# responses.py and templating.py until the restructured package, which imports
# them from .urls, replaces those; then drop the "as name" parts and the two
# imports this module does not use (rewrite_location, url_with_params).
from .urls import Origin as Origin
from .urls import param_pairs
from .urls import rewrite_location as rewrite_location
from .urls import url_with_params as url_with_params

__all__ = ["MAX_TAG", "HTMLRewriter", "hidden_input", "rewrite_html"]

#: The longest tag, from ``<`` to ``>``, that is rewritten; longer ones are copied.
MAX_TAG = 65536

_LINK_ATTR = {"a": "href", "area": "href", "frame": "src", "iframe": "src"}

# Scanner states besides those of rawtext: a tag too long to rewrite, and
# plain copying to the end.
_LONG_TAG, _PASS = 100, 101
# What QUICK found (its lastindex) and the groups of a link and a form.
_LINK, _URL, _SIMPLE_PATH, _FORM, _ACTION, _FORM_END = range(1, 7)
#: Returned when the buffer ends too early to decide.
_MORE = -1
#: How far one QUICK match may read: the re module keeps a little state for
#: each tag it passes, so unbounded runs of tags would cost memory.
_WINDOW = 32768


def _unquote(token: str) -> str:
    """An attribute value as written, without its quotes."""
    return token[1:-1] if token[:1] in ("'", '"') else token


class HTMLRewriter:
    """Rewrite one HTML document fed in chunks of text.

    :param params: parameter name (``"_session:cart"``) to session ID.
    :param origin: the scheme and hosts that count as this site.
    """

    def __init__(self, params: t.Mapping[str, str], origin: Origin) -> None:
        self._params = dict(params)
        self._pairs = param_pairs(self._params)
        self._judge = LinkJudge(origin)
        inputs = {name: hidden_input(name, value) for name, value in self._params.items()}
        self._forms = Forms(inputs, self._judge)
        self._buf = ""
        self._chunks: list[str] = []
        self._pending = 0
        #: gather this many more characters before trying again
        self._wait = 0
        self._state = rawtext.DATA
        #: the element whose raw text is being read
        self._element = ""
        self._long_state = htmltags.T_NAME
        self._long_name = ""
        self._base_seen = False
        #: URL as written (quotes included) -> what to write instead
        self._decided: dict[str, str] = {}
        #: what a simple path ("/p/1/shoes") gets; "" once relative URLs are not ours
        self._simple = "?" + "&".join(text for _, text in self._pairs)

    def feed(self, chunk: str) -> str:
        """Return the output that is final so far; hold back only what may
        still change (an incomplete tag, or the few characters that may begin
        an end marker)."""
        if not self._params:
            return chunk
        self._chunks.append(chunk)
        self._pending += len(chunk)
        if self._pending < self._wait:
            return ""
        return self._process(final=False)

    def close(self) -> str:
        """Return everything held back; an incomplete tag stays as it is."""
        if not self._params:
            return ""
        return self._process(final=True)

    def _process(self, *, final: bool) -> str:
        buf = self._buf + "".join(self._chunks)
        self._chunks.clear()
        self._pending = 0
        out: list[str] = []
        pos = self._run(buf, out, final)
        self._buf = buf[pos:]
        # what is left is markup that needs more text: try again once its
        # length has doubled, so retries cost linear time in all
        self._wait = len(self._buf) if self._state == rawtext.DATA else 0
        return "".join(out)

    def _run(self, buf: str, out: list[str], final: bool) -> int:
        """Rewrite ``buf`` into ``out``; return where the unfinished rest starts."""
        n = len(buf)
        pos = 0
        append = out.append
        # QUICK matches everywhere, if only the empty string
        quick_match: t.Callable[[str, int, int], re.Match[str]] = htmltags.QUICK.match  # type: ignore[assignment]
        decided = self._decided
        max_tag = MAX_TAG
        while pos < n:
            state = self._state
            if state == rawtext.DATA:
                simple = self._simple
                limit = min(n, pos + _WINDOW)
                while True:  # links, as long as QUICK finds them
                    quick = quick_match(buf, pos, limit)
                    found_kind = quick.lastindex
                    if found_kind != _LINK:
                        break
                    end = quick.end()
                    start = quick.start(_LINK)
                    if end - start > max_tag:
                        append(buf[pos:end])
                    elif simple and (path_end := quick.end(_SIMPLE_PATH)) >= 0:
                        append(buf[pos:path_end])
                        append(simple)
                        append(buf[path_end:end])
                    else:
                        value_start, value_end = quick.span(_URL)
                        if value_start < 0:
                            append(buf[pos:end])
                        else:
                            token = buf[value_start:value_end]
                            new = decided.get(token)
                            if new is None:
                                new = self._decide(token)
                            if new == token:
                                append(buf[pos:end])
                            else:
                                append(buf[pos:value_start])
                                append(new)
                                append(buf[value_end:end])
                    pos = end
                    if buf[start + 1] in "iI":
                        self._enter("iframe")
                        break
                if found_kind != _LINK:
                    end = quick.start(_FORM) if found_kind == _FORM else quick.end()
                    if end > pos:
                        append(buf[pos:end])
                        pos = end
                if found_kind == _FORM_END:
                    self._forms.end()
                    continue
                if pos >= limit or self._state != rawtext.DATA:
                    continue  # the end, or just the window's
                if found_kind == _FORM:  # a form QUICK has read
                    action_start, action_end = quick.span(_ACTION)
                    action = _unquote(buf[action_start:action_end]) if action_start >= 0 else None
                    found = self._form(buf, pos, quick.end(), action, out, final)
                else:
                    found = self._markup(buf, pos, out, final)
                if found == _MORE:
                    return pos
                pos = found
            elif state == _LONG_TAG:
                if self._long_state == htmltags.T_NAME and len(self._long_name) < 16:
                    name = htmltags.TAG_STATES[htmltags.T_NAME].match(buf, pos, pos + 16)
                    self._long_name += name.group()  # type: ignore[union-attr]
                tag_state, end = htmltags.long_tag_step(self._long_state, buf, pos)
                append(buf[pos:end])
                pos = end
                if tag_state == -1:
                    self._state = rawtext.DATA
                    self._long_tag_done()
                else:
                    self._long_state = tag_state
            elif state == _PASS:
                append(buf[pos:])
                return n
            else:
                self._state, end = rawtext.read(state, self._element, buf, pos, final)
                append(buf[pos:end])
                if self._state == state:
                    return end
                pos = end
        return pos

    def _markup(self, buf: str, pos: int, out: list[str], final: bool) -> int:
        """Handle the ``<`` at ``pos``; return where to go on, or ``_MORE``."""
        nxt = buf[pos + 1 : pos + 2]
        if nxt == "!":
            opened = rawtext.declaration(buf, pos, final, cdata=False)
            if opened is None:
                return _MORE
            self._state, end = opened
            out.append(buf[pos:end])
            return end
        if nxt == "?":
            out.append("<?")
            self._state = rawtext.BOGUS
            return pos + 2
        if nxt == "/":
            after = buf[pos + 2 : pos + 3]
            if after.isascii() and after.isalpha():
                return self._tag(buf, pos, out, final)
            if after == ">":
                out.append("</>")
                return pos + 3
            if not after and not final:
                return _MORE
            out.append("</")
            self._state = rawtext.BOGUS if after else rawtext.DATA
            return pos + 2
        if nxt.isascii() and nxt.isalpha():
            return self._tag(buf, pos, out, final)
        if not nxt and not final:
            return _MORE
        out.append("<")
        return pos + 1

    def _tag(self, buf: str, pos: int, out: list[str], final: bool) -> int:
        """The exact path for a start or end tag at ``pos``."""
        n = len(buf)
        limit = min(n, pos + MAX_TAG)
        match = htmltags.TAG.match(buf, pos, limit)
        end_tag = buf[pos + 1] == "/"
        # QUICK tried this tag first; it reads no further than the tag's end
        if match is None:
            if limit < pos + MAX_TAG:
                if not final:
                    return _MORE
                self._state = _PASS  # it never ends: browsers drop it
                return pos
            start = pos + 2 if end_tag else pos + 1
            self._long_name = "/" if end_tag else ""
            self._long_state = htmltags.T_NAME
            self._state = _LONG_TAG
            out.append(buf[pos:start])
            return start
        name = match.group(1)
        key = name.lower() if name.isascii() else ""
        end = match.end()
        if end_tag:
            if key == "form":
                self._forms.end()
            out.append(buf[pos:end])
            return end
        if key == "form":
            action = htmltags.attributes(buf, match).get("action")
            value = None if action is None else _unquote(buf[action[0] : action[1]])
            return self._form(buf, pos, end, value, out, final)
        attr = _LINK_ATTR.get(key)
        span = None
        if attr is not None or key == "base":
            span = htmltags.attributes(buf, match).get(attr or "href")
        if attr is not None and span is not None and span[0] >= 0:
            token = buf[span[0] : span[1]]
            new = self._decided.get(token)
            if new is None:
                new = self._decide(token)
            out.append(buf[pos : span[0]])
            out.append(new)
            out.append(buf[span[1] : end])
        else:
            if key == "base" and span is not None and not self._base_seen:
                self._base_seen = True
                self._set_base(decode_attribute(_unquote(buf[span[0] : span[1]])))
            out.append(buf[pos:end])
        self._enter(key)
        return end

    def _form(
        self, buf: str, pos: int, end: int, action: str | None, out: list[str], final: bool
    ) -> int:
        """The form start tag ``buf[pos:end]`` and what goes after it."""
        if end - pos > MAX_TAG:
            self._forms.unreadable()
            out.append(buf[pos:end])
            return end
        inserted = self._forms.start(buf, end, action, final)
        if inserted is None:
            return _MORE
        out.append(buf[pos:end])
        out.append(inserted)
        return end

    def _set_base(self, base: str | None) -> None:
        """Judge what follows against ``base`` (``None``: one too long to read)."""
        self._judge.set_base(base)
        self._decided.clear()
        if not self._judge.relative_ours:
            self._simple = ""

    def _enter(self, key: str) -> None:
        """Switch to the content state that start tag ``key`` implies."""
        if key == "script":
            self._state = rawtext.SCRIPT
        elif key in rawtext.RAW_ELEMENTS:
            self._state = rawtext.RAWTEXT
            self._element = key
        elif key == "plaintext":
            self._state = _PASS

    def _long_tag_done(self) -> None:
        """A tag too long to rewrite has ended: keep the state right and, for
        a ``<base>``, assume the worst."""
        key = self._long_name.lower() if self._long_name.isascii() else ""
        if key == "/form":
            self._forms.end()
        elif key == "form":
            self._forms.unreadable()
        elif key == "base" and not self._base_seen:
            self._base_seen = True
            self._set_base(None)
        else:
            self._enter(key)

    def _decide(self, token: str) -> str:
        """The attribute value ``token`` (as written, quotes included) with
        the params in its URL, or ``token`` itself when it stays; cached."""
        quote = token[:1]
        if quote == '"' or quote == "'":
            raw = token[1:-1]
        else:
            quote, raw = "", token
        at, text = link_params(raw, self._judge, self._pairs)
        new = token
        if text:
            if not quote:  # the query needs quotes around it, if they fit
                quote = '"' if '"' not in raw else "'" if "'" not in raw else ""
            new = f"{quote}{raw[:at]}{text}{raw[at:]}{quote}"
        if len(self._decided) >= 4096:
            self._decided.clear()
        self._decided[token] = new
        return new


def hidden_input(name: str, value: str) -> str:
    """The hidden input that carries one session's ID in a form; the
    template helper writes the same text, so the rewriter sees it is there."""
    return f'<input type="hidden" name="{html.escape(name)}" value="{html.escape(value)}">'


def rewrite_html(html_text: str, params: t.Mapping[str, str], origin: Origin) -> str:
    """Rewrite a whole document; the same as feeding it in any chunks.

    :param html_text: the document, decoded (latin-1 keeps every byte).
    :param params: parameter name to session ID; empty changes nothing.
    :param origin: the scheme and hosts that count as this site.
    """
    rewriter = HTMLRewriter(params, origin)
    return rewriter.feed(html_text) + rewriter.close()
