"""What rewriting costs on malformed input, measured from outside the rewriter.

The rewriter reads text only through regular expressions, so one measure is
what they read: each call of a pattern of the rewriting modules is wrapped and
counts the characters from where it started to where its match ended, or to
the end of the region it was given when it found nothing. The other is the
lines of Python the rewriting modules run, counted by a trace function. Both
are exact and the same on every run (no clocks).
"""

from __future__ import annotations

import re
import sys
import types
import typing as t

import pytest

from flask_namedsessions import foreign
from flask_namedsessions import forms
from flask_namedsessions import htmltags
from flask_namedsessions import links
from flask_namedsessions import rawtext
from flask_namedsessions import rewrite
from flask_namedsessions import scanner
from flask_namedsessions import urls
from flask_namedsessions.rewrite import HTMLRewriter
from flask_namedsessions.rewrite import rewrite_html
from flask_namedsessions.scanner import MAX_TAG
from flask_namedsessions.urls import Origin

HTTP = Origin("http", "example.com")
PARAMS = {"_session:cart": "ID"}
MODULES = (htmltags, rawtext, rewrite, scanner, urls, forms, foreign, links)
FILES = {module.__file__ for module in MODULES}


class Reads:
    """Characters read by the patterns of the rewriting modules, and lines
    of them run."""

    def __init__(self) -> None:
        self.count = 0
        self.lines = 0

    def trace(self, frame: types.FrameType, event: str, arg: t.Any) -> t.Any:
        if frame.f_code.co_filename not in FILES:
            return None
        if event == "line":
            self.lines += 1
        return self.trace

    def add(self, string: str, pos: int, endpos: int, found: re.Match[str] | None) -> None:
        end = found.end() if found is not None else min(endpos, len(string))
        self.count += max(0, end - pos)


class Counted:
    """A pattern that tells ``reads`` how far each of its calls read."""

    def __init__(self, pattern: re.Pattern[str], reads: Reads) -> None:
        self._pattern = pattern
        self._reads = reads

    def match(self, string: str, pos: int = 0, endpos: int = sys.maxsize) -> re.Match[str] | None:
        found = self._pattern.match(string, pos, endpos)
        self._reads.add(string, pos, endpos, found)
        return found

    def search(self, string: str, pos: int = 0, endpos: int = sys.maxsize) -> re.Match[str] | None:
        found = self._pattern.search(string, pos, endpos)
        self._reads.add(string, pos, endpos, found)
        return found

    def finditer(
        self, string: str, pos: int = 0, endpos: int = sys.maxsize
    ) -> t.Iterator[re.Match[str]]:
        self._reads.add(string, pos, endpos, None)
        return self._pattern.finditer(string, pos, endpos)

    def __getattr__(self, name: str) -> t.Any:
        return getattr(self._pattern, name)


def _wrapped(value: t.Any, reads: Reads) -> t.Any:
    if isinstance(value, re.Pattern):
        return Counted(value, reads)
    if isinstance(value, tuple):
        return tuple(_wrapped(item, reads) for item in value)
    if isinstance(value, dict):
        return {key: _wrapped(item, reads) for key, item in value.items()}
    return value


def _patterns_in(value: t.Any) -> bool:
    if isinstance(value, re.Pattern):
        return True
    if isinstance(value, (tuple, list, set, frozenset)):
        return any(_patterns_in(item) for item in value)
    if isinstance(value, dict):
        return any(_patterns_in(item) for item in value.values())
    return False


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> Reads:
    """Count what the patterns of the rewriting modules read in this test."""
    counter = Reads()
    for module in MODULES:
        for name, value in list(vars(module).items()):
            if not isinstance(value, types.ModuleType) and _patterns_in(value):
                monkeypatch.setattr(module, name, _wrapped(value, counter))
    # every pattern is counted: none is left where the rewriter finds it
    for module in MODULES:
        left = [n for n, v in vars(module).items() if _patterns_in(v)]
        assert not left, (module.__name__, left)
    return counter


def _read(reads: Reads, html: str, chunk: int = 0) -> int:
    reads.count = 0
    rewriter = HTMLRewriter(PARAMS, HTTP)
    if chunk:
        for i in range(0, len(html), chunk):
            rewriter.feed(html[i : i + chunk])
    else:
        rewriter.feed(html)
    rewriter.close()
    return reads.count


def _lines(reads: Reads, html: str) -> int:
    reads.lines = 0
    sys.settrace(reads.trace)
    try:
        rewrite_html(html, PARAMS, HTTP)
    finally:
        sys.settrace(None)
    return reads.lines


PATHOLOGICAL = {
    "unclosed_a": "<a ",
    "unclosed_a_href": '<a href="',
    "comment_openers": "<!--",
    "script_openers": "<script",
    "script_escapes": "<script><!--<script>",
    "quotes": '"',
    "form_openers": "<form ",
    "lt": "<",
    "end_tag_openers": "</",
    "bangs": "<!",
    "links": "<a href=/x>",
    "forms": "<form><a href=x></form>",
    "odd_tags": '<p a = "1">',
    "long_names": "<a" + "b" * 50,
    "svg_nesting": "<svg><g>",
    "svg_unknown_end_tags": "<svg><g></x>",
    "svg_points": "<svg><foreignObject><div></span>",
    "math_points": "<math><mi><mglyph><annotation-xml encoding=text/html><b>",
    "svg_cdata": "<svg><![CDATA[",
    "svg_breakouts": "<svg><path/><p>",
    "framesets": "<frameset><frame src=/x>",
    "controls": "<form><button formaction=//evil.example>",
    "forms_with_ids": "<form id=f></form>",
    "named_controls": "<form id=f></form><input form=f formaction=//evil.example>",
}


@pytest.mark.parametrize("unit", PATHOLOGICAL.values(), ids=PATHOLOGICAL.keys())
@pytest.mark.parametrize("chunk", [0, 7, 1000], ids=["whole", "chunks_7", "chunks_1000"])
def test_work_grows_linearly_when_input_is_pathological(
    reads: Reads, unit: str, chunk: int
) -> None:
    """Every character is read, and at most a few times, at any length (a
    quadratic rewriter would read each more often the longer the input)."""
    n = 2000 if chunk == 7 else 6000
    for html in (unit * n, unit * (4 * n)):
        assert len(html) // 2 <= _read(reads, html, chunk) <= 4 * len(html)


@pytest.mark.parametrize("unit", PATHOLOGICAL.values(), ids=PATHOLOGICAL.keys())
def test_python_work_grows_linearly_when_input_is_pathological(reads: Reads, unit: str) -> None:
    """A few lines of Python for each character, at any length: nothing the
    rewriter keeps (open elements, forms waiting for their end) makes each
    tag cost more the more tags came before."""
    per_char = [_lines(reads, unit * n) / (len(unit) * n) for n in (500, 2000)]
    assert per_char[1] <= 1.2 * per_char[0] + 0.1
    assert per_char[1] <= 20


def test_measure_grows_with_the_square_when_text_is_read_again(reads: Reads) -> None:
    """The measure would show a rewriter that reads a pending tag again on
    every chunk (what its rule of waiting for twice the text prevents): here,
    reading every prefix of an unfinished tag."""

    def again(n: int) -> int:
        html = '<a title="' + "x" * n
        total = 0
        for end in range(10, len(html), 10):
            total += _read(reads, html[:end])
        return total

    assert again(4000) > 10 * again(1000)


def test_hold_back_bounded_when_tag_never_ends() -> None:
    rewriter = HTMLRewriter(PARAMS, HTTP)
    chunk = '<a title="' + "x" * 1000
    fed = released = 0
    for _ in range(300):
        fed += len(chunk)
        released += len(rewriter.feed(chunk))
        assert fed - released <= 2 * MAX_TAG + len(chunk)
    assert released + len(rewriter.close()) == fed
