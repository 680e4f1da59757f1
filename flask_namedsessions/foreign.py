"""SVG and MathML as the tree builder reads them, for what changes the text (internal).

In HTML the content of ``<style>``, ``<script>``, ``<title>``, ``<textarea>``
and the like is text up to its end tag, and ``<![CDATA[`` opens a bogus
comment. Inside ``<svg>`` and ``<math>`` (foreign content) those are elements
like any other, whose content is markup, and ``<![CDATA[`` opens a section of
text up to ``]]>``. Integration points bring the HTML rules back for start
tags (SVG ``foreignObject``, ``desc`` and ``title``; MathML ``annotation-xml``
that declares HTML; and ``mi``, ``mo``, ``mn``, ``ms`` and ``mtext`` for tags
other than ``mglyph`` and ``malignmark``), and ``<b>``, ``<div>``, ``<p>`` and
the like break out of foreign content altogether.

A browser decides with its tree. The rewriter keeps the part of the stack of
open elements that decides: the elements from the outermost ``<svg>`` or
``<math>`` inwards. Where the tree builder's choice depends on what lies
outside that part (an end tag that may close an element outside, HTML inside
an integration point that the rewriter cannot follow, a ``<frameset>``), it
keeps every stack that can result, a few at most, and beyond that gives up:
the tree is *lost*, and the rewriter stops rewriting before the first tag
that two readings could read differently.
"""

from __future__ import annotations

import typing as t

__all__ = ["EITHER", "HTML", "NEEDS_ATTRIBUTES", "NOT_HTML", "Tree"]

#: How the tree builder handles a tag: as an HTML element (so raw-text
#: elements hold text and forms are forms), not as one (an SVG or MathML
#: element, or a tag ignored in a frameset), or either, depending on a part
#: of the tree the rewriter does not know.
HTML, NOT_HTML, EITHER = True, False, None
#: Start tags whose attributes matter here.
NEEDS_ATTRIBUTES = frozenset({"annotation-xml", "font"})

# Kinds of open element: foreign ones, MathML annotation-xml (an <svg> in it
# is SVG), text and HTML integration points, and HTML inside one of those.
_SVG, _MATH, _ANNOTATION, _TEXT_POINT, _HTML_POINT, _HTML = range(6)
_POINTS = (_TEXT_POINT, _HTML_POINT)
Stack = tuple[tuple[str, int], ...]
#: The stack of a document in frameset mode, where most tags are ignored.
_FRAMESET: Stack = (("frameset", -1),)
_PLAIN: tuple[Stack, ...] = ((),)
#: More stacks than this, or a deeper one, and the tree is lost.
_MAX_STACKS = 4
_MAX_DEPTH = 128


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


_BREAKOUT = _names(
    "b big blockquote body br center code dd div dl dt em embed h1 h2 h3 h4 h5 h6 head hr i"
    " img li listing menu meta nobr ol p pre ruby s small span strong strike sub sup table tt"
    " u ul var"
)
#: Start tags that leave nothing open: void elements, those ignored here, and
#: elements whose content is text (their end tag closes them)
_VOID = _names(
    "area base basefont bgsound br col embed frame hr image img input keygen link meta param"
    " source track wbr html body head noembed noframes noscript iframe script style textarea"
    " title xmp plaintext"
)
_TABLE = _names("caption col colgroup table tbody td tfoot th thead tr template")
_FORMATTING = _names("a b big code em font i nobr s small strike strong tt u")
#: Start tags that may close an open element of these names (an open <p>,
#: a list item, a select...), so that the stack would depend on the scope.
_CLOSES: dict[str, frozenset[str]] = {
    **dict.fromkeys(
        _names(
            "address article aside blockquote center details dialog dir div dl fieldset"
            " figcaption figure footer header hgroup main menu nav ol p search section summary"
            " ul pre listing form plaintext hr xmp"
        ),
        frozenset({"p"}),
    ),
    **dict.fromkeys(_names("h1 h2 h3 h4 h5 h6"), _names("p h1 h2 h3 h4 h5 h6")),
    "li": frozenset({"li", "p"}),
    **dict.fromkeys(("dd", "dt"), frozenset({"dd", "dt", "p"})),
    "button": frozenset({"button"}),
    "a": frozenset({"a"}),
    "nobr": frozenset({"nobr"}),
    **dict.fromkeys(("option", "optgroup"), frozenset({"option", "optgroup"})),
    **dict.fromkeys(("select", "input", "keygen", "textarea"), frozenset({"select"})),
    **dict.fromkeys(("rb", "rp", "rt", "rtc"), frozenset({"rb", "rp", "rt", "rtc"})),
}
_HTML_ENCODINGS = ("text/html", "application/xhtml+xml")
#: What a start or end tag does to one stack: how it is handled and the
#: stacks that may follow, or None when that cannot be followed.
_Outcome = tuple[bool, tuple[Stack, ...]] | None


class Tree:
    """The part of one document's tree that decides how its text reads."""

    __slots__ = ("_stacks", "lost")

    def __init__(self) -> None:
        self._stacks = _PLAIN
        #: no longer followed: any tag may be read either way
        self.lost = False

    @property
    def plain(self) -> bool:
        """Certainly HTML content, outside any frameset."""
        return self._stacks is _PLAIN and not self.lost

    def lose(self) -> None:
        """Stop following the tree (after a tag that could not be read)."""
        self.lost = True

    def start(self, name: str, attrs: t.Mapping[str, str], closing: bool) -> bool | None:
        """A start tag (its name in lower case; ``attrs`` needed only for
        :data:`NEEDS_ATTRIBUTES`; ``closing`` if it ends with ``/>``): how it
        is handled, :data:`HTML`, :data:`NOT_HTML` or :data:`EITHER`."""
        if self.lost:
            return EITHER
        stacks = self._stacks
        if stacks is _PLAIN and name not in ("svg", "math", "frameset"):
            return HTML
        if len(stacks) == 1:
            return self._apply_one(_start(stacks[0], name, attrs, closing))
        return self._apply([_start(s, name, attrs, closing) for s in stacks])

    def end(self, name: str) -> bool | None:
        """An end tag: how it is handled (an HTML one clears the form
        element pointer, a foreign one does not)."""
        if self.lost:
            return EITHER
        stacks = self._stacks
        if stacks is _PLAIN:
            return HTML
        if len(stacks) == 1:
            return self._apply_one(_end(stacks[0], name))
        return self._apply([_end(s, name) for s in stacks])

    def cdata(self) -> bool | None:
        """Does ``<![CDATA[`` open a CDATA section here (``None``: either)?"""
        if self.lost:
            return None
        found = {s != _FRAMESET and bool(s) and s[-1][1] != _HTML for s in self._stacks}
        return found.pop() if len(found) == 1 else None

    def _apply_one(self, outcome: _Outcome) -> bool | None:
        """:meth:`_apply` for the usual case: one stack before and after."""
        if outcome is not None and len(outcome[1]) == 1:
            stack = outcome[1][0]
            if len(stack) <= _MAX_DEPTH:
                self._stacks = (stack,) if stack else _PLAIN
                return outcome[0]
        return self._apply([outcome])

    def _apply(self, outcomes: list[_Outcome]) -> bool | None:
        handled: set[bool] = set()
        stacks: dict[Stack, None] = {}
        for outcome in outcomes:
            if outcome is None:
                self.lost = True
                return EITHER
            handled.add(outcome[0])
            stacks.update(dict.fromkeys(outcome[1]))
        if len(stacks) > _MAX_STACKS or any(len(s) > _MAX_DEPTH for s in stacks):
            self.lost = True
            return EITHER
        self._stacks = _PLAIN if list(stacks) == [()] else tuple(stacks)
        return handled.pop() if len(handled) == 1 else EITHER


def _start(stack: Stack, name: str, attrs: t.Mapping[str, str], closing: bool) -> _Outcome:
    if stack == _FRAMESET:
        return (HTML if name in ("frame", "frameset", "noframes") else NOT_HTML), (stack,)
    if not stack:
        return _handled(HTML, _html_start(stack, name, closing))
    kind = stack[-1][1]
    if (
        kind in (_HTML, _HTML_POINT)
        or (kind == _TEXT_POINT and name not in ("mglyph", "malignmark"))
        or (kind == _ANNOTATION and name == "svg")
    ):
        return _handled(HTML, _html_start(stack, name, closing))
    if name in _BREAKOUT or (name == "font" and not {"color", "face", "size"}.isdisjoint(attrs)):
        while stack and stack[-1][1] not in (_HTML, *_POINTS):
            stack = stack[:-1]
        return _handled(HTML, _html_start(stack, name, closing))
    if closing:
        return NOT_HTML, (stack,)
    if kind == _SVG:
        new = _HTML_POINT if name in ("foreignobject", "desc", "title") else _SVG
    elif name in ("mi", "mo", "mn", "ms", "mtext"):
        new = _TEXT_POINT
    elif name == "annotation-xml":
        html = attrs.get("encoding", "").lower() in _HTML_ENCODINGS
        new = _HTML_POINT if html else _ANNOTATION
    else:
        new = _MATH
    return NOT_HTML, ((*stack, (name, new)),)


def _handled(how: bool, stacks: tuple[Stack, ...] | None) -> _Outcome:
    return None if stacks is None else (how, stacks)


def _html_start(stack: Stack, name: str, closing: bool) -> tuple[Stack, ...] | None:
    """The stacks after a start tag handled by the HTML rules."""
    if name in ("svg", "math"):
        return (stack,) if closing else ((*stack, (name, _SVG if name == "svg" else _MATH)),)
    if name == "frameset":  # taken unless the page has content already
        return stack, _FRAMESET
    if not stack:
        return (stack,)
    # inside an integration point: HTML whose nesting is followed only where
    # it does not depend on the scope (which the stack here cannot tell)
    segment = _segment(stack)
    if name in _TABLE:
        if "table" in segment or name == "template":
            return None
        return ((*stack, (name, _HTML)) if name == "table" else stack), ()
    closes = _CLOSES.get(name)
    if closes is not None and not closes.isdisjoint(segment):
        return None
    if name in _VOID:
        return (stack,)
    if name == "form":  # ignored while another form is open
        return stack, (*stack, (name, _HTML))
    return ((*stack, (name, _HTML)),)


def _end(stack: Stack, name: str) -> _Outcome:
    if stack == _FRAMESET:
        return NOT_HTML, (stack,)
    if not stack:
        return HTML, (stack,)
    if stack[-1][1] == _HTML:
        return _handled(HTML, _html_end(stack, name))
    if name in ("br", "p"):  # these break out of foreign content
        while stack and stack[-1][1] not in (_HTML, *_POINTS):
            stack = stack[:-1]
        if stack and stack[-1][1] == _HTML:
            return _handled(HTML, _html_end(stack, name))
        return HTML, (stack,)  # </p> adds an empty p, </br> is a <br>
    for at in range(len(stack) - 1, -1, -1):
        found, kind = stack[at]
        if kind == _HTML:  # the HTML rules take it from here
            return _handled(HTML, _html_end(stack, name))
        if found == name:
            return NOT_HTML, (stack[:at],)
    # it reaches the document outside, which may close all of this
    if name in _TABLE:
        return HTML, (stack, ())
    if name in ("form", "body", "html") or any(kind in _POINTS for _, kind in stack):
        return HTML, (stack,)  # nothing outside is in scope through a point
    return HTML, (stack, ())


def _html_end(stack: Stack, name: str) -> tuple[Stack, ...] | None:
    """The stacks after an end tag handled by the HTML rules, inside an
    integration point."""
    if stack[-1] == (name, _HTML):
        return (stack[:-1],)
    if name == "br":
        return (stack,)
    at = -1
    for index in range(len(stack) - 1, -1, -1):
        found, kind = stack[index]
        if kind in _POINTS:
            break
        if kind == _HTML and found == name:
            at = index
            break
    if at >= 0 and name in _FORMATTING:
        return None  # the adoption agency may move elements around
    if name in _TABLE:
        return (stack, ()) if at < 0 else (stack, (), stack[:at])
    if at < 0:
        return (stack,)
    if name == "form":  # removed from the stack, not popped
        return stack, stack[:at] + stack[at + 1 :]
    return stack, stack[:at]


def _segment(stack: Stack) -> set[str]:
    """Names of the HTML elements open inside the innermost integration point."""
    names = set()
    for name, kind in reversed(stack):
        if kind != _HTML:
            break
        names.add(name)
    return names
