"""Text that a browser reads up to an end marker, not as tags (internal).

Comments, bogus comments (``<!x>``, ``<?x>``), CDATA sections, the raw text of
``<style>``, ``<textarea>`` and the like, and scripts with the ``<!--``
escapes browsers honour. The rewriter copies all of it unchanged; what it needs
from here is where each run ends. One regular expression finds each end
marker, so every character is read once, and at the end of a chunk only the
few characters that may begin a marker are held back.
"""

from __future__ import annotations

import re

__all__ = [
    "BOGUS",
    "CDATA",
    "COMMENT",
    "DATA",
    "RAWTEXT",
    "RAW_ELEMENTS",
    "SCRIPT",
    "declaration",
    "read",
]

#: Reading markup: not inside any run this module reads.
DATA = 0
COMMENT, BOGUS, CDATA, RAWTEXT, SCRIPT, _ESCAPED, _DOUBLE = range(1, 8)

#: Elements whose content is text up to their end tag, in HTML content
#: (``<noscript>`` too: browsers run scripts, so they read it as text).
RAW_ELEMENTS = frozenset(
    {"iframe", "noembed", "noframes", "noscript", "style", "textarea", "title", "xmp"}
)


def _end_tag(name: str) -> re.Pattern[str]:
    # ASCII case-insensitive: re.IGNORECASE alone would let U+017F, the long
    # s, stand for "s"
    return re.compile(rf"</{name}[\t\n\f\r />]", re.IGNORECASE | re.ASCII)


_RAW_ENDS = {name: _end_tag(name) for name in RAW_ELEMENTS}
#: What ends each run, and how many characters at the end of a chunk may
#: begin that end. Script content ends at its end tag, but browsers read
#: "<!--" inside a script as an escape, and "<script>" inside that as one
#: more level.
_ENDS: dict[int, tuple[re.Pattern[str], int]] = {
    COMMENT: (re.compile(r"--!?>"), 3),
    BOGUS: (re.compile(">"), 0),
    CDATA: (re.compile(r"]]>"), 2),
    SCRIPT: (re.compile(r"<!--|</script[\t\n\f\r />]", re.IGNORECASE | re.ASCII), 8),
    _ESCAPED: (re.compile(r"-->|<(/?)script[\t\n\f\r />]", re.IGNORECASE | re.ASCII), 8),
    _DOUBLE: (re.compile(r"-->|</script[\t\n\f\r />]", re.IGNORECASE | re.ASCII), 8),
}


def read(state: int, element: str, buf: str, pos: int, final: bool) -> tuple[int, int]:
    """Read ``buf`` from ``pos`` in ``state`` (for ``RAWTEXT``, the content
    of ``element``); return the state after and where reading stopped.

    The state is :data:`DATA` once the run has ended; an end tag is left to be
    read as a tag. If the state is unchanged, the run goes on past the end of
    ``buf``, and what may begin its end marker was not read.
    """
    if state == RAWTEXT:
        pattern, keep = _RAW_ENDS[element], len(element) + 2
    else:
        pattern, keep = _ENDS[state]
    match = pattern.search(buf, pos)
    if match is None:
        n = len(buf)
        return state, n if final else max(pos, n - keep)
    found = match.group()
    if state in (COMMENT, BOGUS, CDATA):
        return DATA, match.end()
    if state == RAWTEXT:
        return DATA, match.start()
    if found == "<!--":
        return _ESCAPED, match.start() + 2  # its "--" may begin "-->"
    if found == "-->":
        return SCRIPT, match.end()
    if state == _DOUBLE:
        return _ESCAPED, match.end()
    if state == _ESCAPED and match.group(1) == "":
        return _DOUBLE, match.end()
    return DATA, match.start()


#: How a markup declaration opens, by what follows "<!".
_OPENERS = ("<!--", "<![CDATA[")


def declaration(buf: str, pos: int, final: bool, cdata: bool) -> tuple[int, int] | None:
    """For the ``<!`` at ``pos``: the state it opens and where its content
    starts, or ``None`` when ``buf`` ends too early to tell.

    ``<!--`` opens a comment (``<!-->`` and ``<!--->`` are whole ones); with
    ``cdata`` (in SVG or MathML) ``<![CDATA[`` opens a CDATA section; anything
    else is a bogus comment (a doctype, say) up to ``>``.
    """
    head = buf[pos : pos + 9]
    if head.startswith("<!--"):
        if not final and head in ("<!--", "<!---"):
            return None
        for abrupt in ("<!-->", "<!--->"):
            if head.startswith(abrupt):
                return DATA, pos + len(abrupt)
        return COMMENT, pos + 4
    if cdata and head == "<![CDATA[":
        return CDATA, pos + 9
    if not final and len(head) < 9 and any(o.startswith(head) for o in _OPENERS[: 1 + cdata]):
        return None
    return BOGUS, pos + 2
