"""Who may hand in a session ID, as Chromium decides it (SPEC section 4).

With cookies blocked, a visitor's session travels through the shop's links,
forms and redirects; a link or form on another site that carries someone
else's ID, or an address opened with no page behind it, starts a new session
instead. Chromium says where a request comes from in ``Sec-Fetch-Site`` to
``localhost`` and ``127.0.0.1`` (potentially trustworthy origins); to other
``http`` hosts it sends only the ``Referer``, so both are checked, as two
sites each: ``localhost`` / ``127.0.0.1``, and ``shop.test`` / ``evil.test``
mapped to 127.0.0.1.
"""

from __future__ import annotations

import sqlite3
import typing as t
from pathlib import Path
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest

from flask_namedsessions.ids import lookup_key
from tests.browser.conftest import launch

pytestmark = pytest.mark.browser

MAP_TEST_HOSTS = "--host-resolver-rules=MAP *.test 127.0.0.1"
#: (the shop's host, the attacker's host, what Chromium tells the shop)
SITES = {
    "fetch-metadata": ("localhost", "127.0.0.1", "same-origin"),
    "referer-only": ("shop.test", "evil.test", "-"),
}


@pytest.fixture
def port(tmp_path: Path, gunicorn: t.Callable[..., str], request: pytest.FixtureRequest) -> str:
    tracking = getattr(request, "param", "link")
    uri = f"sqlite:///{tmp_path / 'fixation.sqlite3'}"
    env = {"NAMEDSESSIONS_DATABASE_URI": uri, "TEST_TRACKING": tracking}
    base = gunicorn("tests.browser.fixation_app:create_app()", env, threads=8)
    return base.rsplit(":", 1)[1]


def browser(playwright: t.Any, tmp_path: Path, *, cookies: bool) -> t.Any:
    return launch(playwright, tmp_path / "profile", cookies=cookies, args=[MAP_TEST_HOSTS])


def carried(url: str) -> str | None:
    values = parse_qs(urlsplit(url).query).get("_session:cart")
    return values[0] if values else None


def shown(page: t.Any) -> tuple[str, str]:
    return page.text_content("#result"), page.text_content("#count")


def stored_count(tmp_path: Path, session_id: str) -> str:
    """The stored item count of the session ``session_id``."""
    with sqlite3.connect(tmp_path / "fixation.sqlite3") as conn:
        row = conn.execute(
            "SELECT v.value FROM namedsessions_variables v JOIN namedsessions_sessions s"
            " ON v.sid = s.sid WHERE s.key = ? AND v.name = 'n'",
            (lookup_key("cart", session_id),),
        ).fetchone()
    return str(row[0] if row else None)


def attackers_own_session(context: t.Any, shop: str) -> str:
    """The attacker visits the shop and keeps the ID of their session."""
    page = context.new_page()
    page.goto(f"{shop}/shop")
    planted = carried(page.get_attribute("#again", "href"))
    assert planted is not None
    page.close()
    return planted


@pytest.mark.parametrize("sites", SITES)
def test_cookieless_visitor_keeps_the_session_through_links_forms_and_redirects(
    playwright: t.Any, tmp_path: Path, port: str, sites: str
) -> None:
    host, _, site = SITES[sites]
    context = browser(playwright, tmp_path, cookies=False)
    try:
        page = context.new_page()
        page.goto(f"http://{host}:{port}/shop")
        assert shown(page) == ("new", "0")
        session = carried(page.get_attribute("#again", "href"))
        assert session is not None
        page.click("#again")
        assert shown(page) == ("load", "0") and carried(page.url) == session
        assert page.text_content("#site") == site
        page.click("#add button")  # a form POST answered by a redirect
        page.wait_for_url("**/shop?*")
        assert shown(page) == ("load", "1") and carried(page.url) == session
        page.click("#go")  # a link to a redirect
        page.wait_for_url("**/shop?*")
        assert shown(page) == ("load", "1") and carried(page.url) == session
        page.click("#add button")
        page.wait_for_url("**/shop?*")
        assert shown(page) == ("load", "2")
        assert context.cookies() == []
    finally:
        context.close()


@pytest.mark.parametrize("sites", SITES)
def test_id_from_another_site_or_from_no_page_starts_a_new_session(
    playwright: t.Any, tmp_path: Path, port: str, sites: str
) -> None:
    host, evil, _ = SITES[sites]
    shop = f"http://{host}:{port}"
    context = browser(playwright, tmp_path, cookies=False)
    try:
        planted = attackers_own_session(context, shop)
        page = context.new_page()
        attacker = f"http://{evil}:{port}/attacker?target={shop}&sid={planted}"
        for link in ("#planted", "#planted-noreferrer"):
            page.goto(attacker)
            page.click(link)
            page.wait_for_url(f"{shop}/shop?*")
            assert shown(page) == ("new", "0"), link
            assert carried(page.get_attribute("#again", "href")) not in (None, planted)
        page.goto(attacker)
        page.click("#planted-form button")  # adds to whichever cart it opens
        page.wait_for_url(f"{shop}/shop?*")
        assert shown(page) == ("new", "0")
        # An address opened from mail, a bookmark or the address bar.
        page.goto(f"{shop}/shop?_session:cart={planted}")
        assert shown(page) == ("new", "0")
        assert carried(page.get_attribute("#again", "href")) != planted
        # The attacker's own session got none of it.
        assert stored_count(tmp_path, planted) == "0"
    finally:
        context.close()


@pytest.mark.parametrize("port", ["auto"], indirect=True)
@pytest.mark.parametrize("sites", SITES)
def test_auto_mode_plants_no_cookie_from_another_sites_link(
    playwright: t.Any, tmp_path: Path, port: str, sites: str
) -> None:
    host, evil, _ = SITES[sites]
    shop = f"http://{host}:{port}"
    attackers = browser(playwright, tmp_path / "attacker", cookies=False)
    try:
        planted = attackers_own_session(attackers, shop)
    finally:
        attackers.close()
    context = browser(playwright, tmp_path / "victim", cookies=True)
    try:
        page = context.new_page()
        page.goto(f"http://{evil}:{port}/attacker?target={shop}&sid={planted}")
        page.click("#planted")
        page.wait_for_url(f"{shop}/shop?*")
        assert shown(page) == ("new", "0")
        cookies = {c["name"]: c["value"] for c in context.cookies()}
        assert set(cookies) == {"session_cart"} and cookies["session_cart"] != planted
        page.click("#again")
        assert shown(page) == ("load", "0")
        assert page.text_content("#cookie") == cookies["session_cart"]
    finally:
        context.close()


@pytest.mark.parametrize("port", ["cookie"], indirect=True)
@pytest.mark.parametrize("tossed", ["attacker", "junk"])
def test_cookie_tossed_by_a_sibling_subdomain_loads_and_overwrites_nothing(
    playwright: t.Any, tmp_path: Path, port: str, tossed: str
) -> None:
    shop = f"http://shop.example.test:{port}"
    context = browser(playwright, tmp_path / "victim", cookies=True)
    try:
        value = "A" * 43 if tossed == "junk" else None
        if value is None:
            attackers = browser(playwright, tmp_path / "attacker", cookies=True)
            try:
                page = attackers.new_page()
                page.goto(f"{shop}/shop")
                value = page.text_content("#cookie")  # "-": the first page had none
                page.click("#again")
                value = page.text_content("#cookie")
            finally:
                attackers.close()
        page = context.new_page()
        page.goto(f"{shop}/shop")
        page.click("#add button")
        page.wait_for_url("**/shop")
        assert shown(page) == ("load", "1")
        own = page.text_content("#cookie")
        page.goto(f"http://evil.example.test:{port}/toss?sid={value}&domain=example.test")
        page.goto(f"{shop}/shop")
        # Chromium sends both, the tossed one first: neither is used.
        assert shown(page) == ("new", "0")
        assert page.text_content("#cookie") == value
        page.click("#add button")
        page.wait_for_url("**/shop")
        assert shown(page) == ("new", "0")
        jar = {(c["domain"], c["path"]): c["value"] for c in context.cookies()}
        assert jar == {("shop.example.test", "/"): own, (".example.test", "/shop"): value}
        assert stored_count(tmp_path, own) == "1"
        assert stored_count(tmp_path, value) == ("0" if tossed == "attacker" else "None")
    finally:
        context.close()


@pytest.mark.parametrize("cookies", [True, False], ids=["cookies", "no-cookies"])
def test_example_login_refuses_another_sites_form(
    playwright: t.Any, tmp_path: Path, example_server: str, cookies: bool
) -> None:
    """Login CSRF: another site's form that logs the visitor in as the
    attacker is refused, whether or not the visitor opened the login form
    before (and so holds its token's secret)."""
    context = browser(playwright, tmp_path, cookies=cookies)
    evil = (
        f'<form method="post" action="{example_server}/demos/sessions/start">'
        '<input name="name" value="Eve"><input name="csrf_token" value="x##y">'
        "<button>go</button></form>"
    )
    context.route(
        "http://evil.test/**",
        lambda route: route.fulfill(status=200, content_type="text/html", body=evil),
    )
    try:
        page = context.new_page()
        page.goto(f"{example_server}/demos/sessions/login")
        page.goto("http://evil.test/")
        page.click("button")
        page.wait_for_load_state("load")
        assert page.url == f"{example_server}/demos/sessions/start"
        assert "came from another site" in page.text_content("#error")
        page.goto(f"{example_server}/demos/sessions/continue")
        assert page.text_content("#message") == "you are not logged in"
    finally:
        context.close()


def test_cookie_tossed_to_a_link_tracked_session_opens_nothing(
    playwright: t.Any, tmp_path: Path, port: str
) -> None:
    """The shop tracks the cart by link alone and sets no cookie, so a cookie
    of the cart's name, tossed by a sibling subdomain, is never read."""
    shop = f"http://shop.example.test:{port}"
    attackers = browser(playwright, tmp_path / "attacker", cookies=False)
    try:
        page = attackers.new_page()
        page.goto(f"{shop}/shop")
        page.click("#add button")
        page.wait_for_url("**/shop?**")
        assert shown(page) == ("load", "1")
        planted = carried(page.get_attribute("#again", "href"))
        assert planted is not None
    finally:
        attackers.close()
    context = browser(playwright, tmp_path / "victim", cookies=True)
    try:
        page = context.new_page()
        page.goto(f"http://evil.example.test:{port}/toss?sid={planted}&domain=example.test")
        page.goto(f"{shop}/shop")
        assert page.text_content("#cookie") == planted  # Chromium sent it
        assert shown(page) == ("new", "0")
        assert carried(page.get_attribute("#again", "href")) != planted
        page.click("#add button")
        page.wait_for_url("**/shop?**")
        assert shown(page) == ("load", "1")
        assert stored_count(tmp_path, planted) == "1"
    finally:
        context.close()
