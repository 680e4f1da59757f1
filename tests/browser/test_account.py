"""The account area in Chromium through gunicorn: Flask-Login, a Flask-WTF form
and flash() on flask.session, with cookies blocked and with cookies."""

from __future__ import annotations

import typing as t
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.browser


def carried_id(url: str) -> str | None:
    values = parse_qs(urlsplit(url).query).get("_session:main")
    return values[0] if values else None


def session_cookie(page: t.Any) -> str | None:
    found = [c["value"] for c in page.context.cookies() if c["name"] == "session_main"]
    return found[0] if found else None


def sign_in_post_and_sign_out(page: t.Any, base: str) -> tuple[str | None, str | None]:
    """The whole visit; returns the IDs that the address, else the cookie,
    carried before and after signing in."""
    page.goto(base + "/")
    page.click("nav >> text=Account")  # a link of this site, as a visitor comes
    page.wait_for_url("**/account/login*")
    assert page.inner_text("#flashes") == "Sign in to see your account."
    before = carried_id(page.url) or session_cookie(page)
    page.fill("#name", "Ada")
    page.click("#submit")
    page.wait_for_url("**/account/*")
    after = carried_id(page.url) or session_cookie(page)
    assert page.text_content("#user") == "Ada"
    assert page.inner_text("#flashes").startswith("Signed in. The session ID changed")
    page.fill("#note", "Bring a towel")
    page.click("#note-form #submit")
    page.wait_for_load_state("load")
    assert page.inner_text("#flashes") == "Note saved."
    assert page.text_content("#notes") == "Bring a towel"
    page.reload()  # the flash was shown once; the note stays
    assert page.locator("#flashes").count() == 0
    assert page.text_content("#notes") == "Bring a towel"
    page.click("#logout-form #submit")
    page.wait_for_url("**/account/login*")
    assert page.inner_text("#flashes") == "Signed out."
    page.goto(page.url)  # the same address again: signed out is signed out
    page.click("nav >> text=Account")
    page.wait_for_url("**/account/login*")
    return before, after


def test_account_with_cookies_blocked(cookieless_browser: t.Any, example_server: str) -> None:
    page = cookieless_browser.new_page()
    before, after = sign_in_post_and_sign_out(page, example_server)
    assert before and after and before != after  # a new ID at login
    assert cookieless_browser.cookies() == []


def test_account_with_cookies(cookie_browser: t.Any, example_server: str) -> None:
    page = cookie_browser.new_page()
    before, after = sign_in_post_and_sign_out(page, example_server)
    assert before and after and before != after  # a new ID at login, in the cookie
    assert carried_id(page.url) is None
