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
from .urls import action_is_ours
from .urls import decode_attribute
from .urls import is_same_origin
from .urls import link_params
from .urls import LinkJudge
from .urls import Origin
from .urls import param_pairs
from .urls import rewrite_location
from .urls import url_with_params

__all__ = [
    "MAX_TAG",
    "HTMLRewriter",
    "Origin",
    "hidden_input",
    "is_same_origin",
    "rewrite_html",
    "rewrite_location",
    "url_with_params",
]

#: The longest tag, from ``<`` to ``>``, that is rewritten; longer ones are copied.
MAX_TAG = 65536

_LINK_ATTR = {"a": "href", "area": "href", "frame": "src", "iframe": "src"}
#: Elements whose content is text up to their end tag.
_RAW = frozenset({"iframe", "noembed", "noframes", "style", "textarea", "title", "xmp"})

# Scanner states: markup, comments, raw text, scripts (with the browsers'
# <!-- escapes), a tag too long to rewrite, and plain copying to the end.
_DATA, _COMMENT, _BOGUS, _RAWTEXT, _SCRIPT_DATA, _ESCAPED, _DOUBLE, _LONG_TAG, _PASS = range(9)
_SCRIPT_PATTERNS = {
    _SCRIPT_DATA: htmltags.SCRIPT,
    _ESCAPED: htmltags.SCRIPT_ESCAPED,
    _DOUBLE: htmltags.SCRIPT_DOUBLE,
}
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

    #: written around every inserted piece (tests use it to find them again)
    _MARK: t.ClassVar[tuple[str, str]] = ("", "")

    def __init__(self, params: t.Mapping[str, str], origin: Origin) -> None:
        self._params = dict(params)
        self._pairs = param_pairs(self._params)
        self._judge = LinkJudge(origin)
        self._inputs = {name: hidden_input(name, value) for name, value in self._params.items()}
        self._longest_input = max(map(len, self._inputs.values()), default=0)
        self._hidden = "".join(self._inputs.values()).join(self._MARK)
        self._buf = ""
        self._chunks: list[str] = []
        self._pending = 0
        #: gather this many more characters before trying again
        self._wait = 0
        self._state = _DATA
        self._raw_end: re.Pattern[str] = htmltags.SCRIPT
        self._raw_keep = 0
        self._long_state = htmltags.T_NAME
        self._long_name = ""
        self._in_form = False
        self._base_seen = False
        #: URL as written (quotes included) -> what to write instead
        self._decided: dict[str, str] = {}
        #: what a simple path ("/p/1/shoes") gets; "" once relative URLs are not ours
        self._simple = ("?" + "&".join(text for _, text in self._pairs)).join(self._MARK)
        #: characters examined, a measure of the work done
        self._steps = 0

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
        self._wait = len(self._buf) if self._state == _DATA else 0
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
            if state == _DATA:
                entry = pos
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
                self._steps += pos - entry
                if found_kind == _FORM_END:
                    self._in_form = False
                    continue
                if pos >= limit or self._state != _DATA:
                    continue  # the end, or just the window's
                if found_kind == _FORM:  # a form QUICK has read
                    action_span = quick.span(_ACTION)
                    action = action_span if action_span[0] >= 0 else None
                    end = quick.end()
                    self._steps += end - pos
                    found = self._form(buf, pos, end, action, out, final)
                else:
                    found = self._markup(buf, pos, out, final)
                if found == _MORE:
                    return pos
                pos = found
            elif state in (_COMMENT, _BOGUS):
                if state == _COMMENT:
                    match = htmltags.COMMENT_END.search(buf, pos)
                    end = -1 if match is None else match.end()
                else:
                    end = buf.find(">", pos)
                    end = -1 if end == -1 else end + 1
                if end == -1:  # keep what may begin "--!>"
                    end = n if final or state == _BOGUS else max(pos, n - 3)
                    self._steps += n - pos
                    append(buf[pos:end])
                    return end
                self._steps += end - pos
                append(buf[pos:end])
                pos = end
                self._state = _DATA
            elif state == _LONG_TAG:
                if self._long_state == htmltags.T_NAME and len(self._long_name) < 16:
                    name = htmltags.TAG_STATES[htmltags.T_NAME].match(buf, pos, pos + 16)
                    self._long_name += name.group()  # type: ignore[union-attr]
                tag_state, end = htmltags.long_tag_step(self._long_state, buf, pos)
                self._steps += end - pos
                append(buf[pos:end])
                pos = end
                if tag_state == -1:
                    self._state = _DATA
                    self._long_tag_done()
                else:
                    self._long_state = tag_state
            elif state == _PASS:
                self._steps += n - pos
                append(buf[pos:])
                return n
            else:
                end = self._raw_text(buf, pos, out, final)
                if self._state == state:
                    return end
                pos = end
        return pos

    def _raw_text(self, buf: str, pos: int, out: list[str], final: bool) -> int:
        """Copy raw text or script up to its end (or as far as is certain)."""
        state = self._state
        pattern = self._raw_end if state == _RAWTEXT else _SCRIPT_PATTERNS[state]
        match = pattern.search(buf, pos)
        if match is None:
            n = len(buf)
            end = n if final else max(pos, n - self._raw_keep)  # may begin the end tag
            self._steps += n - pos
            out.append(buf[pos:end])
            return end
        start = match.start()
        found = match.group()
        if found == "<!--":
            self._state, end = _ESCAPED, start + 2  # its "--" may begin "-->"
        elif found == "-->":
            self._state, end = _SCRIPT_DATA, match.end()
        elif state == _DOUBLE:
            self._state, end = _ESCAPED, match.end()
        elif state == _ESCAPED and match.group(1) == "":
            self._state, end = _DOUBLE, match.end()
        else:  # the end tag itself is read as a tag
            self._state, end = _DATA, start
        self._steps += end - pos
        out.append(buf[pos:end])
        return end

    def _markup(self, buf: str, pos: int, out: list[str], final: bool) -> int:
        """Handle the ``<`` at ``pos``; return where to go on, or ``_MORE``."""
        nxt = buf[pos + 1 : pos + 2]
        if nxt == "!":
            return self._bang(buf, pos, out, final)
        if nxt == "?":
            out.append("<?")
            self._state = _BOGUS
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
            self._state = _BOGUS if after else _DATA
            return pos + 2
        if nxt.isascii() and nxt.isalpha():
            return self._tag(buf, pos, out, final)
        if not nxt and not final:
            return _MORE
        out.append("<")
        return pos + 1

    def _bang(self, buf: str, pos: int, out: list[str], final: bool) -> int:
        """``<!--`` opens a comment (``<!-->`` and ``<!--->`` also close it);
        any other ``<!`` is a bogus comment or a doctype, up to ``>``."""
        head = buf[pos : pos + 6]
        if head.startswith("<!--"):
            if not final and head in ("<!--", "<!---"):
                return _MORE
            for abrupt in ("<!-->", "<!--->"):
                if head.startswith(abrupt):
                    out.append(abrupt)
                    return pos + len(abrupt)
            out.append("<!--")
            self._state = _COMMENT
            return pos + 4
        if not final and len(head) < 4 and "<!--".startswith(head):
            return _MORE
        out.append("<!")
        self._state = _BOGUS
        return pos + 2

    def _tag(self, buf: str, pos: int, out: list[str], final: bool) -> int:
        """The exact path for a start or end tag at ``pos``."""
        n = len(buf)
        limit = min(n, pos + MAX_TAG)
        match = htmltags.TAG.match(buf, pos, limit)
        name = match.group(1) if match is not None else ""
        key = name.lower() if name.isascii() else ""
        end_tag = buf[pos + 1] == "/"
        # QUICK tried this tag first; it reads no further than the tag's end
        if match is None:
            self._steps += n - pos + limit - pos
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
        end = match.end()
        self._steps += 2 * (end - pos)
        if end_tag:
            if key == "form":
                self._in_form = False
            out.append(buf[pos:end])
            return end
        if key == "form":
            action = htmltags.attributes(buf, match).get("action")
            return self._form(buf, pos, end, action, out, final)
        attr = _LINK_ATTR.get(key)
        value = None
        if attr is not None or key == "base":
            value = htmltags.attributes(buf, match).get(attr or "href")
        if attr is not None and value is not None and value[0] >= 0:
            token = buf[value[0] : value[1]]
            new = self._decided.get(token)
            if new is None:
                new = self._decide(token)
            out.append(buf[pos : value[0]])
            out.append(new)
            out.append(buf[value[1] : end])
        else:
            if key == "base" and value is not None and not self._base_seen:
                self._base_seen = True
                self._set_base(decode_attribute(_unquote(buf[value[0] : value[1]])))
            out.append(buf[pos:end])
        self._enter(key)
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
            self._state = _SCRIPT_DATA
            self._raw_keep = 8  # "</script" may begin at the end of a chunk
        elif key in _RAW:
            self._state = _RAWTEXT
            self._raw_end = htmltags.raw_end(key)
            self._raw_keep = len(key) + 2
        elif key == "plaintext":
            self._state = _PASS

    def _long_tag_done(self) -> None:
        """A tag too long to rewrite has ended: keep the state right and, for
        a ``<base>``, assume the worst."""
        key = self._long_name.lower() if self._long_name.isascii() else ""
        if key == "/form":
            self._in_form = False
        elif key == "form":
            self._in_form = True
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
            left, right = self._MARK
            if not quote:  # the query needs quotes around it, if they fit
                quote = '"' if '"' not in raw else "'" if "'" not in raw else ""
                if quote:
                    quote = f"{left}{quote}{right}"
            new = f"{quote}{raw[:at]}{left}{text}{right}{raw[at:]}{quote}"
        if len(self._decided) >= 4096:
            self._decided.clear()
        self._decided[token] = new
        return new

    def _form(
        self,
        buf: str,
        pos: int,
        end: int,
        action: tuple[int, int] | None,
        out: list[str],
        final: bool,
    ) -> int:
        """A form tag ``buf[pos:end]``: unless nested, and if it submits here,
        it gets the hidden inputs it does not have right after it (browsers
        ignore nested forms). ``action`` is the span of that attribute."""
        if self._in_form:
            out.append(buf[pos:end])
            return end
        # inputs already there (a second pass, or session_hidden_input)
        present: set[str] = set()
        cursor = end
        while buf.startswith("<input", cursor) or (
            not final and len(buf) - cursor < 6 and "<input".startswith(buf[cursor:])
        ):
            rest = buf[cursor : cursor + self._longest_input]
            for name, text in self._inputs.items():
                if name not in present and buf.startswith(text, cursor):
                    present.add(name)
                    cursor += len(text)
                    break
            else:
                if not final and any(
                    len(rest) < len(text) and text.startswith(rest)
                    for name, text in self._inputs.items()
                    if name not in present
                ):
                    return _MORE
                break
        self._in_form = True
        out.append(buf[pos:end])
        if end - pos <= MAX_TAG and (
            action is None or action_is_ours(_unquote(buf[action[0] : action[1]]), self._judge)
        ):
            if not present:
                out.append(self._hidden)
            elif len(present) < len(self._inputs):
                missing = "".join(t for n, t in self._inputs.items() if n not in present)
                out.append(missing.join(self._MARK))
        return end


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
