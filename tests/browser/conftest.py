from __future__ import annotations

import json
import os
import typing as t
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("NAMEDSESSIONS_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def example_server(tmp_path: Path, gunicorn: t.Callable[..., str]) -> str:
    """The example app under gunicorn on its own SQLite file. Threads: a
    browser keeps idle preconnected sockets open, which would hold a sync
    worker each."""
    uri = f"sqlite:///{tmp_path / 'shop.sqlite3'}"
    return gunicorn("example_app:create_app()", {"NAMEDSESSIONS_DATABASE_URI": uri}, threads=8)


@pytest.fixture(scope="session")
def playwright() -> t.Iterator[t.Any]:
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install chromium", pytrace=False)
    with sync_playwright() as p:
        yield p


def launch(playwright: t.Any, profile: Path, *, cookies: bool, args: t.Sequence[str] = ()) -> t.Any:
    """A persistent Chromium profile, with cookies blocked by the browser's own
    content setting when ``cookies`` is false; ``args`` are more flags."""
    default = profile / "Default"
    default.mkdir(parents=True, exist_ok=True)
    prefs = {"profile": {"default_content_setting_values": {"cookies": 1 if cookies else 2}}}
    (default / "Preferences").write_text(json.dumps(prefs))
    return playwright.chromium.launch_persistent_context(
        str(profile), executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *args], headless=True
    )


@pytest.fixture
def cookieless_browser(playwright: t.Any, tmp_path: Path) -> t.Iterator[t.Any]:
    context = launch(playwright, tmp_path / "no-cookies", cookies=False)
    yield context
    context.close()


@pytest.fixture
def cookie_browser(playwright: t.Any, tmp_path: Path) -> t.Iterator[t.Any]:
    context = launch(playwright, tmp_path / "cookies", cookies=True)
    yield context
    context.close()
