"""What docs/deployment.rst promises about running behind a proxy."""

from __future__ import annotations

import typing as t

import pytest
from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from flask_namedsessions import session_start

PROXIED = {
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "www.example.com",
    "Sec-Fetch-Site": "same-origin",
}


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


def page_app(app: Flask) -> Flask:
    @app.route("/")
    def index() -> str:
        session_start("cart", use_link=True)["n"] = 1
        return (
            '<a href="https://www.example.com/next">public</a>'
            '<a href="http://www.example.com/clear">clear</a>'
        )

    return app


def test_behind_a_proxy_links_to_the_public_host_need_proxy_fix(
    make_app: t.Callable[..., Flask],
) -> None:
    # The app sees the proxy's request to 127.0.0.1: the public host is foreign.
    bare = page_app(make_app()).test_client().get("/", headers=PROXIED).text
    assert bare.count("_session:cart=") == 0
    fixed = page_app(make_app())
    fixed.wsgi_app = ProxyFix(fixed.wsgi_app, x_proto=1, x_host=1)  # type: ignore[method-assign]
    text = fixed.test_client().get("/", headers=PROXIED).text
    # The https link to the public host carries the ID; the http one would
    # send it in clear text, and does not.
    assert text.count("_session:cart=") == 1
    assert '<a href="https://www.example.com/next?_session:cart=' in text
    assert '<a href="http://www.example.com/clear">clear</a>' in text


def test_https_behind_proxy_fix_keeps_a_secure_cookie(make_app: t.Callable[..., Flask]) -> None:
    app = page_app(make_app(NAMEDSESSIONS_COOKIE_PREFIX="__Host-"))
    app.wsgi_app = ProxyFix(app.wsgi_app, x_proto=1, x_host=1)  # type: ignore[method-assign]

    @app.route("/c")
    def cookie() -> str:
        session_start("cart")["n"] = 1
        return ""

    header = app.test_client().get("/c", headers=PROXIED).headers["Set-Cookie"]
    assert header.startswith("__Host-cart=")
    assert "; Secure" in header and "; Path=/" in header and "Domain" not in header
