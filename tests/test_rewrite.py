"""The link rewriter, rule by rule (SPEC section 5), with exact outputs."""

from __future__ import annotations

import pytest

from flask_namedsessions.rewrite import HTMLRewriter
from flask_namedsessions.rewrite import is_same_origin
from flask_namedsessions.rewrite import Origin
from flask_namedsessions.rewrite import rewrite_html
from flask_namedsessions.rewrite import rewrite_location
from flask_namedsessions.rewrite import url_with_params

ORIGIN = Origin("http", "example.com")
P = {"_session:cart": "ID"}
Q = "_session:cart=ID"
HIDDEN = '<input type="hidden" name="_session:cart" value="ID">'

CHANGED = [
    ('<a href="/x">', f'<a href="/x?{Q}">'),
    ("<a href='/x#f'>", f"<a href='/x?{Q}#f'>"),
    ("<a href=/x>", f"<a href=/x?{Q}>"),
    ('<a href="x.html">', f'<a href="x.html?{Q}">'),
    ('<a href="">', f'<a href="?{Q}">'),
    ('<a href="/x?">', f'<a href="/x?{Q}">'),
    ('<a href="/x?a=1">', f'<a href="/x?a=1&{Q}">'),
    ('<a href="/x?a=1&amp;b=2">', f'<a href="/x?a=1&amp;b=2&amp;{Q}">'),
    ('<A HREF="/x">', f'<A HREF="/x?{Q}">'),
    ('<a\nclass="c"\nhref="/x"\n>', f'<a\nclass="c"\nhref="/x?{Q}"\n>'),
    ('<a href = "/x" >', f'<a href = "/x?{Q}" >'),
    ('<a class=x href="/x" id=y>', f'<a class=x href="/x?{Q}" id=y>'),
    ('<a href="/x" href="//evil.com">', f'<a href="/x?{Q}" href="//evil.com">'),
    ('<area href="/m">', f'<area href="/m?{Q}">'),
    ('<frame src="/f">', f'<frame src="/f?{Q}">'),
    ('<iframe src="/f"></iframe>', f'<iframe src="/f?{Q}"></iframe>'),
    ('<a href="http://example.com/x">', f'<a href="http://example.com/x?{Q}">'),
    ('<a href="http://EXAMPLE.com:80/x">', f'<a href="http://EXAMPLE.com:80/x?{Q}">'),
    ('<a href="//example.com/x">', f'<a href="//example.com/x?{Q}">'),
    ('<a href="https://example.com/x">', f'<a href="https://example.com/x?{Q}">'),
    ('<a href="http:x">', f'<a href="http:x?{Q}">'),
    ('<a href="/x?other=1#frag">', f'<a href="/x?other=1&{Q}#frag">'),
    ("<form>", f"<form>{HIDDEN}"),
    ('<FORM method="post" action="">', f'<FORM method="post" action="">{HIDDEN}'),
    ('<form action="/save">', f'<form action="/save">{HIDDEN}'),
    ('<form action="http://example.com/save">', f'<form action="http://example.com/save">{HIDDEN}'),
    ("<form><form action=/y></form><form>", f"<form>{HIDDEN}<form action=/y></form><form>{HIDDEN}"),
    (
        '<base href="http://evil.com/"><a href="/x"><a href="http://example.com/z">',
        f'<base href="http://evil.com/"><a href="/x"><a href="http://example.com/z?{Q}">',
    ),
    ('<base href="/sub/"><a href="x">', f'<base href="/sub/"><a href="x?{Q}">'),
    (
        '<script><a href="/x"></script><a href="/y">',
        f'<script><a href="/x"></script><a href="/y?{Q}">',
    ),
    ('<!-- <a href="/x"> --><a href="/y">', f'<!-- <a href="/x"> --><a href="/y?{Q}">'),
    ('<!--><a href="/y">', f'<!--><a href="/y?{Q}">'),
    ('<!DOCTYPE html><a href="/y">', f'<!DOCTYPE html><a href="/y?{Q}">'),
    ('<a href="/x?_session:other=1">', f'<a href="/x?_session:other=1&{Q}">'),
]

UNCHANGED = [
    '<a href="//evil.com/x">',
    '<a href="\\\\evil.com">',
    '<a href="/\\evil.com">',
    '<a href="http:///evil.com">',
    '<a href="https:evil.com">',
    '<a href=" https://evil.com">',
    '<a href="\thttp://evil.com">',
    '<a href="java\tscript:alert(1)">',
    '<a href="JAVASCRIPT:alert(1)">',
    '<a href="mailto:a@example.com">',
    '<a href="tel:123">',
    '<a href="data:text/html,hi">',
    '<a href="ftp://example.com/">',
    '<a href="http://user@evil.com">',
    '<a href="http://example.com@evil.com">',
    '<a href="http://example.com.evil.org/">',
    '<a href="http://www.example.com/">',
    '<a href="http://example.com.:80/">',
    '<a href="http://example.com:8080/">',
    '<a href="#top">',
    "<a>",
    "<a href>",
    '<abbr href="/x">',
    '<iframes src="/x">',
    '<x:a href="/x">',
    '<link href="/style.css">',
    '<img src="/i.png">',
    '<form action="https://evil.com/">',
    '<form action="//evil.com/">',
    '<a href="/x?_session:cart=OLD">',
    '<a href="/x?_session%3Acart=OLD">',
    '<a href="/x?_session%3acart=OLD">',
    "<script>document.write('<a href=\"/x\">')</script>",
    '<SCRIPT type="t"><form></SCRIPT >',
    '<style>a[href="/x"]{}</style>',
    '<textarea><a href="/x"></textarea>',
    '<title><a href="/x"></title>',
    "<!-- <form> -->",
    '<!-- unclosed <a href="/x">',
    '<a href="/x"',
    '<a href="/x',
    "<",
    "< a href=/x>",
    "a < b > c",
    "</a href='/x'>",
    '<?php echo "<a href=/x>" ?>',
    '<![CDATA[ <a href="/x"> ]]>',
    "plain text &amp; more",
    '<plaintext><a href="/x">',
]


@pytest.mark.parametrize(("source", "expected"), CHANGED)
def test_rewrite_changes_same_origin_links(source: str, expected: str) -> None:
    assert rewrite_html(source, P, ORIGIN) == expected


@pytest.mark.parametrize("source", UNCHANGED)
def test_rewrite_leaves_other_markup_byte_for_byte(source: str) -> None:
    assert rewrite_html(source, P, ORIGIN) == source


def test_rewrite_with_several_params() -> None:
    params = {"_session:cart": "A", "_session:prefs": "B"}
    out = rewrite_html('<a href="/x?_session:prefs=Z"><form>', params, ORIGIN)
    assert out == (
        '<a href="/x?_session:prefs=Z&_session:cart=A"><form>'
        '<input type="hidden" name="_session:cart" value="A">'
        '<input type="hidden" name="_session:prefs" value="B">'
    )


def test_rewrite_with_no_params_returns_input() -> None:
    assert rewrite_html('<a href="/x">', {}, ORIGIN) == '<a href="/x">'


def test_rewrite_honours_extra_hosts() -> None:
    origin = Origin("https", "example.com:8443", frozenset({"cdn.example.net"}))
    assert is_same_origin("https://example.com:8443/", origin)
    assert not is_same_origin("https://example.com/", origin)
    assert is_same_origin("//CDN.example.net/a", origin)
    assert not is_same_origin("//x.cdn.example.net/a", origin)


def test_rewrite_is_idempotent_for_forms() -> None:
    once = rewrite_html("<form></form>", P, ORIGIN)
    assert rewrite_html(once, P, ORIGIN) == once


def test_streaming_holds_back_a_split_tag() -> None:
    rewriter = HTMLRewriter(P, ORIGIN)
    assert rewriter.feed("text <a hr") == "text "
    assert rewriter.feed('ef="/x">more') == f'<a href="/x?{Q}">more'
    assert rewriter.close() == ""


def test_streaming_releases_comment_contents() -> None:
    rewriter = HTMLRewriter(P, ORIGIN)
    out = rewriter.feed("<!-- " + "x" * 1000)
    assert out.startswith("<!-- xxx") and len(out) >= 1000
    rest = rewriter.feed(' --><a href="/y">') + rewriter.close()
    assert out + rest == "<!-- " + "x" * 1000 + f' --><a href="/y?{Q}">'


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/x", f"/x?{Q}"),
        ("/x?a=1#f", f"/x?a=1&{Q}#f"),
        (f"/x?{Q}", f"/x?{Q}"),
        ("/x#f?g", f"/x?{Q}#f?g"),
    ],
)
def test_url_with_params(url: str, expected: str) -> None:
    assert url_with_params(url, P) == expected


def test_url_with_params_encodes_names() -> None:
    assert url_with_params("/x", {"a b&c": "v"}) == "/x?a%20b%26c=v"


def test_rewrite_location_only_for_same_origin() -> None:
    assert rewrite_location("/next", P, ORIGIN) == f"/next?{Q}"
    assert rewrite_location("http://example.com/n", P, ORIGIN) == f"http://example.com/n?{Q}"
    assert rewrite_location("https://evil.com/n", P, ORIGIN) == "https://evil.com/n"
    assert rewrite_location("//evil.com/n", P, ORIGIN) == "//evil.com/n"


PATHOLOGICAL = ["<a ", "<!--", "<script", '"', "<form ", "<a href='", "</a", "<", "<!"]


@pytest.mark.parametrize("piece", PATHOLOGICAL)
def test_work_grows_linearly_on_malformed_input(piece: str) -> None:
    """Count the characters the scanner examines: quadratic behaviour would
    make four times the input cost sixteen times the work."""

    def work(n: int, chunk: int | None) -> int:
        rewriter = HTMLRewriter(P, ORIGIN)
        text = piece * n + '<a href="/x">'
        if chunk is None:
            rewriter.feed(text)
        else:
            for i in range(0, len(text), chunk):
                rewriter.feed(text[i : i + chunk])
        rewriter.close()
        return rewriter.steps

    for chunk in (None, 8192, 100):
        small, large = work(30000, chunk), work(120000, chunk)
        assert small > 0
        assert large <= 5 * small, (piece, chunk, small, large)
