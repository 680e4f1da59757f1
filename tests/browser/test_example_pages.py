"""Every page of the example app in Chromium, with cookies on and off.

A visitor's tour clicks through every demo; each page is photographed at a
desktop and a phone width and checked for what a person would call broken:
a page wider than the window, content spilling out of a table cell, a request
that fails, an error in the console. The screenshots go to a temporary
folder, or to ``NAMEDSESSIONS_TEST_SCREENSHOTS`` when set, for a person to see.
"""

from __future__ import annotations

import os
import typing as t
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}

LAYOUT_PROBLEMS_JS = """
() => {
  const problems = [];
  const root = document.documentElement;
  if (root.scrollWidth > window.innerWidth) {
    problems.push(`page ${root.scrollWidth}px wide in a ${window.innerWidth}px window`);
  }
  for (const cell of document.querySelectorAll("td, th")) {
    const box = cell.getBoundingClientRect();
    const spills = [...cell.querySelectorAll("*")].some((el) => {
      if (el.getClientRects().length === 0) return false;  // not rendered: hidden inputs
      const r = el.getBoundingClientRect();
      return r.right > box.right + 0.5 || r.left < box.left - 0.5;
    });
    if (spills || cell.scrollWidth > cell.clientWidth) {
      problems.push(`cell overflows: ${cell.textContent.trim().slice(0, 40)}`);
    }
  }
  return problems;
}
"""


class Look:
    """Photographs and checks each page of a tour in one browser context."""

    def __init__(self, page: t.Any, folder: Path, *, cookies: bool) -> None:
        self.page = page
        self.folder = folder
        self.cookies = cookies
        self.failed_requests: list[str] = []
        self.console_errors: list[str] = []
        self.allowed_status: set[int] = set()
        self.problems: list[str] = []
        self.taken: list[str] = []
        page.on("response", self._response)
        page.on("requestfailed", lambda r: self.failed_requests.append(f"failed {r.url}"))
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.console_errors.append(str(e)))

    def _response(self, response: t.Any) -> None:
        if response.status >= 400 and response.status not in self.allowed_status:
            self.failed_requests.append(f"{response.status} {response.url}")

    def _console(self, message: t.Any) -> None:
        # Chromium logs every response >= 400 as an error too.
        expected = (f"status of {status} " for status in self.allowed_status)
        if message.type == "error" and not any(e in message.text for e in expected):
            self.console_errors.append(message.text)

    def __call__(self, name: str) -> None:
        self.page.wait_for_load_state("load")
        # Once the browser has shown that it takes cookies, no address keeps
        # an ID that a cookie carries (the manual session's is by design).
        query = self.page.url.partition("?")[2].replace("_session:manual=", "")
        if self.cookies and "_session:" in query:
            self.problems.append(f"{name}: an ID stays in the address {self.page.url}")
        for label, size in VIEWPORTS.items():
            self.page.set_viewport_size(size)
            for problem in self.page.evaluate(LAYOUT_PROBLEMS_JS):
                self.problems.append(f"{name} ({label}): {problem}")
            path = self.folder / f"{name}-{label}.png"
            self.page.screenshot(path=str(path), full_page=True)
            self.taken.append(path.name)
        self.page.set_viewport_size(VIEWPORTS["desktop"])

    def check(self) -> None:
        assert self.problems == []
        assert self.failed_requests == []
        assert self.console_errors == []


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    chosen = os.environ.get("NAMEDSESSIONS_TEST_SCREENSHOTS")
    folder = Path(chosen) if chosen else tmp_path / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def nav(page: t.Any, label: str) -> None:
    page.get_by_role("navigation").get_by_role("link", name=label, exact=True).click()


def tour(page: t.Any, base: str, look: Look) -> None:
    """Every demo, as a visitor clicks through it (so that, without cookies,
    the session IDs travel in the links as they would)."""
    page.goto(base + "/")
    look("home")

    nav(page, "Preferences")
    assert page.text_content("#result") == "new"
    look("prefs-new")
    page.fill("input[name=realName]", "Ada Lovelace")
    page.fill("input[name=emailAddress]", "ada@example.org")
    page.select_option("select[name=favoriteColor]", "red")
    page.check("input[name=warpdrive]")
    page.click("input[name=submit]")
    assert page.input_value("input[name=realName]") == "Ada Lovelace"
    page.click("#reload")
    assert page.text_content("#result") == "load"
    assert page.input_value("input[name=emailAddress]") == "ada@example.org"
    look("prefs-saved")

    nav(page, "Login demo")
    look("login")
    page.fill("#name", "Ada")
    page.click("form button[type=submit]")
    page.wait_for_url("**/demos/sessions/welcome*")
    assert page.text_content("#message") == "hello Ada you have logged in"
    look("login-welcome")
    page.click("#continue-link")
    assert page.text_content("#message") == "hello Ada you are logged in"
    look("login-continue")

    nav(page, "Your devices")
    assert page.text_content("#user") == "Ada"
    assert page.text_content("tr.device.current td.browser") == "Chrome on Linux"
    look("devices")

    nav(page, "Shop")
    look("shop-catalogue")
    page.locator("a.product").first.click()
    look("shop-item")
    page.fill("input[name=quantity]", "2")
    page.click("#add")
    page.wait_for_url("**/shop/cart*")
    assert page.text_content("#count") == "2"
    look("shop-cart")
    page.click("#checkout-link")
    look("shop-checkout")

    nav(page, "More features")
    look("features")
    page.fill("input[name=team]", "blue")
    page.fill("input[name=note]", "Remember the towel")
    page.click("text=Add note")
    assert page.text_content("#notes") == "Remember the towel"
    look("features-board")
    page.click("#manual-link")
    assert page.text_content("#seen") == "2"
    look("features-manual")

    nav(page, "Account")
    page.wait_for_url("**/account/login*")
    look("account-login")
    page.fill("#name", "Ada")
    page.click("#submit")
    page.wait_for_url("**/account/*")
    page.fill("#note", "Bring a towel")
    page.click("#note-form #submit")
    page.wait_for_load_state("load")
    assert page.text_content("#notes") == "Bring a towel"
    look("account-home")
    page.click("#logout-form #submit")
    page.wait_for_url("**/account/login*")
    look("account-signed-out")

    nav(page, "Your sessions")
    names = page.eval_on_selector_all("tr.session", "rows => rows.map(r => r.dataset.name)")
    assert names == ["sessions_example", "login", "cart", "rotating", "visits"]
    look("sessions")

    nav(page, "Login demo")
    page.click("#logout-link")
    look("logged-out")
    page.click("#continue-link")
    assert page.text_content("#message") == "you are not logged in"
    look("not-logged-in")

    nav(page, "Shop")
    page.click("#summary >> text=Checkout")
    page.click("#place-order")
    assert page.text_content("#done") == "Order placed: 2 item(s), 84.00 €."
    look("shop-done")

    if look.cookies:
        names = sorted(c["name"] for c in page.context.cookies())
        # session_main: the account's sign-in form keeps its CSRF token there
        assert names == [
            "session_main",
            "session_rotating",
            "session_sessions_example",
            "session_visits",
        ]
    else:
        assert page.context.cookies() == []
        # An address with IDs, opened as if pasted from elsewhere, hands over
        # no session: the app drops the IDs and the visitor starts afresh.
        nav(page, "Your sessions")
        assert "_session:sessions_example=" in page.url
        page.goto(page.url)
        assert page.url == base + "/sessions"
        names = page.eval_on_selector_all("tr.session", "rows => rows.map(r => r.dataset.name)")
        assert names == ["visits"]

    look.allowed_status = {404}
    page.goto(base + "/nowhere")
    look("not-found")


@pytest.mark.parametrize("cookies", [True, False], ids=["cookies", "no-cookies"])
def test_every_page_looks_right(
    request: pytest.FixtureRequest, example_server: str, screenshots: Path, cookies: bool
) -> None:
    context = request.getfixturevalue("cookie_browser" if cookies else "cookieless_browser")
    page = context.new_page()
    look = Look(page, screenshots / ("cookies" if cookies else "no-cookies"), cookies=cookies)
    look.folder.mkdir(exist_ok=True)
    tour(page, example_server, look)
    look.check()
    assert len(look.taken) == 2 * 22


def test_unavailable_page_looks_right(
    cookie_browser: t.Any, gunicorn: t.Callable[..., str], tmp_path: Path, screenshots: Path
) -> None:
    # A directory is no SQLite database: every session start fails.
    down = gunicorn(
        "example_app:create_app()", {"NAMEDSESSIONS_DATABASE_URI": f"sqlite:///{tmp_path}"}
    )
    page = cookie_browser.new_page()
    look = Look(page, screenshots, cookies=True)
    look.allowed_status = {503}
    response = page.goto(down + "/prefs")
    assert response.status == 503
    assert page.text_content("h1") == "Sessions are unavailable"
    assert page.locator("#carried").count() == 0  # nothing was saved, no ID sent
    look("unavailable")
    look.check()
