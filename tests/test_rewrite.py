"""Link rewriting without Flask: URL judgement, HTML scanning, streaming."""

from __future__ import annotations

import pytest

from flask_namedsessions import scanner
from flask_namedsessions.rewrite import HTMLRewriter
from flask_namedsessions.rewrite import rewrite_html
from flask_namedsessions.scanner import MAX_TAG
from flask_namedsessions.urls import is_same_origin
from flask_namedsessions.urls import Origin
from flask_namedsessions.urls import rewrite_location
from flask_namedsessions.urls import url_with_params

HTTP = Origin("http", "example.com")
HTTPS = Origin("https", "example.com")
PARAMS = {"_session:cart": "ID"}
TWO = {"_session:cart": "ID", "_session:prefs": "ID2"}
Q = "_session:cart=ID"
HIDDEN = '<input type="hidden" name="_session:cart" value="ID">'
HIDDEN2 = '<input type="hidden" name="_session:prefs" value="ID2">'


def _link(url: str) -> str:
    return f'<a href="{url}">x</a>'


def _same(url: str) -> tuple[str, str]:
    """A URL that must stay exactly as written."""
    return url, url


# (document, expected) on an http page of example.com with PARAMS
CASES = {
    # what counts as this site
    "relative": ("x/y", f"x/y?{Q}"),
    "root_relative": ("/x", f"/x?{Q}"),
    "dot_relative": ("../x", f"../x?{Q}"),
    "query_only": ("?page=2", f"?page=2&{Q}"),
    "absolute": ("http://example.com/x", f"http://example.com/x?{Q}"),
    "scheme_relative": ("//example.com/x", f"//example.com/x?{Q}"),
    "host_case_and_default_port": ("http://EXAMPLE.com:80/x", f"http://EXAMPLE.com:80/x?{Q}"),
    "scheme_case": ("HTTP://example.com/", f"HTTP://example.com/?{Q}"),
    "https_upgrade": ("https://example.com/x", f"https://example.com/x?{Q}"),
    "userinfo_then_our_host": ("http://user@example.com/", f"http://user@example.com/?{Q}"),
    "same_scheme_without_slashes": ("http:x", f"http:x?{Q}"),
    "same_scheme_one_slash": ("http:/x", f"http:/x?{Q}"),
    "tab_inside_host": ("http://exam\tple.com/", f"http://exam\tple.com/?{Q}"),
    "leading_space": (" /x", f" /x?{Q}"),
    # only spaces and controls are stripped, at either end
    "letters_before_slashes": (" X//evil.com/", f" X//evil.com/?{Q}"),
    "letter_at_the_end": ("/x/X ", f"/x/X?{Q} "),
    # other sites
    "other_host": _same("http://evil.com/x"),
    "scheme_relative_other": _same("//evil.com"),
    "backslashes": _same("\\\\evil.com"),
    "slash_backslash": _same("/\\evil.com"),
    "backslash_slash": _same("\\/evil.com"),
    "three_slashes": _same("http:///evil.com"),
    "three_slashes_ours": ("http:///example.com/x", f"http:///example.com/x?{Q}"),
    "four_slashes_ours": ("http:////example.com/x", f"http:////example.com/x?{Q}"),
    "no_host": _same("http://"),
    "other_scheme_without_slashes": _same("https:evil.com"),
    "other_scheme_backslashes": _same("https:\\\\evil.com"),
    "same_scheme_two_backslashes": _same("http:\\\\evil.com"),
    "leading_space_absolute": _same(" https://evil.com"),
    "leading_control_absolute": _same("\x01//evil.com"),
    "userinfo_other_host": _same("http://user@evil.com/"),
    "our_host_as_userinfo": _same("http://example.com@evil.com/"),
    "backslash_before_at": _same("http://evil.com\\@example.com/"),
    "suffix": _same("http://example.com.evil.org/"),
    "subdomain": _same("http://www.example.com/"),
    "trailing_dot": _same("http://example.com./"),
    "other_port": _same("http://example.com:8080/"),
    "https_on_port_80": _same("https://example.com:80/"),
    "percent_encoded_host": _same("http://%65xample.com/"),
    "ipv6": _same("http://[::1]/"),
    "port_out_of_range": _same("http://example.com:65616/"),
    "unicode_digit_port": _same("http://example.com:\u0668\u0660/"),
    "kelvin_sign": _same("http://\u212aexample.com/"),
    # never links to rewrite
    "javascript": _same("javascript:go()"),
    "javascript_upper": _same("JAVASCRIPT:go()"),
    "javascript_with_tab": _same("java\tscript:go()"),
    "javascript_with_newline_reference": _same("java&#10;script:go()"),
    "mailto": _same("mailto:a@example.com"),
    "tel": _same("tel:+100"),
    "data": _same("data:text/html,hi"),
    "ftp_to_our_host": _same("ftp://example.com/"),
    "websocket": _same("ws://example.com/"),
    "fragment_only": _same("#top"),
    "fragment_only_after_space": _same("  #top"),
    "empty": ("", f"?{Q}"),
    "blank": ("  ", f"?{Q}  "),
    # where the parameter goes
    "fragment_stays_last": ("/x#f", f"/x?{Q}#f"),
    "query_and_fragment": ("/x?a=1#f", f"/x?a=1&{Q}#f"),
    "empty_query": ("/x?", f"/x?{Q}"),
    "query_ending_with_separator": ("/x?a=1&", f"/x?a=1&{Q}"),
    "empty_query_and_fragment": ("/x?#f", f"/x?{Q}#f"),
    "question_mark_in_fragment": ("/x#a?b", f"/x?{Q}#a?b"),
    "second_question_mark": ("/x?a?", f"/x?a?&{Q}"),
    "trailing_space": ("/x ", f"/x?{Q} "),
    "space_before_fragment": ("/x #f", f"/x ?{Q}#f"),
    "escaped_ampersands": ("/x?a=1&amp;b=2", f"/x?a=1&amp;b=2&amp;{Q}"),
    "escaped_trailing_ampersand": ("/x?a=1&amp;", f"/x?a=1&amp;{Q}"),
    "encoded_fragment_sign": ("/x&#35;f", f"/x?{Q}&#35;f"),
    "legacy_reference_kept_in_attribute": ("?a=1&copy=2", f"?a=1&copy=2&{Q}"),
    "encoded_slashes_other_host": _same("&#47;&#47;evil.com"),
    "encoded_scheme": _same("java&#115;cript:go()"),
    # already there
    "param_present": _same("/x?_session:cart=OLD"),
    "param_present_encoded": _same("/x?_session%3Acart=OLD"),
    "param_present_lower_encoded": _same("/x?_session%3acart=OLD"),
    "param_present_after_others": _same("/x?a=1&_session:cart=OLD#f"),
    "param_present_escaped": _same("/x?a=1&amp;_session:cart=OLD"),
    "param_present_without_value": _same("/x?_session:cart"),
    "param_only_in_fragment": ("/x#_session:cart=1", f"/x?{Q}#_session:cart=1"),
    "longer_name": ("/x?x_session:cart=1", f"/x?x_session:cart=1&{Q}"),
}


@pytest.mark.parametrize(("url", "expected"), CASES.values(), ids=CASES.keys())
def test_link_url_judged_as_a_browser_when_on_http_page(url: str, expected: str) -> None:
    assert rewrite_html(_link(url), PARAMS, HTTP) == _link(expected)


HTTPS_CASES = {
    "same_scheme_without_slashes": ("https:x", f"https:x?{Q}"),
    "downgrade_to_http": _same("http://example.com/x"),
    "http_without_slashes": _same("http:example.com"),
    "default_port": ("https://example.com:443/x", f"https://example.com:443/x?{Q}"),
    "scheme_relative": ("//example.com/x", f"//example.com/x?{Q}"),
}


@pytest.mark.parametrize(("url", "expected"), HTTPS_CASES.values(), ids=HTTPS_CASES.keys())
def test_link_url_judged_as_a_browser_when_on_https_page(url: str, expected: str) -> None:
    assert rewrite_html(_link(url), PARAMS, HTTPS) == _link(expected)


# (document, expected): tags, attributes, quoting
MARKUP = {
    "double_quotes": ('<a href="/x">', f'<a href="/x?{Q}">'),
    "single_quotes": ("<a href='/x'>", f"<a href='/x?{Q}'>"),
    "unquoted_gets_quotes": ("<a href=/x>", f'<a href="/x?{Q}">'),
    "unquoted_with_double_quote": ('<a href=/x"y>', f"<a href='/x\"y?{Q}'>"),
    "unquoted_with_both_quotes": ("<a href=/x\"'y>", f"<a href=/x\"'y?{Q}>"),
    "upper_case": ('<A HREF="/x">', f'<A HREF="/x?{Q}">'),
    "mixed_case": ('<aReA hReF="/x">', f'<aReA hReF="/x?{Q}">'),
    "split_over_lines": (
        '<a\n  class="c"\n  href\n  =\n  "/x"\n>',
        f'<a\n  class="c"\n  href\n  =\n  "/x?{Q}"\n>',
    ),
    "tabs_and_form_feeds": ('<a\thref\f=\t"/x">', f'<a\thref\f=\t"/x?{Q}">'),
    "other_attributes_kept": (
        '<a class=nav  data-x=\'1\' href="/x" title="a&amp;b" hidden>',
        f'<a class=nav  data-x=\'1\' href="/x?{Q}" title="a&amp;b" hidden>',
    ),
    "self_closing": ('<a href="/x"/>', f'<a href="/x?{Q}"/>'),
    "slash_between_attributes": ('<a/href="/x">', f'<a/href="/x?{Q}">'),
    "gt_in_earlier_value": ('<a title="a>b" href="/x">', f'<a title="a>b" href="/x?{Q}">'),
    "missing_space_after_value": ('<a title="t"href="/x">', f'<a title="t"href="/x?{Q}">'),
    "area": ('<area shape=rect href="/x">', f'<area shape=rect href="/x?{Q}">'),
    "iframe": ('<iframe src="/x"></iframe>', f'<iframe src="/x?{Q}"></iframe>'),
    "frame": ('<frame src="/x">', f'<frame src="/x?{Q}">'),
    "first_of_two_hrefs": ('<a href="/x" href="/y">', f'<a href="/x?{Q}" href="/y">'),
    "first_href_foreign": ('<a href="//evil.com" href="/y">', '<a href="//evil.com" href="/y">'),
    "href_inside_other_value": ('<a title="href=/x">', '<a title="href=/x">'),
    "href_without_value": ("<a href>", "<a href>"),
    "href_empty_unquoted": ("<a href=>", f'<a href="?{Q}">'),
    "href_without_value_before_slash": ("<a href/>", "<a href/>"),
    "href_then_quoted_name": ('<p>x<a href "x"><a href=/y>', f'<p>x<a href "x"><a href="/y?{Q}">'),
    "href_then_single_quoted_name": ("<a href 'x' title=t>", "<a href 'x' title=t>"),
    "abbr": ('<abbr href="/x">', '<abbr href="/x">'),
    "iframes": ('<iframes src="/x">', '<iframes src="/x">'),
    "namespaced": ('<x:a href="/x">', '<x:a href="/x">'),
    "a_with_quote_in_name": ('<a" href="/x">', '<a" href="/x">'),
    "a_with_nul_in_name": ('<a\x00 href="/x">', '<a\x00 href="/x">'),
    "link_tag": ('<link href="/x">', '<link href="/x">'),
    "img": ('<img src="/x">', '<img src="/x">'),
    "wrong_attribute": ('<a src="/x"><iframe href="/x">', '<a src="/x"><iframe href="/x">'),
    "quote_in_attribute_name": ('<a x"y="1" href="/x">', f'<a x"y="1" href="/x?{Q}">'),
    "equals_starts_a_name": ('<a ="x>" href="/y">', '<a ="x>" href="/y">'),
    "spaces_around_equals_in_other": ('<a b = "1" href="/x">', f'<a b = "1" href="/x?{Q}">'),
    "end_tag_attributes_hide_gt": ('</p title=">"><a href=/x>', f'</p title=">"><a href="/x?{Q}">'),
    # raw text and comments
    "script": ("<script>'<a href=\"/x\">'</script>", "<script>'<a href=\"/x\">'</script>"),
    "script_upper_case_end": (
        "<SCRIPT>'<a href=/x>'</ScRiPt ><a href=/y>",
        f"<SCRIPT>'<a href=/x>'</ScRiPt ><a href=\"/y?{Q}\">",
    ),
    "script_other_end_tag": ("<script></scripts><a href=/x>", "<script></scripts><a href=/x>"),
    "script_escape": (
        "<script><!--<script></script><a href=/x>--></script><a href=/y>",
        f'<script><!--<script></script><a href=/x>--></script><a href="/y?{Q}">',
    ),
    "script_escape_closed": (
        "<script><!-- x --></script><a href=/y>",
        f'<script><!-- x --></script><a href="/y?{Q}">',
    ),
    "script_long_s_is_not_s": (
        "<script></\u017fcript><a href=/x>",
        "<script></\u017fcript><a href=/x>",
    ),
    "style": (
        "<style>a[href='/x']{}</style><a href=/y>",
        f"<style>a[href='/x']{{}}</style><a href=\"/y?{Q}\">",
    ),
    "textarea": ("<textarea><a href=/x></textarea>", "<textarea><a href=/x></textarea>"),
    "title": ("<title><a href=/x></title>", "<title><a href=/x></title>"),
    "xmp": ("<xmp><a href=/x></xmp>", "<xmp><a href=/x></xmp>"),
    "iframe_content": ("<iframe><a href=/x></iframe>", "<iframe><a href=/x></iframe>"),
    "plaintext": ("<plaintext></plaintext><a href=/x>", "<plaintext></plaintext><a href=/x>"),
    "comment": ("<!-- <a href=/x> --><a href=/y>", f'<!-- <a href=/x> --><a href="/y?{Q}">'),
    "comment_abrupt": ("<!--><a href=/x>", f'<!--><a href="/x?{Q}">'),
    "comment_abrupt_dash": ("<!---><a href=/x>", f'<!---><a href="/x?{Q}">'),
    "comment_bang_end": ("<!-- --!><a href=/x>", f'<!-- --!><a href="/x?{Q}">'),
    "comment_gt_is_not_end": ("<!-- > <a href=/x> -->", "<!-- > <a href=/x> -->"),
    "comment_unclosed": ("<!-- <a href=/x>", "<!-- <a href=/x>"),
    "nul_at_the_end_stays_in_the_path": ("<a href=/x\x00>", f'<a href="/x\x00?{Q}">'),
    "nul_reference_stays_in_the_path": ("<a href=/x&#0;>", f'<a href="/x&#0;?{Q}">'),
    "noscript_content_is_text": (
        "<noscript><a href=/x></noscript><a href=/y>",
        f'<noscript><a href=/x></noscript><a href="/y?{Q}">',
    ),
    "svg_link_read_as_html": ("<svg><a href=/x></a></svg>", f'<svg><a href="/x?{Q}"></a></svg>'),
    "doctype": ("<!DOCTYPE html><a href=/x>", f'<!DOCTYPE html><a href="/x?{Q}">'),
    "cdata_ends_at_gt": (
        "<![CDATA[ <a href=/x> ]]><a href=/y>",
        f'<![CDATA[ <a href=/x> ]]><a href="/y?{Q}">',
    ),
    "processing_instruction": (
        "<?xml version='1.0'?><a href=/x>",
        f"<?xml version='1.0'?><a href=\"/x?{Q}\">",
    ),
    "bogus_end_tag": ("</ x><a href=/x>", f'</ x><a href="/x?{Q}">'),
    "empty_end_tag": ("</><a href=/x>", f'</><a href="/x?{Q}">'),
    # malformed
    "stray_lt": ("a < b <<a href=/x>", f'a < b <<a href="/x?{Q}">'),
    "lt_before_digit": ("1<2<a href=/x>", f'1<2<a href="/x?{Q}">'),
    "unclosed_tag_at_end": ('<a href="/x"', '<a href="/x"'),
    "quotes_span_gt": ('<a href="/x>t<a href="/y">', f'<a href="/x>t<a href=?{Q}"/y">'),
    "unclosed_quote": ('<a href="/x>t<a href=/y>', '<a href="/x>t<a href=/y>'),
    "unclosed_tag_swallows": ("<div <a href=/x>", "<div <a href=/x>"),
    "lone_lt_at_end": ("<a href=/x><", f'<a href="/x?{Q}"><'),
    "end_tag_open_at_end": ("<a href=/x></", f'<a href="/x?{Q}"></'),
    "nul_and_surrogate_text": ("\x00\ud800<a href=/x>\udfff", f'\x00\ud800<a href="/x?{Q}">\udfff'),
}


@pytest.mark.parametrize(("html", "expected"), MARKUP.values(), ids=MARKUP.keys())
def test_markup_read_as_a_browser_when_rewriting(html: str, expected: str) -> None:
    assert rewrite_html(html, PARAMS, HTTP) == expected


FORMS = {
    "no_action": ("<form><input></form>", f"<form>{HIDDEN}<input></form>"),
    "empty_action": ('<form action="">', f'<form action="">{HIDDEN}'),
    "valueless_action": ("<form action>", f"<form action>{HIDDEN}"),
    "relative_action": (
        '<form action="/cart" method="post">',
        f'<form action="/cart" method="post">{HIDDEN}',
    ),
    "absolute_action": (
        '<form action="http://example.com/x">',
        f'<form action="http://example.com/x">{HIDDEN}',
    ),
    "fragment_action": ('<form action="#x">', f'<form action="#x">{HIDDEN}'),
    "upper_case": ("<FORM METHOD=POST>", f"<FORM METHOD=POST>{HIDDEN}"),
    "foreign_action": ('<form action="//evil.com/x">', '<form action="//evil.com/x">'),
    "javascript_action": ('<form action="javascript:go()">', '<form action="javascript:go()">'),
    "escaped_action": ('<form action="/x?a=1&amp;b=2">', f'<form action="/x?a=1&amp;b=2">{HIDDEN}'),
    "nested": (
        "<form><form action=/y></form><form>",
        f"<form>{HIDDEN}<form action=/y></form><form>{HIDDEN}",
    ),
    "nested_foreign_first": (
        "<form action=//evil.com><form></form><form>",
        f"<form action=//evil.com><form></form><form>{HIDDEN}",
    ),
    "end_tag_upper_case": ("<form></FORM ><form>", f"<form>{HIDDEN}</FORM ><form>{HIDDEN}"),
    "end_tag_with_attribute": (
        '<form></form x="y"><form>',
        f'<form>{HIDDEN}</form x="y"><form>{HIDDEN}',
    ),
    "end_tag_with_odd_attribute": (
        "<form></form ='y' x\"z><form>",
        f"<form>{HIDDEN}</form ='y' x\"z><form>{HIDDEN}",
    ),
    "already_there": (f"<form>{HIDDEN}<input>", f"<form>{HIDDEN}<input>"),
    "form_in_comment": ("<!--<form>--><form>", f"<!--<form>--><form>{HIDDEN}"),
    "form_in_script": ("<script><form></script><form>", f"<script><form></script><form>{HIDDEN}"),
    "gt_in_value": ('<form title="a>b">', f'<form title="a>b">{HIDDEN}'),
    "unclosed": ("<form", "<form"),
    "name_escaped": ("<formx>", "<formx>"),
}


@pytest.mark.parametrize(("html", "expected"), FORMS.values(), ids=FORMS.keys())
def test_form_gets_hidden_input_when_same_origin_and_not_nested(html: str, expected: str) -> None:
    assert rewrite_html(html, PARAMS, HTTP) == expected


BASES = {
    "foreign_base_relative": (
        '<base href="//evil.com/"><a href="/x">',
        '<base href="//evil.com/"><a href="/x">',
    ),
    "foreign_base_absolute_ours": (
        '<base href="http://evil.com/"><a href="http://example.com/x">',
        f'<base href="http://evil.com/"><a href="http://example.com/x?{Q}">',
    ),
    "foreign_base_form_with_action": (
        '<base href="//evil.com/"><form action="x">',
        '<base href="//evil.com/"><form action="x">',
    ),
    "foreign_base_form_without_action": (
        '<base href="//evil.com/"><form>',
        f'<base href="//evil.com/"><form>{HIDDEN}',
    ),
    "foreign_base_scheme_relative_ours": (
        '<base href="https://evil.com/"><a href="//example.com/x">',
        f'<base href="https://evil.com/"><a href="//example.com/x?{Q}">',
    ),
    "same_origin_base": ('<base href="/app/"><a href="x">', f'<base href="/app/"><a href="x?{Q}">'),
    "same_origin_absolute_base": (
        '<base href="http://example.com/app/"><a href="x">',
        f'<base href="http://example.com/app/"><a href="x?{Q}">',
    ),
    "javascript_base_is_ignored": (
        '<base href="javascript:x"><a href="x">',
        f'<base href="javascript:x"><a href="x?{Q}">',
    ),
    "data_base_is_ignored": (
        '<base href=" DATA:text/html,x"><a href="x">',
        f'<base href=" DATA:text/html,x"><a href="x?{Q}">',
    ),
    "ftp_base_counts": (
        '<base href="ftp://example.com/"><a href="x">',
        '<base href="ftp://example.com/"><a href="x">',
    ),
    "only_first_base_counts": (
        '<base href="/a/"><base href="//evil.com/"><a href="x">',
        f'<base href="/a/"><base href="//evil.com/"><a href="x?{Q}">',
    ),
    "base_without_href_does_not_count": (
        '<base target="_top"><base href="//evil.com/"><a href="x">',
        '<base target="_top"><base href="//evil.com/"><a href="x">',
    ),
    "base_in_comment_does_not_count": (
        '<!--<base href="//evil.com/">--><a href="x">',
        f'<!--<base href="//evil.com/">--><a href="x?{Q}">',
    ),
    "links_before_the_base": (
        '<a href="x"><base href="//evil.com/">',
        f'<a href="x?{Q}"><base href="//evil.com/">',
    ),
}


@pytest.mark.parametrize(("html", "expected"), BASES.values(), ids=BASES.keys())
def test_relative_urls_follow_base_when_it_is_set(html: str, expected: str) -> None:
    assert rewrite_html(html, PARAMS, HTTP) == expected


def test_every_param_added_when_several() -> None:
    html = '<a href="/x#f"><a href="/y?_session:prefs=OLD"><form>'
    assert rewrite_html(html, TWO, HTTP) == (
        '<a href="/x?_session:cart=ID&_session:prefs=ID2#f">'
        '<a href="/y?_session:prefs=OLD&_session:cart=ID">'
        f"<form>{HIDDEN}{HIDDEN2}"
    )


def test_only_missing_inputs_added_when_form_has_some() -> None:
    html = f"<form>{HIDDEN2}<input>"
    assert rewrite_html(html, TWO, HTTP) == f"<form>{HIDDEN}{HIDDEN2}<input>"


def test_name_and_value_escaped_when_special() -> None:
    params = {'a"b<c&d': "v'1"}
    assert rewrite_html("<form><a href=/x>", params, HTTP) == (
        '<form><input type="hidden" name="a&quot;b&lt;c&amp;d" value="v&#x27;1">'
        '<a href="/x?a%22b%3Cc%26d=v%271">'
    )


def test_extra_hosts_count_as_ours_when_configured() -> None:
    origin = Origin("http", "example.com:5000", frozenset({"cdn.example.com", "Other.ORG:8080"}))
    html = (
        '<a href="http://cdn.example.com/a"><a href="http://other.org:8080/b">'
        '<a href="http://example.com:5000/c"><a href="http://example.com/d">'
    )
    assert rewrite_html(html, PARAMS, origin) == (
        f'<a href="http://cdn.example.com/a?{Q}"><a href="http://other.org:8080/b?{Q}">'
        f'<a href="http://example.com:5000/c?{Q}"><a href="http://example.com/d">'
    )


def test_nothing_changes_when_no_params() -> None:
    html = "<a href=/x><form><a href"
    assert rewrite_html(html, {}, HTTP) == html
    rewriter = HTMLRewriter({}, HTTP)
    assert rewriter.feed(html) == html
    assert rewriter.close() == ""
    assert url_with_params("/x", {}) == "/x"
    assert rewrite_location("/x", {}, HTTP) == "/x"


URLS = {
    "plain": ("/x", "/x?_session:cart=ID"),
    "query": ("/x?a=1", "/x?a=1&_session:cart=ID"),
    "fragment": ("/x?a=1#f", "/x?a=1&_session:cart=ID#f"),
    "present": ("/x?_session:cart=OLD", "/x?_session:cart=OLD"),
    "present_encoded": ("/x?_session%3Acart=OLD#f", "/x?_session%3Acart=OLD#f"),
    "ampersand_not_an_entity": ("/x?a=1&amp;b=2", "/x?a=1&amp;b=2&_session:cart=ID"),
    "absolute": ("https://example.com/", "https://example.com/?_session:cart=ID"),
    "empty": ("", "?_session:cart=ID"),
}


@pytest.mark.parametrize(("url", "expected"), URLS.values(), ids=URLS.keys())
def test_url_with_params_when_called_directly(url: str, expected: str) -> None:
    assert url_with_params(url, PARAMS) == expected


def test_url_with_params_encodes_name_and_value() -> None:
    assert url_with_params("/x", {"a b:c": "v/w"}) == "/x?a%20b:c=v%2Fw"
    assert url_with_params("/x#f", TWO) == "/x?_session:cart=ID&_session:prefs=ID2#f"


SAME_ORIGIN = {
    "relative": ("x", None, True),
    "empty": ("", None, True),
    "fragment": ("#top", None, True),
    "absolute": ("http://example.com/", None, True),
    "port_80": ("http://example.com:80/", None, True),
    "userinfo": ("http://example.com@evil.com/", None, False),
    "backslash": ("http://evil.com\\@example.com", None, False),
    "three_slashes": ("http:///evil.com", None, False),
    "other_scheme_no_slashes": ("https:evil.com", None, False),
    "mailto": ("mailto:x@example.com", None, False),
    "relative_foreign_base": ("x", "https://evil.com/", False),
    "relative_same_base": ("x", "/app/", True),
    "absolute_foreign_base": ("http://example.com/", "https://evil.com/", True),
    "fragment_foreign_base": ("#top", "//evil.com/", False),
    "relative_unparsable_base": ("x", "ftp://example.com/", False),
}


@pytest.mark.parametrize(("url", "base", "expected"), SAME_ORIGIN.values(), ids=SAME_ORIGIN.keys())
def test_is_same_origin_when_called_directly(url: str, base: str | None, expected: bool) -> None:
    assert is_same_origin(url, HTTP, base) is expected


LOCATIONS = {
    "relative": ("/next", "/next?_session:cart=ID"),
    "absolute": ("http://example.com/next?a=1#f", "http://example.com/next?a=1&_session:cart=ID#f"),
    "foreign": ("https://evil.com/next", "https://evil.com/next"),
    "scheme_relative_foreign": ("//evil.com/next", "//evil.com/next"),
    "fragment": ("#f", "#f"),
    "empty": ("", ""),
    "present": ("/next?_session:cart=OLD", "/next?_session:cart=OLD"),
    "javascript": ("javascript:x", "javascript:x"),
}


@pytest.mark.parametrize(("location", "expected"), LOCATIONS.values(), ids=LOCATIONS.keys())
def test_rewrite_location_when_same_origin(location: str, expected: str) -> None:
    assert rewrite_location(location, PARAMS, HTTP) == expected


def stream(html: str, size: int) -> list[str]:
    """What a rewriter fed ``html`` in chunks of ``size`` gives, chunk by chunk."""
    rewriter = HTMLRewriter(PARAMS, HTTP)
    out = [rewriter.feed(html[i : i + size]) for i in range(0, len(html), size)]
    return [*out, rewriter.close()]


def test_output_released_when_final() -> None:
    rewriter = HTMLRewriter(PARAMS, HTTP)
    assert rewriter.feed("<p>hello ") == "<p>hello "
    assert rewriter.feed("<a hr") == ""
    assert rewriter.feed('ef="/x">bye <') == f'<a href="/x?{Q}">bye '
    assert rewriter.feed("/p>") == "</p>"
    assert rewriter.close() == ""


def test_comment_and_script_released_when_streaming() -> None:
    rewriter = HTMLRewriter(PARAMS, HTTP)
    assert rewriter.feed("<!-- " + "x" * 100) == "<!-- " + "x" * 97  # "--!" may follow
    assert rewriter.feed("x -") == "xxx"
    assert rewriter.feed("-><script>" + "y" * 50) == "x --><script>" + "y" * 42
    assert rewriter.feed("</scr") == "yyyyy"  # "</script" may follow
    assert rewriter.feed("ipt><a href=/x>") == f'yyy</script><a href="/x?{Q}">'
    assert rewriter.close() == ""


def test_form_waits_for_what_follows_when_split() -> None:
    rewriter = HTMLRewriter(PARAMS, HTTP)
    assert rewriter.feed("<form>") == ""
    assert rewriter.feed(HIDDEN[:10]) == ""
    assert rewriter.feed(HIDDEN[10:] + "<input>") == f"<form>{HIDDEN}<input>"
    assert rewriter.close() == ""


def test_incomplete_tail_unchanged_when_closed() -> None:
    rewriter = HTMLRewriter(PARAMS, HTTP)
    assert rewriter.feed('<a href="/x">x <a href="/y') == f'<a href="/x?{Q}">x '
    assert rewriter.close() == '<a href="/y'


def test_chunks_give_whole_output_when_split_anywhere() -> None:
    html = (
        '<!DOCTYPE html><base target=_top><form action="/f"><a title="a>b" href=\'/x#f\'>'
        "<!-- c --><script><!--<script></script>--></script><textarea></textarea>"
        "<area href=?q=1&amp;r=2><iframe src=//example.com/e></iframe></form><a href=//evil.com>"
    )
    whole = rewrite_html(html, PARAMS, HTTP)
    for size in range(1, len(html) + 1):
        assert "".join(stream(html, size)) == whole


#: documents whose output changes if a chunk ending inside ``<!--``, ``<!``,
#: ``</`` or ``<`` were decided before the next chunk came
OPENERS = {
    "comment_with_gt": (
        "<!-- > <a href=/x> --><a href=/y>",
        f'<!-- > <a href=/x> --><a href="/y?{Q}">',
    ),
    "abrupt_comment": ("<!--><a href=/x>", f'<!--><a href="/x?{Q}">'),
    "abrupt_comment_dash": ("<!---><a href=/x>", f'<!---><a href="/x?{Q}">'),
    "bogus_comment": ("<!-x> <a href=/x>", f'<!-x> <a href="/x?{Q}">'),
    "doctype": ("<!DOCTYPE html><a href=/x>", f'<!DOCTYPE html><a href="/x?{Q}">'),
    "end_tag": ("</p title='>'><a href=/x>", f"</p title='>'><a href=\"/x?{Q}\">"),
    "form_end_tag": ("<form></form><form>", f"<form>{HIDDEN}</form><form>{HIDDEN}"),
}


@pytest.mark.parametrize(("html", "expected"), OPENERS.values(), ids=OPENERS.keys())
def test_output_is_the_same_when_a_chunk_ends_inside_markup(html: str, expected: str) -> None:
    assert rewrite_html(html, PARAMS, HTTP) == expected
    for cut in range(len(html) + 1):
        rewriter = HTMLRewriter(PARAMS, HTTP)
        out = rewriter.feed(html[:cut]) + rewriter.feed(html[cut:]) + rewriter.close()
        assert out == expected, cut
    assert "".join(stream(html, 1)) == expected


def test_form_end_tag_closes_form_when_tag_is_long(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scanner, "MAX_TAG", 16)
    for end in ('</form title="a long title">', "</form ='y' title=\"a long title\">"):
        html = f"<form>{end}<form>"
        assert rewrite_html(html, PARAMS, HTTP) == f"<form>{HIDDEN}{end}<form>{HIDDEN}"


def test_long_tag_copied_when_over_max_tag() -> None:
    filler = "x" * MAX_TAG
    html = f'<a href="/x" title="{filler}"><a href="/y"><form data-x="{filler}">'
    expected = f'<a href="/x" title="{filler}"><a href="/y?{Q}"><form data-x="{filler}">'
    assert rewrite_html(html, PARAMS, HTTP) == expected
    assert "".join(stream(html, 4096)) == expected


def test_long_base_assumed_foreign_when_over_max_tag() -> None:
    html = f'<base href="/" data-x="{"x" * MAX_TAG}"><a href="/y"><a href=http://example.com/>'
    assert rewrite_html(html, PARAMS, HTTP) == html.replace(".com/>", f'.com/?{Q}">').replace(
        "href=http", 'href="http'
    )


def test_long_script_tag_still_opens_script_when_over_max_tag() -> None:
    html = f'<script data-x="{"x" * MAX_TAG}"><a href="/x"></script><a href="/y">'
    expected = html.replace('"/y"', f'"/y?{Q}"')
    assert rewrite_html(html, PARAMS, HTTP) == expected
    assert "".join(stream(html, 1000)) == expected


def test_long_tag_limit_applies_when_lowered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scanner, "MAX_TAG", 16)
    html = '<a href="/x" title="long"><a href=/y><textarea class=x></textarea><a href=/z>'
    expected = (
        f'<a href="/x" title="long"><a href="/y?{Q}"><textarea class=x></textarea><a href="/z?{Q}">'
    )
    assert rewrite_html(html, PARAMS, HTTP) == expected
    assert "".join(stream(html, 3)) == expected
