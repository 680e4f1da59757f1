from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import typing as t
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def example_server(tmp_path: Path) -> t.Iterator[str]:
    """The example app under gunicorn on 127.0.0.1, on its SQLite default
    (an instance folder of its own); stopped whatever happens."""
    port = _free_port()
    env = dict(os.environ, NAMEDSESSIONS_DATABASE_URI=f"sqlite:///{tmp_path / 'shop.sqlite3'}")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            # Threads: a browser keeps idle preconnected sockets open, which
            # would hold a sync worker each.
            "--threads",
            "8",
            "example_app:create_app()",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(url + "/", timeout=2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    err = process.stderr.read().decode() if process.stderr else ""
                    pytest.fail(f"gunicorn did not start on {url}:\n{err[-2000:]}")
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr is not None:
            process.stderr.close()


@pytest.fixture(scope="session")
def playwright() -> t.Iterator[t.Any]:
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install chromium", pytrace=False)
    with sync_playwright() as p:
        yield p


def _launch(playwright: t.Any, profile: Path, *, cookies: bool) -> t.Any:
    """A persistent Chromium profile, with cookies blocked by the browser's own
    content setting when ``cookies`` is false."""
    default = profile / "Default"
    default.mkdir(parents=True, exist_ok=True)
    prefs = {"profile": {"default_content_setting_values": {"cookies": 1 if cookies else 2}}}
    (default / "Preferences").write_text(json.dumps(prefs))
    return playwright.chromium.launch_persistent_context(
        str(profile), executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
    )


@pytest.fixture
def cookieless_browser(playwright: t.Any, tmp_path: Path) -> t.Iterator[t.Any]:
    context = _launch(playwright, tmp_path / "no-cookies", cookies=False)
    yield context
    context.close()


@pytest.fixture
def cookie_browser(playwright: t.Any, tmp_path: Path) -> t.Iterator[t.Any]:
    context = _launch(playwright, tmp_path / "cookies", cookies=True)
    yield context
    context.close()
