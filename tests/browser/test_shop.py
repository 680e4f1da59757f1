"""A visitor shops in a real browser, with and without cookies."""

from __future__ import annotations

import typing as t
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.browser


def carried_id(url: str) -> str | None:
    values = parse_qs(urlsplit(url).query).get("_session:cart")
    return values[0] if values else None


def test_cart_survives_with_cookies_blocked(cookieless_browser: t.Any, example_server: str) -> None:
    page = cookieless_browser.new_page()
    page.goto(example_server + "/shop/")
    assert page.text_content("#tracking") == "cookie, link"
    product = page.locator("a.product").first
    session = carried_id(product.get_attribute("href"))
    assert session is not None and len(session) >= 43
    foreign = page.locator("a[href^='https://example.org']").get_attribute("href")
    assert foreign == "https://example.org/"

    product.click()
    assert carried_id(page.url) == session
    page.click("#add")  # a form POST answered by a same-origin redirect
    page.wait_for_url("**/shop/cart*")
    assert carried_id(page.url) == session
    assert page.text_content("#count") == "1"

    page.click("text=Catalogue")
    page.locator("a.product").nth(1).click()
    page.fill("input[name=quantity]", "3")
    page.click("#add")
    page.wait_for_url("**/shop/cart*")
    assert page.text_content("#count") == "4"
    assert page.locator("tr.line").count() == 2
    assert cookieless_browser.cookies() == []

    page.click("#checkout-link")
    page.click("#place-order")
    assert page.text_content("#done").startswith("Order placed: 4 item(s)")
    page.click("text=Back to the shop")
    assert page.text_content("#count") == "0"


def test_auto_mode_stops_rewriting_once_cookie_returns(
    cookie_browser: t.Any, example_server: str
) -> None:
    page = cookie_browser.new_page()
    page.goto(example_server + "/shop/")
    first = page.locator("a.product").first.get_attribute("href")
    assert carried_id(first) is not None  # no cookie came with the first request
    page.locator("a.product").first.click()
    assert page.text_content("#tracking") == "cookie"
    assert carried_id(page.locator("#cart-link").get_attribute("href")) is None
    page.click("#add")
    page.wait_for_url("**/shop/cart")
    assert page.text_content("#count") == "1"
    names = [c["name"] for c in cookie_browser.cookies()]
    assert "session_cart" in names
    page.reload()
    assert page.text_content("#count") == "1"
