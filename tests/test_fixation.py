"""Who may hand in a session ID by link or form (SPEC section 4).

A session tracked by cookie alone never takes one; the others take one only
from a request that a page of this site started. The browser's own word on
that (``Sec-Fetch-Site``, the ``Referer``) is checked in Chromium by
``tests/browser/test_fixation_in_browser.py``.
"""

from __future__ import annotations

import typing as t

import pytest
from flask import Flask
from flask import g
from flask import request

from flask_namedsessions import has_session
from flask_namedsessions import session_start


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """Which request may hand in an ID is decided before the store is asked:
    SQLite is enough."""
    return sqlite_url


MODES: dict[str, dict[str, t.Any]] = {
    "cookie": {},
    "link": {"use_link": True},
    "link-cookie": {"use_link": True, "use_cookie": True},
    "auto": {"use_auto": True},
    "none": {"use_none": True},
}

#: Requests a page of this site started, as browsers say so.
FROM_THIS_SITE: list[dict[str, str]] = [
    {"Sec-Fetch-Site": "same-origin"},
    {"Sec-Fetch-Site": "same-origin", "Referer": "http://localhost/cart"},
    {"Referer": "http://localhost/cart?x=1"},  # a browser without Fetch Metadata
    {"Referer": "HTTP://LOCALHOST:80/"},
]

#: Requests another site, or no page at all, started.
FROM_ELSEWHERE: list[dict[str, str]] = [
    {},  # typed, pasted, or opened from mail by a browser without Fetch Metadata
    {"Sec-Fetch-Site": "none"},  # the address bar, a bookmark, mail, chat, a QR code
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site"},  # a sibling subdomain
    {"Sec-Fetch-Site": "cross-site", "Referer": "http://localhost/"},
    {"Sec-Fetch-Site": "same-site", "Referer": "http://localhost/"},
    {"Sec-Fetch-Site": "bogus"},
    {"Referer": "http://evil.example/"},
    {"Referer": "https://localhost/"},  # another scheme is another origin
    {"Referer": "http://localhost:8080/"},
    {"Referer": "http://localhost.evil.example/"},
    {"Referer": "http://evil.example/?http://localhost/"},
    {"Referer": "//localhost/"},
    {"Referer": "/cart"},
    {"Referer": "http://[::1/"},
]


def planting_app(app: Flask) -> Flask:
    """A view that reports whose session a request got, per tracking mode."""

    @app.route("/own", methods=["GET", "POST"])
    def own() -> str:
        s = session_start("cart", **MODES[request.args.get("mode", "cookie")])
        s.setdefault("owner", request.args.get("owner"))
        return f"{s.result} {g.owner} {has_session('cart')} {s.id}"

    @app.route("/has")
    def has() -> str:
        return str(has_session("cart"))

    return app


def plant(app: Flask, mode: str) -> str:
    """The ID of a session the attacker made for themselves."""
    reply = planting_app(app).test_client().get(f"/own?mode={mode}&owner=attacker")
    return reply.text.split()[-1]


def presented_by_link_and_form(
    app: Flask, mode: str, planted: str, headers: dict[str, str]
) -> list[t.Any]:
    """A victim without cookies follows a link, and submits a form, that
    carry ``planted``."""
    return [
        app.test_client().get(
            f"/own?mode={mode}&owner=victim&_session:cart={planted}", headers=headers
        ),
        app.test_client().post(
            f"/own?mode={mode}&owner=victim", data={"_session:cart": planted}, headers=headers
        ),
    ]


@pytest.mark.parametrize("headers", FROM_THIS_SITE + FROM_ELSEWHERE)
def test_cookie_session_never_takes_the_parameter(app: Flask, headers: dict[str, str]) -> None:
    planted = plant(app, "cookie")
    for response in presented_by_link_and_form(app, "cookie", planted, headers):
        result, owner, found, session_id = response.text.split()
        assert (result, owner, found) == ("new", "victim", "False") and session_id != planted
        assert response.headers["Set-Cookie"].startswith(f"session_cart={session_id};")


@pytest.mark.parametrize("mode", ["link", "link-cookie", "auto", "none"])
@pytest.mark.parametrize("headers", FROM_ELSEWHERE)
def test_parameter_from_elsewhere_starts_a_new_session(
    app: Flask, mode: str, headers: dict[str, str]
) -> None:
    planted = plant(app, mode)
    for response in presented_by_link_and_form(app, mode, planted, headers):
        result, owner, found, session_id = response.text.split()
        assert (result, owner, found) == ("new", "victim", "False") and session_id != planted
        assert planted not in response.headers.get("Set-Cookie", "")
        assert planted not in response.headers.get("Location", "")


@pytest.mark.parametrize("mode", ["link", "link-cookie", "auto", "none"])
@pytest.mark.parametrize("headers", FROM_THIS_SITE)
def test_parameter_from_this_site_loads_the_session(
    app: Flask, mode: str, headers: dict[str, str]
) -> None:
    planted = plant(app, mode)
    for response in presented_by_link_and_form(app, mode, planted, headers):
        assert response.text == f"load attacker True {planted}"


@pytest.mark.parametrize(
    ("mode", "reads"),
    [("cookie", True), ("link-cookie", True), ("auto", True), ("link", False), ("none", False)],
)
def test_a_cookie_is_read_only_by_a_session_it_tracks(app: Flask, mode: str, reads: bool) -> None:
    # A session tracked by link or by none never sets its cookie: one that
    # comes was put there by someone else, a sibling subdomain tossing it.
    planted = plant(app, mode)
    victim = app.test_client()
    victim.set_cookie("session_cart", planted)
    for headers in [{}, *FROM_THIS_SITE]:
        reply = victim.get(f"/own?mode={mode}&owner=victim", headers=headers)
        result, owner, _, session_id = reply.text.split()
        if reads:
            assert (result, owner, session_id) == ("load", "attacker", planted)
        else:
            assert (result, owner) == ("new", "victim") and session_id != planted


def test_auto_mode_writes_a_parameter_id_into_the_cookie_only_from_this_site(app: Flask) -> None:
    ada = plant(app, "auto")
    url = f"/own?mode=auto&_session:cart={ada}"
    taken = app.test_client().get(url, headers={"Sec-Fetch-Site": "same-origin"})
    assert taken.headers["Set-Cookie"].startswith(f"session_cart={ada};")
    refused = app.test_client().get(url, headers={"Sec-Fetch-Site": "none"})
    assert refused.text.startswith("new ")
    assert refused.headers["Set-Cookie"].startswith(f"session_cart={refused.text.split()[-1]};")


@pytest.mark.parametrize("default", ["link", "auto", "none"])
def test_has_session_reads_the_parameter_as_the_default_mode_does(
    make_app: t.Callable[..., Flask], default: str
) -> None:
    app = make_app(NAMEDSESSIONS_DEFAULT_TRACKING=default)
    planted = plant(app, default)

    url = f"/has?_session:cart={planted}"
    for headers in FROM_THIS_SITE:
        assert app.test_client().get(url, headers=headers).text == "True", headers
    for headers in FROM_ELSEWHERE:
        assert app.test_client().get(url, headers=headers).text == "False", headers


def test_has_session_in_cookie_mode_never_reads_the_parameter(app: Flask) -> None:
    planted = plant(app, "cookie")

    for headers in FROM_THIS_SITE:
        reply = app.test_client().get(f"/has?_session:cart={planted}", headers=headers)
        assert reply.text == "False"


def test_link_hosts_count_as_this_site_by_referer(make_app: t.Callable[..., Flask]) -> None:
    app = make_app(NAMEDSESSIONS_LINK_HOSTS=["shop.example.com"])
    planted = plant(app, "link")
    url = f"/own?mode=link&_session:cart={planted}"
    for headers in (
        {"Referer": "http://shop.example.com/basket"},
        {"Sec-Fetch-Site": "same-site", "Referer": "http://shop.example.com/"},
    ):
        assert app.test_client().get(url, headers=headers).text.startswith("load "), headers
    for headers in (
        {"Sec-Fetch-Site": "same-site", "Referer": "http://user.example.com/"},
        {"Sec-Fetch-Site": "same-site"},
        {"Sec-Fetch-Site": "cross-site", "Referer": "http://shop.example.com/"},
        {"Referer": "https://shop.example.com/"},
    ):
        assert app.test_client().get(url, headers=headers).text.startswith("new "), headers


def test_same_site_without_link_hosts_is_another_site(app: Flask) -> None:
    planted = plant(app, "link")
    headers = {"Sec-Fetch-Site": "same-site", "Referer": "http://localhost/"}
    reply = app.test_client().get(f"/own?mode=link&_session:cart={planted}", headers=headers)
    assert reply.text.startswith("new ")
