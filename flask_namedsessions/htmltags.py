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

from .urls import SIMPLE_PATH

__all__ = ["ATTR_WINDOW", "QUICK", "TAG", "TAG_STATES", "T_NAME", "attributes", "long_tag_step"]

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
#: Whole attributes and what separates them; group 1 is the last attribute.
_ATTR_RUN = re.compile(rf"(?:[\t\n\f\r /]|({_ATTR_BARE}))*")
#: How far one _ATTR_RUN match may read (the re module keeps some state for
#: each attribute it passes).
ATTR_WINDOW = 4096

_N = r"[^\t\n\f\r />\"'=]"  # in a name
_U = r"[^\t\n\f\r >\"'=]"  # in an unquoted value
_QUICK_VALUE = rf"=(?:\"[^\"]*\"|'[^']*'|{_U}+(?=[\t\n\f\r >]))"
_QUICK_ATTR = rf"{_N}+(?:{_QUICK_VALUE})?"
_QUICK_TAIL = rf"[^>\"'=]*(?:{_N}{_QUICK_VALUE}[^>\"'=]*)*>"
_QUICK_REST = rf"{_N}*(?:>|[\t\n\f\r /]{_QUICK_TAIL})"
_END = r"(?![^\t\n\f\r />])"
#: The first letter of a start tag that needs nothing: not a link, form,
#: base, or element whose content is raw text.
_PLAIN_START = (
    r"(?:[c-eghj-moq-ru-wyzC-EGHJ-MOQ-RU-WYZ]"
    rf"|[aA](?!(?:[rR][eE][aA])?{_END})"
    rf"|[bB](?![aA][sS][eE]{_END})"
    rf"|[fF](?!(?:[oO][rR][mM]|[rR][aA][mM][eE]){_END})"
    rf"|[iI](?![fF][rR][aA][mM][eE]{_END})"
    rf"|[nN](?![oO](?:[eE][mM][bB][eE][dD]|[fF][rR][aA][mM][eE][sS]){_END})"
    rf"|[pP](?![lL][aA][iI][nN][tT][eE][xX][tT]{_END})"
    rf"|[sS](?!(?:[cC][rR][iI][pP][tT]|[tT][yY][lL][eE]){_END})"
    rf"|[tT](?!(?:[eE][xX][tT][aA][rR][eE][aA]|[iI][tT][lL][eE]){_END})"
    rf"|[xX](?![mM][pP]{_END}))"
)
_PLAIN_END = rf"(?:[a-eg-zA-EG-Z]|[fF](?![oO][rR][mM]{_END}))"


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
    rf"(?:[^<]+|</{_PLAIN_END}{_QUICK_REST}|<{_PLAIN_START}{_QUICK_REST}|<(?=[^A-Za-z!/?]))*"
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
