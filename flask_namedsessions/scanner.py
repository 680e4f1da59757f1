"""Reading one document's markup as a browser's tokenizer does (internal).

Tags are read with the tokenizer's rules (quotes hide ``>``, ``=`` may start a
name, a script ends where a browser ends it), and raw text where a browser
reads raw text (:mod:`.foreign` says where, for SVG and MathML). One regular
expression skips text and the tags that need nothing and reads the next link;
forms, ``<base>``, comments, raw text, SVG and MathML and odd tags take the
exact path. An unterminated tag or comment runs to the end of the document (as
in a browser), and a tag longer than :data:`MAX_TAG` is copied unchanged while
its end is found, so each character is read a bounded number of times.
"""

from __future__ import annotations

import re
import typing as t

from . import foreign
from . import htmltags
from . import rawtext
from .forms import Forms
from .links import Links
from .urls import decode_attribute
from .urls import LinkJudge
from .urls import Origin
from .urls import ParamPairs

__all__ = ["MAX_TAG", "Scanner"]

#: The longest tag, from ``<`` to ``>``, that is rewritten; longer ones are copied.
MAX_TAG = 65536

_LINK_ATTR = {"a": "href", "area": "href", "frame": "src", "iframe": "src"}
_RAW = frozenset({*rawtext.RAW_ELEMENTS, "script", "plaintext"})
#: Start tags whose attributes the rewriter reads.
_READ_ATTRIBUTES = frozenset(
    {*_LINK_ATTR, *foreign.NEEDS_ATTRIBUTES, "base", "form", "button", "input"}
)
#: Start tags that take the exact path in SVG and MathML too.
_EXACT_IN_FOREIGN = frozenset(
    {*_LINK_ATTR, *foreign.NEEDS_ATTRIBUTES, *_RAW, "base", "form", "button", "input"}
    | {"svg", "math", "frameset"}
)
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
#: In a form tag, what may begin an id attribute.
_ID = re.compile("[iI][dD]")


def _unquote(token: str) -> str:
    """An attribute value as written, without its quotes."""
    return token[1:-1] if token[:1] in ("'", '"') else token


class Scanner:
    """Read the markup of one document, a buffer at a time, into its output.

    :param pairs: the parameters, with their query text.
    :param inputs: parameter name to the hidden input that carries it.
    :param origin: the scheme and hosts that count as this site.
    """

    def __init__(self, pairs: ParamPairs, inputs: t.Mapping[str, str], origin: Origin) -> None:
        self._judge = LinkJudge(origin)
        self._links = Links(pairs, self._judge)
        self._out: list[str] = []
        self._forms = Forms(inputs, self._judge, self._out)
        self._tree = foreign.Tree()
        #: where the buffer being read starts in the document
        self._offset = 0
        self._state = rawtext.DATA
        #: the element whose raw text is being read
        self._element = ""
        self._long = htmltags.LongTag(False)

    @property
    def in_markup(self) -> bool:
        """Is what is left unread markup that needs more text (not text of a
        comment, raw text or a tag too long to rewrite)?"""
        return self._state == rawtext.DATA

    def run(self, buf: str, offset: int, final: bool) -> int:
        """Read ``buf``, which starts at ``offset`` in the document; return
        where the unfinished rest starts (all of it when ``final``)."""
        self._offset = offset
        n = len(buf)
        pos = 0
        out = self._out
        while pos < n:
            state = self._state
            if state == rawtext.DATA:
                tree = self._tree
                if tree.plain or tree.lost:
                    pos, more = self._quick(buf, pos, final)
                else:
                    pos, more = self._foreign(buf, pos, final)
                if more:
                    return pos
            elif state == _LONG_TAG:
                done, end = self._long.read(buf, pos)
                out.append(buf[pos:end])
                pos = end
                if done:
                    self._state = rawtext.DATA
                    self._long_tag_done(self._offset + end)
            elif state == _PASS:
                out.append(buf[pos:])
                return n
            else:
                self._state, end = rawtext.read(state, self._element, buf, pos, final)
                out.append(buf[pos:end])
                if self._state == state:
                    return end
                pos = end
        return pos

    def output(self, upto: int, final: bool) -> str:
        """The output that is final, once the document was read up to
        ``upto`` (to its end, when ``final``), taken out."""
        if final:
            self._forms.finish(upto)
        else:
            self._forms.advance(upto)
        return self._forms.release()

    def _quick(self, buf: str, pos: int, final: bool) -> tuple[int, bool]:
        """Text and tags in HTML: links as long as QUICK finds them, then
        the next tag that needs more, and so on. Return where to go on, and
        whether ``buf`` ended too early."""
        n = len(buf)
        append = self._out.append
        # QUICK matches everywhere, if only the empty string
        quick_match: t.Callable[[str, int, int], re.Match[str]] = htmltags.QUICK.match  # type: ignore[assignment]
        rewrite = self._links.rewrite
        decided = self._links.decided
        tree = self._tree
        while pos < n and self._state == rawtext.DATA and (tree.plain or tree.lost):
            simple = self._links.simple
            limit = min(n, pos + _WINDOW)
            while True:
                quick = quick_match(buf, pos, limit)
                found = quick.lastindex
                if found != _LINK:
                    break
                end = quick.end()
                start = quick.start(_LINK)
                if end - start > MAX_TAG:
                    append(buf[pos:end])
                elif simple and (path_end := quick.end(_SIMPLE_PATH)) >= 0:
                    append(buf[pos:path_end])
                    append(simple)
                    append(buf[path_end:end])
                else:
                    value_start, value_end = quick.span(_URL)
                    token = buf[value_start:value_end]
                    new = decided.get(token) if value_start >= 0 else token
                    if new is None:
                        new = rewrite(token)
                    if new != token:
                        append(buf[pos:value_start])
                        append(new)
                        append(buf[value_end:end])
                    else:
                        append(buf[pos:end])
                pos = end
                if buf[start + 1] in "iI":  # an iframe: its content is text
                    self._enter("iframe", tree.start("iframe", {}, False))
                    break
            if found == _LINK:
                continue
            end = quick.start(_FORM) if found == _FORM else quick.end()
            if end > pos:
                append(buf[pos:end])
                pos = end
            if found == _FORM_END:
                start = quick.start(_FORM_END)
                self._form_end(start if end - start <= MAX_TAG else end)
                continue
            if pos >= limit:
                continue  # the end, or just the window's
            if found == _FORM:  # a form QUICK has read
                end = quick.end()
                action_start, action_end = quick.span(_ACTION)
                action = _unquote(buf[action_start:action_end]) if action_start >= 0 else None
                form_id = None
                if _ID.search(buf, pos, end):
                    match = htmltags.TAG.match(buf, pos, end)
                    span = None if match is None else htmltags.attributes(buf, match).get("id")
                    form_id = None if span is None else _value(buf, span)
                rules = None if end - pos > MAX_TAG else tree.start("form", {}, False)
                at = self._offset + end
                placed = self._forms.start(buf, pos, end, action, form_id, rules, at, final)
                after = end if placed else _MORE
            else:
                after = self._markup(buf, pos, final)
            if after == _MORE:
                return pos, True
            pos = after
        return pos, False

    def _foreign(self, buf: str, pos: int, final: bool) -> tuple[int, bool]:
        """Text and tags in SVG or MathML, where every tag counts: those that
        need nothing else only tell the tree, the others take the exact path."""
        n = len(buf)
        tag = htmltags.FOREIGN.match(buf, pos, min(n, pos + _WINDOW))
        start = tag.start(1) if tag.lastindex else tag.end()  # type: ignore[union-attr]
        end = tag.end()  # type: ignore[union-attr]
        if start > pos:
            self._out.append(buf[pos:start])
            pos = start
        if start < end <= start + MAX_TAG:
            name = tag.group(3)  # type: ignore[union-attr]
            key = name.lower() if name.isascii() else ""
            end_tag = tag.group(2)  # type: ignore[union-attr]
            if (end_tag and key != "form") or (not end_tag and key not in _EXACT_IN_FOREIGN):
                if end_tag:
                    self._tree.end(key)
                else:
                    self._tree.start(key, {}, tag.group(4) == "/")  # type: ignore[union-attr]
                self._out.append(buf[pos:end])
                return end, False
        if pos >= n or buf[pos] != "<":
            return pos, False  # the end, or just the window's
        after = self._markup(buf, pos, final)
        return (pos, True) if after == _MORE else (after, False)

    def _markup(self, buf: str, pos: int, final: bool) -> int:
        """Handle the ``<`` at ``pos``; return where to go on, or ``_MORE``."""
        out = self._out
        nxt = buf[pos + 1 : pos + 2]
        if nxt == "!":
            cdata = self._tree.cdata()
            opened = rawtext.declaration(buf, pos, final, cdata is not False)
            if opened is None:
                return _MORE
            if opened[0] == rawtext.CDATA and cdata is None:
                return self._stop(pos)  # a CDATA section, or a bogus comment?
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
                return self._tag(buf, pos, final)
            if after == ">":
                out.append("</>")
                return pos + 3
            if not after and not final:
                return _MORE
            out.append("</")
            self._state = rawtext.BOGUS if after else rawtext.DATA
            return pos + 2
        if nxt.isascii() and nxt.isalpha():
            return self._tag(buf, pos, final)
        if not nxt and not final:
            return _MORE
        out.append("<")
        return pos + 1

    def _tag(self, buf: str, pos: int, final: bool) -> int:
        """The exact path for a start or end tag at ``pos``."""
        out = self._out
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
            self._long = htmltags.LongTag(end_tag)
            self._state = _LONG_TAG
            out.append(buf[pos:start])
            return start
        name = match.group(1)
        key = name.lower() if name.isascii() else ""
        end = match.end()
        tree = self._tree
        if end_tag:
            if key == "form":
                self._form_end(pos)
            else:
                tree.end(key)
            out.append(buf[pos:end])
            return end
        attributes = htmltags.attributes(buf, match) if key in _READ_ATTRIBUTES else {}
        attrs: dict[str, str] = {}
        closing = False
        if not tree.lost and (not tree.plain or key in ("svg", "math")):
            closing = htmltags.self_closing(buf, match)
            if key in foreign.NEEDS_ATTRIBUTES:
                attrs = {attr: _value(buf, span) for attr, span in attributes.items()}
        rules = tree.start(key, attrs, closing)
        if key == "form":
            action = attributes.get("action")
            value = None if action is None else _unquote(buf[action[0] : action[1]])
            form_id = attributes.get("id")
            found_id = None if form_id is None else _value(buf, form_id)
            placed = self._forms.start(
                buf, pos, end, value, found_id, rules, self._offset + end, final
            )
            return end if placed else _MORE
        if key in ("button", "input") and "formaction" in attributes:
            form = attributes.get("form")
            self._forms.control(
                self._offset + pos,
                _value(buf, attributes["formaction"]),
                None if form is None else _value(buf, form),
            )
        attr = _LINK_ATTR.get(key)
        span = attributes.get(attr or "href") if attr is not None or key == "base" else None
        if attr is not None and span is not None and span[0] >= 0:
            out.append(buf[pos : span[0]])
            out.append(self._links.rewrite(buf[span[0] : span[1]]))
            out.append(buf[span[1] : end])
        else:
            if key == "base" and span is not None:
                self._links.base(_value(buf, span), rules)
            out.append(buf[pos:end])
        self._enter(key, rules)
        return end

    def _form_end(self, pos: int) -> None:
        """A ``</form>`` at ``pos`` in ``buf`` (where a tag too long to
        rewrite ends, its end): in HTML it closes the open form."""
        if self._tree.end("form") is foreign.HTML:
            self._forms.end(self._offset + pos)

    def _enter(self, key: str, rules: bool | None) -> None:
        """Switch to the content state that start tag ``key`` implies, or stop
        where a browser might read its content either way."""
        if key not in _RAW or rules is foreign.NOT_HTML:
            return
        if rules is foreign.EITHER:
            self._stop(0)
        elif key == "script":
            self._state = rawtext.SCRIPT
        elif key == "plaintext":
            self._state = _PASS
        else:
            self._state = rawtext.RAWTEXT
            self._element = key

    def _stop(self, pos: int) -> int:
        """Copy the rest of the document as it is, from ``pos``: the rewriter
        can no longer tell how a browser reads it."""
        self._state = _PASS
        self._forms.finish(self._offset + pos, read=False)
        return pos

    def _long_tag_done(self, at: int) -> None:
        """A tag too long to rewrite has ended at ``at``: keep the state right
        and assume the worst of what it may hold (a ``<base>`` anywhere, a
        formaction, whether an SVG or MathML tag closes itself)."""
        name = self._long.name
        key = name.lower() if name.isascii() else ""
        tree = self._tree
        if key == "/form":
            self._form_end(at - self._offset)
            return
        if key.startswith("/"):
            tree.end(key[1:])
            return
        if not tree.plain or key in ("svg", "math", "frameset"):
            tree.lose()
        rules = tree.start(key, {}, False)
        if key == "form" and rules is not foreign.NOT_HTML:
            self._forms.unreadable()
        elif key == "base":
            self._links.base(None, rules)
        elif key in ("button", "input") and self._long.formaction:
            self._forms.control(at, None, None)
        else:
            self._enter(key, rules)


def _value(buf: str, span: tuple[int, int]) -> str:
    """An attribute value (its span, quotes included) as a browser reads it."""
    return decode_attribute(_unquote(buf[span[0] : span[1]]))
