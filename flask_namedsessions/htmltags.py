"""The HTML tokenizer's rules for tags, as regular expressions (internal).

Written so that each character can be read one way only: the expressions
never backtrack into another reading, so a failed match costs its length,
once, and a successful one is exactly the tag a browser reads. :data:`TAG`
is the full grammar; :data:`QUICK` covers tags without oddities (no quote or
``=`` in a name, ``=`` right after a name and right before its value) with
runs of characters, which the ``re`` module reads several times faster, and
leaves anything else to :data:`TAG`. :func:`long_tag_step` reads a tag in
pieces, for one too long to keep whole.
"""

from __future__ import annotations

import re
import typing as t

from .urls import SIMPLE_PATH

__all__ = [
    "ATTR_WINDOW",
    "FOREIGN",
    "FORMACTION",
    "QUICK",
    "TAG",
    "TAG_STATES",
    "T_NAME",
    "LongTag",
    "attributes",
    "long_tag_step",
    "self_closing",
]

_NAME = r"[A-Za-z][^\t\n\f\r />]*(?![^\t\n\f\r />])"
_VALUE = (
    r"\"(?P<dq>[^\"]*)\"|'(?P<sq>[^']*)'"
    r"|(?P<uq>[^\t\n\f\r >\"'][^\t\n\f\r >]*)(?![^\t\n\f\r >])|(?=>)"
)
_ATTR = (
    r"(?P<attr>[^\t\n\f\r />][^\t\n\f\r />=]*)(?![^\t\n\f\r />=])"
    rf"(?:[\t\n\f\r ]*=[\t\n\f\r ]*(?:{_VALUE})|(?![\t\n\f\r ]*=))"
)
_ATTR_BARE = re.sub(r"[(][?]P<[a-z]+>", "(?:", _ATTR)
#: A start or end tag; group 1 is its name.
TAG = re.compile(rf"</?({_NAME})(?:[\t\n\f\r /]|{_ATTR_BARE})*>")
_ATTRS = re.compile(_ATTR)
#: TAG with its last piece in group 2: "/" when the tag closes itself.
_SELF_CLOSING = re.compile(rf"</?{_NAME}([\t\n\f\r /]|{_ATTR_BARE})*>")
#: Whole attributes and what separates them; group 1 is the last attribute.
_ATTR_RUN = re.compile(rf"(?:[\t\n\f\r /]|({_ATTR_BARE}))*")
#: How far one _ATTR_RUN match may read (the re module keeps some state for
#: each attribute it passes).
ATTR_WINDOW = 4096

_N = r"[^\t\n\f\r />\"'=]"  # in a name
_U = r"[^\t\n\f\r >\"'=]"  # in an unquoted value
#: a quoted value must be followed by what may follow it without a parse
#: error, or the next name would hide inside the run that follows
_QUICK_VALUE = rf"=(?:(?:\"[^\"]*\"|'[^']*')(?=[\t\n\f\r />])|{_U}+(?=[\t\n\f\r >]))"
_QUICK_ATTR = rf"{_N}+(?:{_QUICK_VALUE})?"
_QUICK_TAIL = rf"[^>\"'=]*(?:{_N}{_QUICK_VALUE}[^>\"'=]*)*>"
_QUICK_REST = rf"{_N}*(?:>|[\t\n\f\r /]{_QUICK_TAIL})"
_END = r"(?![^\t\n\f\r />])"
#: The first letter of a start tag that needs nothing: not a link, form,
#: base, element whose content is raw text, <svg>, <math>, <frameset>, or a
#: control that may carry a formaction.
_PLAIN_START = (
    r"(?:[c-eghj-loq-ru-wyzC-EGHJ-LOQ-RU-WYZ]"
    rf"|[aA](?!(?:[rR][eE][aA])?{_END})"
    rf"|[bB](?!(?:[aA][sS][eE]|[uU][tT][tT][oO][nN]){_END})"
    rf"|[fF](?!(?:[oO][rR][mM]|[rR][aA][mM][eE](?:[sS][eE][tT])?){_END})"
    rf"|[iI](?!(?:[fF][rR][aA][mM][eE]|[nN][pP][uU][tT]){_END})"
    rf"|[mM](?![aA][tT][hH]{_END})"
    rf"|[nN](?![oO](?:[eE][mM][bB][eE][dD]|[fF][rR][aA][mM][eE][sS]|[sS][cC][rR][iI][pP][tT]){_END})"
    rf"|[pP](?![lL][aA][iI][nN][tT][eE][xX][tT]{_END})"
    rf"|[sS](?!(?:[cC][rR][iI][pP][tT]|[tT][yY][lL][eE]|[vV][gG]){_END})"
    rf"|[tT](?!(?:[eE][xX][tT][aA][rR][eE][aA]|[iI][tT][lL][eE]){_END})"
    rf"|[xX](?![mM][pP]{_END}))"
)
#: A control without "formaction" anywhere in it (a tag too long to read is
#: judged by that too): in the runs of a tag where names are, and in values,
#: "f" may not be followed by "ormaction".
_NO_FORMACTION = r"[iI][nN][pP][uU][tT]|[bB][uU][tT][tT][oO][nN]"
_NOT_FA = r"(?![oO][rR][mM][aA][cC][tT][iI][oO][nN])"
_RUN = rf"[^>\"'=fF]*(?:[fF]{_NOT_FA}[^>\"'=fF]*)*"
_CONTROL_VALUE = (
    rf"=(?:\"[^\"fF]*(?:[fF]{_NOT_FA}[^\"fF]*)*\"|'[^'fF]*(?:[fF]{_NOT_FA}[^'fF]*)*'"
    rf"|(?:[^\t\n\f\r >\"'=fF]|[fF]{_NOT_FA})+(?=[\t\n\f\r >]))"
)
_CONTROL = (
    rf"(?:{_NO_FORMACTION})(?=[\t\n\f\r />])"
    rf"(?:>|[\t\n\f\r /]{_RUN}(?:{_N}{_CONTROL_VALUE}{_RUN})*>)"
)
#: "formaction" in any case, in the text of a control too long to read.
FORMACTION = re.compile(f"[fF]{_NOT_FA}".replace("(?!", "(?="))
_PLAIN_END = rf"(?:[a-eg-zA-EG-Z]|[fF](?![oO][rR][mM]{_END}))"


def _any_case(names: str) -> str:
    """An expression for any of ``names``, in any ASCII case, as a tree of
    first letters (much faster for ``re`` than a list of alternatives)."""
    tree: dict[str, t.Any] = {}
    for name in names.split():
        node = tree
        for char in name:
            node = node.setdefault(char, {})
        node[""] = {}

    def branch(node: dict[str, t.Any]) -> str:
        parts = [
            (f"[{char}{char.upper()}]" if char.isalpha() else re.escape(char)) + branch(child)
            for char, child in sorted(node.items())
            if char
        ]
        if not parts:
            return ""
        body = parts[0] if len(parts) == 1 else "(?:" + "|".join(parts) + ")"
        return f"(?:{body})?" if "" in node else body

    return branch(tree)


#: Tags met in icons and drawings that have no role for the rewriter: not a
#: link, form, control or <base>, no raw text, no integration point, nothing
#: that leaves foreign content.
_DRAWING = _any_case(
    "circle clippath defs ellipse feblend fecolormatrix fecomposite feflood fegaussianblur"
    " feoffset femerge femergenode filter g line lineargradient marker mask metadata path"
    " pattern polygon polyline radialgradient rect stop symbol text textpath tspan use"
)
_SIMPLE_ATTRS = rf"(?:[\t\n\f\r ]+{_N}+(?:=(?:\"[^\"]*\"|'[^']*'))?)*[\t\n\f\r ]*"
#: A whole <svg> element (from after "<") of drawing tags without oddities: a
#: browser reads it as text and tags, whatever the stack of open elements,
#: and has left foreign content after it. An <svg/> opens none.
_WHOLE_SVG = (
    rf"[sS][vV][gG]{_SIMPLE_ATTRS}(?:/>|>"
    r"(?:[^<]+|<(?=[^A-Za-z!/?])"
    rf"|</?{_DRAWING}(?=[\t\n\f\r />]){_SIMPLE_ATTRS}/?>)*"
    rf"</[sS][vV][gG]{_SIMPLE_ATTRS}/?>)"
)
#: In SVG or MathML, where every tag counts: text, then perhaps a tag without
#: oddities (group 1): "/" if an end tag (group 2), its name (group 3), and
#: the "/" that closes it (group 4).
FOREIGN = re.compile(
    r"(?:[^<]+|<(?=[^A-Za-z!/?]))*"
    r"(<(/?)([A-Za-z][^\t\n\f\r />]*)"
    rf"(?:[\t\n\f\r ]+{_N}+(?:=(?:\"[^\"]*\"|'[^']*'))?)*[\t\n\f\r ]*(/?)>)?"
)


def _first(attr: str) -> str:
    """Attributes up to the first one named ``attr``, and its name."""
    name = rf"{attr}(?=[=\t\n\f\r />])"
    other = rf"[\t\n\f\r /]+(?!{attr}[=\t\n\f\r />]){_QUICK_ATTR}"
    return rf"(?:[\t\n\f\r /]+{name}|(?:{other})+[\t\n\f\r /]+{name})"


_QUICK_URL = rf"(?:=(\"[^\"]*\"|'[^']*'|{_U}+(?=[\t\n\f\r >])))?"
#: Text and tags that need nothing, then perhaps a link (group 1) with its URL
#: as written, quotes included (group 2; group 3 is the path when it is a
#: simple one in double quotes, perhaps with a fragment), a form (group 4)
#: with its action (group 5), or the end tag of a form (group 6).
QUICK = re.compile(
    rf"(?:[^<]+|</{_PLAIN_END}{_QUICK_REST}|<{_CONTROL}|<{_PLAIN_START}{_QUICK_REST}"
    rf"|<{_WHOLE_SVG}|<(?=[^A-Za-z!/?]))*"
    r"(?:(<(?:[aA](?:[rR][eE][aA])?(?=[\t\n\f\r />])"
    + _first("[hH][rR][eE][fF]")
    + r"|[iI]?[fF][rR][aA][mM][eE](?=[\t\n\f\r />])"
    + _first("[sS][rR][cC]")
    + rf")(?:=(\"({SIMPLE_PATH})(?:#[^\"]*)?\"|\"[^\"]*\"|'[^']*'|{_U}+(?=[\t\n\f\r >])))?"
    + rf"{_QUICK_TAIL})"
    + r"|(<[fF][oO][rR][mM](?=[\t\n\f\r />])(?:"
    + _first("[aA][cC][tT][iI][oO][nN]")
    + rf"{_QUICK_URL})?{_QUICK_TAIL})"
    + rf"|(</[fF][oO][rR][mM](?=[\t\n\f\r />]){_QUICK_TAIL}))?"
)


def self_closing(buf: str, match: re.Match[str]) -> bool:
    """Does the :data:`TAG` match end with a ``/`` that closes the tag (not
    one that ends an unquoted value, as in ``<path d=x/>``)?"""
    end = match.end()
    if buf[end - 2] != "/":
        return False
    found = _SELF_CLOSING.match(buf, match.start(), end)
    return found is not None and found.group(1) == "/"


def attributes(buf: str, match: re.Match[str]) -> dict[str, tuple[int, int]]:
    """For a :data:`TAG` match: attribute name -> span of its value, quotes
    included, or ``(-1, -1)`` when it has no ``=``; the first of a name
    wins, as in browsers."""
    found: dict[str, tuple[int, int]] = {}
    for attr in _ATTRS.finditer(buf, match.end(1), match.end()):
        name = attr.group("attr")
        name = name.lower() if name.isascii() else name
        if name not in found:
            start, end = attr.span("uq")
            for group in ("dq", "sq"):
                if attr.start(group) >= 0:
                    start, end = attr.start(group) - 1, attr.end(group) + 1
            if start < 0 and attr.group().rstrip("\t\n\f\r ").endswith("="):
                start = end = attr.end()  # "href=>": an empty value
            found[name] = (start, end)
    return found


# Tokenizer states inside a tag.
T_NAME, _T_BEFORE, _T_ATTR, _T_AFTER, _T_VALUE, _T_DQ, _T_SQ, _T_UQ = range(8)
TAG_STATES = {
    T_NAME: re.compile(r"[^\t\n\f\r />]*"),
    _T_BEFORE: re.compile(r"[\t\n\f\r /]*"),
    _T_ATTR: re.compile(r"[^\t\n\f\r />=]*"),
    _T_AFTER: re.compile(r"[\t\n\f\r ]*"),
    _T_VALUE: re.compile(r"[\t\n\f\r ]*"),
    _T_DQ: re.compile(r"[^\"]*"),
    _T_SQ: re.compile(r"[^']*"),
    _T_UQ: re.compile(r"[^\t\n\f\r >]*"),
}


def long_tag_step(state: int, buf: str, pos: int) -> tuple[int, int]:
    """Read the inside of a tag from ``pos`` in tokenizer ``state``; return
    the new state and where reading stopped (state -1: just after ``>``)."""
    n = len(buf)
    careful = -1
    while True:
        if state == _T_BEFORE and pos != careful:
            # whole attributes at once, but not the last one if the window
            # ends in it or just after it (more text may change how it reads)
            limit = min(n, pos + ATTR_WINDOW)
            run = _ATTR_RUN.match(buf, pos, limit)
            end = run.end()  # type: ignore[union-attr]
            last = run.start(1)  # type: ignore[union-attr]
            if end < limit:
                pos = end
            elif last > pos:
                pos = careful = last
            elif last < 0:
                if end == n:
                    return state, n
                pos = end
                continue
            else:  # one attribute fills the window: read it char by char
                careful = pos
        pos = TAG_STATES[state].match(buf, pos).end()  # type: ignore[union-attr]
        if pos >= n:
            return state, n
        char = buf[pos]
        pos += 1
        quoted = state in (_T_DQ, _T_SQ)
        if char == ">" and not quoted:
            return -1, pos
        if quoted:
            state = _T_BEFORE
        elif state == _T_VALUE:
            state = _T_DQ if char == '"' else _T_SQ if char == "'" else _T_UQ
            if state == _T_UQ:
                pos -= 1
        elif char == "=" and state in (_T_ATTR, _T_AFTER):
            state = _T_VALUE
        elif state == _T_BEFORE:
            state = _T_ATTR  # this character starts a name
        elif state == _T_AFTER and char != "/":
            state, pos = _T_BEFORE, pos - 1  # so does this one: read it from there
        elif char == "/":
            state = _T_BEFORE
        else:  # whitespace after a name or an unquoted value
            state = _T_AFTER if state == _T_ATTR else _T_BEFORE


class LongTag:
    """A tag too long to keep whole, read piece by piece: its name (up to 16
    characters, after a ``/`` for an end tag) and, for a button or an input,
    whether "formaction" appears anywhere in it."""

    __slots__ = ("_state", "_tail", "formaction", "name")

    def __init__(self, end_tag: bool) -> None:
        self.name = "/" if end_tag else ""
        self.formaction = False
        self._state = T_NAME
        self._tail = ""

    def read(self, buf: str, pos: int) -> tuple[bool, int]:
        """Read on from ``pos``; return whether the tag has ended, and where
        reading stopped."""
        if self._state == T_NAME and len(self.name) < 16:
            self.name += TAG_STATES[T_NAME].match(buf, pos, pos + 16).group()  # type: ignore[union-attr]
        self._state, end = long_tag_step(self._state, buf, pos)
        if self.name.lower() in ("button", "input"):  # controls only
            piece = self._tail + buf[pos:end]
            self.formaction |= FORMACTION.search(piece) is not None
            self._tail = piece[-9:]  # "formaction" may span two pieces
        return self._state == -1, end
