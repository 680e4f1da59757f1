"""Properties of the link rewriter over arbitrary HTML-like text."""

from __future__ import annotations

import re
import typing as t
from unittest import mock

from hypothesis import example
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from flask_namedsessions import forms
from flask_namedsessions import htmltags
from flask_namedsessions import scanner
from flask_namedsessions import urls
from flask_namedsessions.rewrite import hidden_input
from flask_namedsessions.rewrite import HTMLRewriter
from flask_namedsessions.rewrite import rewrite_html
from flask_namedsessions.urls import Origin

ORIGIN = Origin("http", "example.com")
PARAMS = {"_session:cart": "ID", "s:b": "X"}

FRAGMENTS = [
    "<a", "<A ", "<area ", "<iframe ", "<frame ", "<abbr ", "<x:a ", "<p ", "<div ", "</a>",
    " href=", " HREF = ", " src=", " action=", " title=", "href", "=", '"', "'", ">", "/>", "/",
    " ", "\n", "\t", "\x00", "é", "<", "&amp;", "&#35;", "&copy=", "#f", "?", "?a=1", "&",
    "<form", "<FORM action=", "</form>", "</FORM >", "<form action='/x'>",
    '<input type="hidden" name="_session:cart" value="ID">',
    "<!--", "-->", "--!>", "<!-->", "<!", "<?", "</", "<!DOCTYPE html>", "<![CDATA[",
    "<script>", "</script>", "<script><!--", "<SCRIPT >", "<style>", "</style >",
    "<textarea>", "</textarea>", "<title>", "</title>", "<xmp>", "<plaintext>",
    "<base href=", "<base href=//evil.com>",
    "/x", "x.html", "../y", "//evil.com", "\\\\evil.com", "/\\evil.com", "http:///evil.com",
    "https:evil.com", "http://example.com/", "http://EXAMPLE.com:80/x", "http://user@evil.com",
    "http://example.com@evil.com", "http://evil.com\\@example.com", "http://www.example.com",
    "javascript:x", "java\tscript:x", "mailto:a", "_session:cart=Z", "_session%3Acart=Z",
    "<svg>", "</svg>", "<svg/>", "<math>", "</math>", "<foreignObject>", "</foreignObject>",
    "<desc>", "<mi>", "</mi>", "<mglyph>", "<annotation-xml encoding=text/html>", "<g>", "</g>",
    "<path/>", "<path d=x/>", "]]>", "<b>", "</p>", "</div>", "<div>", "<font color=1>",
    "<table>", "<td>", "<frameset>", "<noscript>", "</noscript>", "<select>", "<template>",
    "<button formaction=//evil.com>", "<input form=f formaction=//evil.com>", "<form id=f>",
    "<button formaction=/x>", " id=f", " form=f",
]  # fmt: skip
URLS = [
    "/x", "x.html", "", "?a=1&amp;b", "/x#f", "//evil.com", "http://example.com/", "#top",
    "javascript:x", "/x?_session:cart=Z", "a b", "/x'y", '/x"y', "&#47;&#47;evil.com",
]  # fmt: skip
#: Whole tags that take a URL, so that most documents have something to rewrite.
url_tags = st.builds(
    "<{}{}{}{}{}{}{}{}".format,
    st.sampled_from(
        ["a", "A", "area", "iframe", "frame", "form", "FORM", "base", "abbr", "button"]
    ),
    st.sampled_from([" ", "\n", "/", " title='>' "]),
    st.sampled_from(["href", "HREF", "src", "action", "id", "formaction"]),
    st.sampled_from(["=", " = ", "", "="]),
    st.sampled_from(['"', "'", "", ""]),
    st.sampled_from(URLS),
    st.sampled_from(['"', "'", "", ""]),
    st.sampled_from([">", " x>", "/>", "", "\t>"]),
)
html_like = st.lists(
    st.one_of(
        st.sampled_from(FRAGMENTS),
        st.text(alphabet="<>/=\"' ab-!?#&;x", max_size=4),
        url_tags,
    ),
    max_size=30,
).map("".join)
#: What the rewriter may insert: hidden inputs, "name=value" pairs (after a
#: separator when one is needed), and quotes around an unquoted URL.
INPUTS = tuple(hidden_input(name, value) for name, value in PARAMS.items())
PAIRS = tuple(text for _, text in urls.param_pairs(PARAMS))


def _insertable(out: str, at: int) -> t.Iterator[int]:
    """The lengths of the pieces the rewriter may have inserted at ``at``."""
    for piece in (*INPUTS, *PAIRS, '"', "'"):
        if out.startswith(piece, at):
            yield len(piece)
    for separator in ("?", "&", "&amp;"):
        after = at + len(separator)
        if out.startswith(separator, at) and any(out.startswith(p, after) for p in PAIRS):
            yield len(separator)


def is_source_with_insertions(source: str, out: str) -> bool:
    """Is ``out`` the text of ``source`` with only insertable pieces added?
    Every way of reading ``out`` is followed at once (a small automaton), so
    a piece that also occurs in ``source`` cannot mislead it."""
    reach: dict[int, set[int]] = {0: {0}}  # position in out -> positions in source
    for at in range(len(out) + 1):
        here = reach.pop(at, None)
        if not here:
            continue
        if at == len(out):
            return len(source) in here
        for length in _insertable(out, at):
            reach.setdefault(at + length, set()).update(here)
        char = out[at]
        step = {i + 1 for i in here if i < len(source) and source[i] == char}
        if step:
            reach.setdefault(at + 1, set()).update(step)
    return False


def test_insertions_are_found_when_they_are_the_only_change() -> None:
    """The check above accepts a rewrite and refuses a changed byte."""
    source = '<a href=/x?a=1&>"<form><input type="hidden" name="s:b" value="X">'
    out = rewrite_html(source, PARAMS, ORIGIN)
    assert out != source
    assert is_source_with_insertions(source, out)
    assert not is_source_with_insertions(source, out.replace("a=1", "a=2"))
    assert not is_source_with_insertions(source, out.replace('>"<', "><"))
    assert not is_source_with_insertions(source, out + "x")


def _chunks(source: str, cuts: list[int]) -> list[str]:
    points = sorted({c % (len(source) + 1) for c in cuts})
    return [source[a:b] for a, b in zip([0, *points], [*points, len(source)], strict=True)]


def _streamed(source: str, cuts: list[int]) -> str:
    rewriter = HTMLRewriter(PARAMS, ORIGIN)
    out = [rewriter.feed(chunk) for chunk in _chunks(source, cuts)]
    return "".join(out) + rewriter.close()


@settings(max_examples=500, deadline=None)
@given(html_like)
def test_removing_insertions_gives_back_input_when_html_like(source: str) -> None:
    assert is_source_with_insertions(source, rewrite_html(source, PARAMS, ORIGIN))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_removing_insertions_gives_back_input_when_any_text(source: str) -> None:
    assert is_source_with_insertions(source, rewrite_html(source, PARAMS, ORIGIN))


@settings(max_examples=500, deadline=None)
@given(html_like)
def test_rewriting_twice_equals_once_when_html_like(source: str) -> None:
    once = rewrite_html(source, PARAMS, ORIGIN)
    assert rewrite_html(once, PARAMS, ORIGIN) == once


#: (which "<", how far after it) for cuts where a chunk boundary matters most:
#: just after "<", "<!", "<!-", "</" and the like
near_markup = st.lists(
    st.tuples(st.integers(min_value=0, max_value=29), st.integers(min_value=1, max_value=5)),
    max_size=8,
)


def _near_markup(source: str, picks: list[tuple[int, int]]) -> list[int]:
    starts = [match.start() for match in re.finditer("<", source)]
    if not starts:
        return []
    return [min(starts[k % len(starts)] + offset, len(source)) for k, offset in picks]


@settings(max_examples=500, deadline=None)
@given(html_like, st.lists(st.integers(min_value=0, max_value=400), max_size=12), near_markup)
def test_streaming_equals_whole_when_split_anywhere(
    source: str, cuts: list[int], picks: list[tuple[int, int]]
) -> None:
    cuts = cuts + _near_markup(source, picks)
    assert _streamed(source, cuts) == rewrite_html(source, PARAMS, ORIGIN)


#: Few pieces, dense in what a chunk boundary could change: openers of
#: comments, tags and raw text, the ends that close them, and what follows.
OPENERS = [
    "<!--", "<!---", "<!-", "<!", "-->", "--!>", "--", "-", ">", " ", "x", "'", '"', "<", "</",
    "<a href=/x>", "<form>", "</form>", "<script>", "</script>", "<style>", "</style>", "<?",
]  # fmt: skip
markup_dense = st.lists(st.sampled_from(OPENERS), max_size=12).map("".join)


@settings(max_examples=300, deadline=None)
@given(st.one_of(markup_dense, html_like))
def test_streaming_equals_whole_when_split_once_at_every_point(source: str) -> None:
    whole = rewrite_html(source, PARAMS, ORIGIN)
    for cut in range(1, len(source)):
        assert _streamed(source, [cut]) == whole, cut


@settings(max_examples=300, deadline=None)
@given(html_like, st.lists(st.integers(min_value=0, max_value=400), max_size=12))
def test_streaming_equals_whole_when_tags_exceed_a_small_limit(
    source: str, cuts: list[int]
) -> None:
    with mock.patch.object(scanner, "MAX_TAG", 12):
        assert _streamed(source, cuts) == rewrite_html(source, PARAMS, ORIGIN)


@settings(max_examples=300, deadline=None)
@given(
    html_like,
    st.lists(st.integers(min_value=0, max_value=400), max_size=12),
    st.integers(min_value=0, max_value=40),
)
def test_streaming_equals_whole_when_forms_may_wait_only_a_little(
    source: str, cuts: list[int], lookahead: int
) -> None:
    with mock.patch.object(forms, "LOOKAHEAD", lookahead):
        assert _streamed(source, cuts) == rewrite_html(source, PARAMS, ORIGIN)


@settings(max_examples=200, deadline=None)
@given(html_like)
def test_streaming_equals_whole_when_fed_one_character_at_a_time(source: str) -> None:
    assert _streamed(source, list(range(len(source)))) == rewrite_html(source, PARAMS, ORIGIN)


#: Consumes text only, so every tag takes the exact path.
_NO_QUICK = re.compile(r"(?:[^<]+|<(?=[^A-Za-z!/?]))*(?:((?!))()()()()())?")


@settings(max_examples=500, deadline=None)
@given(html_like)
@example('<form a="/x"b action="javascript:x">')
def test_quick_path_equals_exact_path_when_html_like(source: str) -> None:
    quick = rewrite_html(source, PARAMS, ORIGIN)
    with mock.patch.object(htmltags, "QUICK", _NO_QUICK):
        assert rewrite_html(source, PARAMS, ORIGIN) == quick


@settings(max_examples=300, deadline=None)
@given(html_like, st.integers(min_value=1, max_value=9))
@example('<form href="/x"<a action="javascript:x">', 1)
def test_output_is_the_same_when_reading_windows_are_small(source: str, window: int) -> None:
    expected = rewrite_html(source, PARAMS, ORIGIN)
    with (
        mock.patch.object(scanner, "_WINDOW", window),
        mock.patch.object(htmltags, "ATTR_WINDOW", window),
    ):
        assert rewrite_html(source, PARAMS, ORIGIN) == expected


tag_like = st.tuples(
    st.sampled_from(["a", "Z", "form", "area"]),
    st.text(alphabet=["a", "=", '"', "'", " ", "\t", "/", ">", "<", "-", "\x00"], max_size=16),
).map("<{0[0]}{0[1]}".format)


@settings(max_examples=1000, deadline=None)
@given(tag_like, st.integers(min_value=1, max_value=12))
def test_long_tag_reader_ends_where_grammar_does_when_any_tag(source: str, window: int) -> None:
    match = htmltags.TAG.match(source)
    with mock.patch.object(htmltags, "ATTR_WINDOW", window):
        state, end = htmltags.long_tag_step(htmltags.T_NAME, source, 2)
    assert (match.end() if match else None) == (end if state == -1 else None)


@settings(max_examples=300, deadline=None)
@given(tag_like, st.lists(st.integers(min_value=2, max_value=20), max_size=6))
def test_long_tag_reader_resumes_when_split(source: str, cuts: list[int]) -> None:
    """Read piece by piece, as a stream would deliver it, a tag ends where
    it ends when read at once."""
    whole_state, whole_end = htmltags.long_tag_step(htmltags.T_NAME, source, 2)
    state, pos = htmltags.T_NAME, 2
    for cut in [*sorted(c for c in cuts if c > 2), len(source)]:
        if state == -1 or cut <= pos:
            continue
        state, pos = htmltags.long_tag_step(state, source[:cut], pos)
    if state == -1 or whole_state == -1:
        assert (state, pos) == (whole_state, whole_end)


url_like = st.lists(
    st.one_of(
        st.sampled_from(
            ["/", "//", "\\", "http:", "HTTPS:", "example.com", "evil.com", ":80", ":8080", "@",
             "?", "#", "&", "&amp;", "&#35;", "&copy", "_session:cart", "_session%3Acart", "=",
             "ID", " ", "\t", "\x00", "x", ".", "javascript:", "%2F", "'", '"']
        ),
        st.text(max_size=3),
    ),
    max_size=10,
).map("".join)  # fmt: skip


def _link_params_by_the_rules(
    raw: str, judge: urls.LinkJudge, pairs: urls.ParamPairs
) -> tuple[int, str]:
    """What :func:`urls.link_params` must give, from the general rules alone:
    decode the attribute, clean the URL, judge it, add what is missing."""
    url = urls.clean_url(urls.decode_attribute(raw))
    if not urls.is_link(url) or not judge.ours(url):
        return 0, ""
    return urls.add_params(raw, pairs, attribute=True)


@settings(max_examples=1000, deadline=None)
@given(url_like, st.sampled_from([None, "//evil.com/", "/app/", "https://example.com/"]))
def test_url_shortcuts_agree_with_exact_rules_when_any_url(raw: str, base: str | None) -> None:
    judge = urls.LinkJudge(ORIGIN)
    if base is not None:
        judge.set_base(base)
    pairs = urls.param_pairs(PARAMS)
    assert urls.link_params(raw, judge, pairs) == _link_params_by_the_rules(raw, judge, pairs)


@settings(max_examples=300, deadline=None)
@given(url_like)
def test_url_with_params_is_idempotent_when_any_url(url: str) -> None:
    once = urls.url_with_params(url, PARAMS)
    assert urls.url_with_params(once, PARAMS) == once


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40), st.text(max_size=10))
def test_nothing_raises_when_input_is_arbitrary(url: str, base: str) -> None:
    assert isinstance(urls.is_same_origin(url, ORIGIN, base), bool)
    assert isinstance(urls.rewrite_location(url, PARAMS, ORIGIN), str)
    assert isinstance(urls.url_with_params(url, PARAMS), str)
    html = f"<base href='{base}'><a href='{url}'><form action={url}>"
    assert is_source_with_insertions(html, rewrite_html(html, PARAMS, ORIGIN))
