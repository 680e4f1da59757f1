"""Forms whose submit controls send them elsewhere (formaction) get no hidden
input; a form waits for its end, or the end of the page, within a bound."""

from __future__ import annotations

import pytest

from flask_namedsessions import scanner
from flask_namedsessions.forms import LOOKAHEAD
from flask_namedsessions.rewrite import HTMLRewriter
from flask_namedsessions.rewrite import rewrite_html
from flask_namedsessions.urls import Origin
from tests.test_rewrite import stream

HTTP = Origin("http", "example.com")
PARAMS = {"_session:cart": "ID"}
H = '<input type="hidden" name="_session:cart" value="ID">'
EVIL = "https://pay.evil.example/collect"


def _same(html: str) -> tuple[str, str]:
    return html, html


#: (document, rewritten)
FORMACTION = {
    "button_elsewhere": _same(f'<form><button formaction="{EVIL}">Pay</button></form>'),
    "submit_input_elsewhere": _same(f"<form><input type=submit formaction={EVIL}></form>"),
    "image_input_elsewhere": _same(f"<form><input type=image src=/p.png formaction={EVIL}>"),
    "any_input_elsewhere": _same(f"<form><input formaction='{EVIL}'></form>"),
    "upper_case_attribute": _same(f"<form><BUTTON FormAction={EVIL}></form>"),
    "scheme_relative": _same("<form><button formaction=//evil.example/x></form>"),
    "javascript": _same("<form><button formaction=javascript:go()></form>"),
    "encoded_slashes": _same("<form><button formaction=&#47;&#47;evil.example></form>"),
    "inside_foreign_content": _same(f"<form><svg><button formaction={EVIL}></svg></form>"),
    "after_a_nested_form": _same(f"<form><form><button formaction={EVIL}></form>"),
    "after_the_end_a_nested_form_wrote": (
        f"<form><form></form><button formaction={EVIL}>",
        f"<form>{H}<form></form><button formaction={EVIL}>",
    ),
    "same_origin": (
        "<form><button formaction=/pay></form>",
        f"<form>{H}<button formaction=/pay></form>",
    ),
    "empty": ('<form><button formaction=""></form>', f'<form>{H}<button formaction=""></form>'),
    "absolute_ours": (
        "<form><button formaction=http://example.com/p></form>",
        f"<form>{H}<button formaction=http://example.com/p></form>",
    ),
    "in_a_comment": (
        f"<form><!-- <button formaction={EVIL}> --></form>",
        f"<form>{H}<!-- <button formaction={EVIL}> --></form>",
    ),
    "in_a_script": (
        f"<form><script>'<button formaction={EVIL}>'</script></form>",
        f"<form>{H}<script>'<button formaction={EVIL}>'</script></form>",
    ),
    "in_an_attribute": (
        f'<form><input title="<button formaction={EVIL}>"></form>',
        f'<form>{H}<input title="<button formaction={EVIL}>"></form>',
    ),
    "other_attribute_name": (
        f"<form><button data-formaction={EVIL}></form>",
        f"<form>{H}<button data-formaction={EVIL}></form>",
    ),
    "after_the_end_without_id": (
        f"<form></form><button formaction={EVIL}>",
        f"<form>{H}</form><button formaction={EVIL}>",
    ),
    "only_the_form_it_is_in": (
        f"<form></form><form><button formaction={EVIL}></form><form>",
        f"<form>{H}</form><form><button formaction={EVIL}></form><form>{H}",
    ),
    # controls elsewhere that name the form
    "named_before": _same(f"<button form=f formaction={EVIL}></button><form id=f></form>"),
    "named_after": _same(f"<form id=f></form><p>text</p><input form=f formaction={EVIL}>"),
    "named_in_any_case": _same(f"<form id=Pay></form><button form=pay formaction={EVIL}>"),
    "named_with_references": _same(
        f'<form id="a&amp;b"></form><button form="a&b" formaction={EVIL}>'
    ),
    "named_other_form": (
        f"<form id=f></form><button form=g formaction={EVIL}>",
        f"<form id=f>{H}</form><button form=g formaction={EVIL}>",
    ),
    "named_but_same_origin": (
        "<form id=f></form><button form=f formaction=/p>",
        f"<form id=f>{H}</form><button form=f formaction=/p>",
    ),
    "id_without_controls": ("<form id=f></form><p>end", f"<form id=f>{H}</form><p>end"),
    "already_there_stays": _same(f"<form>{H}<button formaction={EVIL}></form>"),
}


@pytest.mark.parametrize(("html", "expected"), FORMACTION.values(), ids=FORMACTION.keys())
def test_form_gets_no_input_when_a_control_submits_elsewhere(html: str, expected: str) -> None:
    assert rewrite_html(html, PARAMS, HTTP) == expected
    for size in (1, 2, 5):
        assert "".join(stream(html, size)) == expected, size


@pytest.mark.parametrize(
    ("html", "gets_input"),
    [
        ('<button title="a long title"><form id=f>', True),
        (f'<button title="a long title" formaction="{EVIL}"><form id=f>', False),
        ('<input form=f title="formaction, long"><form id=f>', False),
    ],
)
def test_long_control_judged_alike_when_split_anywhere(
    monkeypatch: pytest.MonkeyPatch, html: str, gets_input: bool
) -> None:
    """A control too long to read has a formaction if the word is in it; one
    the quick reader takes whole has none only if the word is nowhere in it."""
    monkeypatch.setattr(scanner, "MAX_TAG", 12)
    expected = html + H if gets_input else html
    assert rewrite_html(html, PARAMS, HTTP) == expected
    for cut in range(len(html) + 1):
        rewriter = HTMLRewriter(PARAMS, HTTP)
        out = rewriter.feed(html[:cut]) + rewriter.feed(html[cut:]) + rewriter.close()
        assert out == expected, cut


def test_output_waits_for_the_end_of_the_form_when_streamed() -> None:
    rewriter = HTMLRewriter(PARAMS, HTTP)
    assert rewriter.feed("<p>a</p><form>") == "<p>a</p>"  # is an input next?
    assert rewriter.feed("<input name=q>") == "<form>"
    assert rewriter.feed("</form><p>") == f"{H}<input name=q></form><p>"
    assert rewriter.feed("<form id=f></form>") == "<form id=f>"
    assert rewriter.feed("<p>b") == ""
    assert rewriter.close() == f"{H}</form><p>b"


def test_waiting_stops_at_a_control_elsewhere_when_streamed() -> None:
    rewriter = HTMLRewriter(PARAMS, HTTP)
    assert rewriter.feed("<form id=f><p>") == "<form id=f>"
    assert rewriter.feed(f"<button formaction={EVIL}>") == f"<p><button formaction={EVIL}>"


def _streamed(html: str, size: int) -> str:
    rewriter = HTMLRewriter(PARAMS, HTTP)
    out = [rewriter.feed(html[i : i + size]) for i in range(0, len(html), size)]
    return "".join(out) + rewriter.close()


@pytest.mark.parametrize("extra", [0, 1])
def test_form_gets_input_only_when_its_end_comes_within_the_bound(extra: int) -> None:
    html = "<form>" + "x" * (LOOKAHEAD + extra) + "</form>"
    expected = html if extra else html.replace("<form>", f"<form>{H}")
    assert rewrite_html(html, PARAMS, HTTP) == expected
    assert _streamed(html, 4096) == expected
    assert _streamed(html, 1 << 20) == expected


@pytest.mark.parametrize("extra", [0, 1])
def test_form_with_id_gets_input_only_when_the_page_ends_within_the_bound(extra: int) -> None:
    head = "<form id=f></form>"
    html = head + "x" * (LOOKAHEAD - len(head) + len("<form id=f>") + extra)
    expected = html if extra else html.replace("<form id=f>", f"<form id=f>{H}")
    assert rewrite_html(html, PARAMS, HTTP) == expected
    assert _streamed(html, 4096) == expected


def test_hold_back_bounded_when_a_form_never_ends() -> None:
    rewriter = HTMLRewriter(PARAMS, HTTP)
    released = [rewriter.feed("<form><p>")]
    fed = 9
    chunk = "<p>" + "x" * 997
    for _ in range(600):
        fed += len(chunk)
        released.append(rewriter.feed(chunk))
        assert fed - sum(map(len, released)) <= LOOKAHEAD + 2 * len(chunk)
    released.append(rewriter.close())
    assert "".join(released) == "<form><p>" + chunk * 600  # too late for an input


#: Attributes with no space between a quoted value and the next name: a
#: browser reads the next name all the same.
TOUCHING = {
    "form_action_after_dq": (f'<form a="/x"b action="{EVIL}">', False),
    "form_action_after_sq": (f"<form a='/x'b action='{EVIL}'>", False),
    "form_action_glued": (f'<form a="1"action="{EVIL}">', False),
    "form_after_a_stray_lt": ('<form href="/x"<a action="javascript:x">', False),
    "form_action_here": ('<form a="1"action="/cart">', True),
    "form_space_then_action": (f'<form a="/x" action="{EVIL}">', False),
}


@pytest.mark.parametrize(("html", "gets_input"), TOUCHING.values(), ids=TOUCHING.keys())
def test_action_after_a_touching_attribute_is_read(html: str, gets_input: bool) -> None:
    assert (H in rewrite_html(html, PARAMS, HTTP)) == gets_input
    for size in (1, 3):
        assert (H in "".join(stream(html, size))) == gets_input, size


@pytest.mark.parametrize(
    ("html", "rewritten"),
    [
        ('<a x="1"href="https://evil.example/">', False),
        ("<a x='1'href='/p'>", True),
        ('<iframe x="1"src="https://evil.example/">', False),
    ],
)
def test_link_after_a_touching_attribute_is_read(html: str, rewritten: bool) -> None:
    assert ("_session:cart=ID" in rewrite_html(html, PARAMS, HTTP)) == rewritten
