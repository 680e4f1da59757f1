"""Properties of the rewriter over arbitrary HTML-like text."""

from __future__ import annotations

from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from flask_namedsessions.rewrite import HTMLRewriter
from flask_namedsessions.rewrite import Origin
from flask_namedsessions.rewrite import rewrite_html

ORIGIN = Origin("http", "example.com")
PARAMS = {"_session:cart": "ID"}
HIDDEN = '<input type="hidden" name="_session:cart" value="ID">'
INSERTS = ("?_session:cart=ID", "&amp;_session:cart=ID", "&_session:cart=ID", HIDDEN)

FRAGMENTS = [
    "<a",
    "<A ",
    " href=",
    "href='",
    'href="',
    "src=",
    "<area ",
    "<iframe ",
    "<frame ",
    "<form",
    "<FORM ",
    " action=",
    "</form>",
    "<form action='/x'>",
    ">",
    "/>",
    '"',
    "'",
    "<!--",
    "-->",
    "--!>",
    "<!",
    "<?",
    "</",
    "<script>",
    "</script>",
    "<style>",
    "</style>",
    "<textarea>",
    "</textarea>",
    "<title>",
    "</title>",
    "<base href=",
    "<plaintext>",
    "/x",
    "x.html",
    "?a=1",
    "&amp;",
    "#f",
    "//evil.com",
    "\\\\evil.com",
    "http:///evil.com",
    "https:evil.com",
    "http://example.com/",
    "http://user@evil.com",
    "javascript:x",
    "mailto:a",
    "_session:cart=Z",
    "_session%3Acart=Z",
    " ",
    "\n",
    "\t",
    "text",
    "<x:a ",
    "<abbr ",
    "=",
    "\x00",
    "é",
]
html_like = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=5)), max_size=40).map(
    "".join
)


def strip_inserts(text: str) -> str:
    for insert in INSERTS:
        text = text.replace(insert, "")
    return text


@settings(max_examples=400, deadline=None)
@given(html_like)
def test_removing_insertions_gives_back_the_input(source: str) -> None:
    out = rewrite_html(source, PARAMS, ORIGIN)
    assert strip_inserts(out) == strip_inserts(source)
    assert len(out) >= len(source)


@settings(max_examples=400, deadline=None)
@given(html_like)
def test_rewriting_twice_equals_once(source: str) -> None:
    once = rewrite_html(source, PARAMS, ORIGIN)
    assert rewrite_html(once, PARAMS, ORIGIN) == once


@settings(max_examples=400, deadline=None)
@given(html_like, st.lists(st.integers(min_value=0, max_value=200), max_size=12))
def test_streaming_any_split_equals_whole(source: str, cuts: list[int]) -> None:
    points = sorted({c % (len(source) + 1) for c in cuts})
    chunks = [source[a:b] for a, b in zip([0, *points], [*points, len(source)], strict=True)]
    rewriter = HTMLRewriter(PARAMS, ORIGIN)
    streamed = "".join(rewriter.feed(chunk) for chunk in chunks) + rewriter.close()
    assert streamed == rewrite_html(source, PARAMS, ORIGIN)
