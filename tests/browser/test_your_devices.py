"""Two browsers as two devices of one user: the "your devices" page lists
both, marks this one, and ends the other (SPEC section 10)."""

from __future__ import annotations

import typing as t

import pytest

from tests.browser.conftest import CHROMIUM
from tests.browser.conftest import CHROMIUM_ARGS

pytestmark = pytest.mark.browser

LAPTOP_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/126.0.0.0 Safari/537.36"
)
PHONE_UA = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/126.0.0.0 Mobile Safari/537.36"
)


@pytest.fixture
def browser(playwright: t.Any) -> t.Iterator[t.Any]:
    launched = playwright.chromium.launch(
        executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
    )
    yield launched
    launched.close()


def log_in(context: t.Any, base: str) -> t.Any:
    page = context.new_page()
    page.goto(base + "/demos/sessions/login")
    page.fill("#name", "Ada")
    page.click("form button[type=submit]")
    page.wait_for_url("**/demos/sessions/welcome*")
    assert page.text_content("#message") == "hello Ada you have logged in"
    return page


def rows(page: t.Any) -> list[tuple[str, str, bool]]:
    return [
        (
            row.locator("td.browser").inner_text(),
            row.locator("td.address").inner_text(),
            "current" in (row.get_attribute("class") or ""),
        )
        for row in page.locator("tr.device").all()
    ]


def test_end_another_device_then_log_out_everywhere_else(
    browser: t.Any, example_server: str
) -> None:
    laptop = browser.new_context(user_agent=LAPTOP_UA)
    phone = browser.new_context(user_agent=PHONE_UA, viewport={"width": 390, "height": 844})
    on_laptop = log_in(laptop, example_server)
    on_phone = log_in(phone, example_server)

    on_laptop.click("#devices-link")
    assert on_laptop.text_content("#user") == "Ada"
    # most recently seen first: the phone logged in last
    assert rows(on_laptop) == [
        ("Chrome on Android", "127.0.0.0", False),
        ("Chrome on Linux", "127.0.0.0", True),
    ]
    on_phone.click("#devices-link")
    assert [r[2] for r in rows(on_phone)] == [True, False]  # there, the phone is this device

    on_laptop.click("tr.device:not(.current) button.end")
    on_laptop.wait_for_url("**/demos/devices/?ended=1")
    assert on_laptop.text_content("#ended") == "1 device was logged out."
    assert rows(on_laptop) == [("Chrome on Linux", "127.0.0.0", True)]
    on_phone.reload()
    assert on_phone.text_content("#nobody").startswith("You are not logged in.")

    on_phone = log_in(phone, example_server)
    on_laptop.goto(example_server + "/demos/devices/")
    assert len(rows(on_laptop)) == 2
    on_laptop.click("#end-others")
    on_laptop.wait_for_url("**/demos/devices/?ended=1")
    assert rows(on_laptop) == [("Chrome on Linux", "127.0.0.0", True)]
    on_phone.click("#continue-link")
    assert on_phone.text_content("#message") == "you are not logged in"
    on_laptop.goto(example_server + "/demos/sessions/continue")
    assert on_laptop.text_content("#message") == "hello Ada you are logged in"
    laptop.close()
    phone.close()
