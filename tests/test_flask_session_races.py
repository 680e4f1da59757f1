"""Two requests of one flask.session at once, in a fixed order: each keeps
what it changed, as each key is a row of its own."""

from __future__ import annotations

import typing as t

from flask import Flask
from flask import session
from flask_wtf.csrf import generate_csrf

from flask_namedsessions import get_session
from tests.test_flask_session import cookie_of
from tests.test_races import overlap
from tests.test_races import Pause


def opener(app: Flask, sid: str | None) -> t.Callable[[], t.Any]:
    """Makes test clients that carry the session cookie ``sid``."""
    assert sid

    def client() -> t.Any:
        c = app.test_client()
        c.set_cookie("session", sid)
        return c

    return client


def test_a_csrf_token_and_a_cart_written_at_once_are_both_kept(
    make_app: t.Callable[..., Flask],
) -> None:
    app = make_app(NAMEDSESSIONS_FLASK_SESSION="main")
    pause = Pause()

    @app.route("/start")
    def start() -> str:
        session["visits"] = 1
        return ""

    @app.route("/form")
    def form() -> str:
        session.get("visits")  # loaded before the other request saves
        pause()
        return generate_csrf()

    @app.route("/add/<item>")
    def add(item: str) -> str:
        session.setdefault("cart", []).append(item)
        return ""

    @app.route("/dump")
    def dump() -> dict[str, t.Any]:
        return dict(session)

    client = opener(app, cookie_of(app.test_client().get("/start")))

    token = overlap(
        lambda: client().get("/form?pause=1"), pause, lambda: client().get("/add/apple")
    )
    data = client().get("/dump").json
    assert data == {"visits": 1, "cart": ["apple"], "csrf_token": data["csrf_token"]}
    assert len(data["csrf_token"]) == 40 and token.status_code == 200


def test_a_change_in_place_and_another_key_written_at_once_are_both_kept(
    make_app: t.Callable[..., Flask],
) -> None:
    app = make_app(NAMEDSESSIONS_FLASK_SESSION="main")
    pause = Pause()

    @app.route("/start")
    def start() -> str:
        session["cart"] = ["apple"]
        session["user"] = "ada"
        return ""

    @app.route("/add/<item>")
    def add(item: str) -> str:
        cart = session["cart"]
        pause()
        cart.append(item)  # in place: no modified = True
        return ""

    @app.route("/user/<name>")
    def user(name: str) -> str:
        session["user"] = name
        return ""

    @app.route("/dump")
    def dump() -> dict[str, t.Any]:
        return dict(session)

    client = opener(app, cookie_of(app.test_client().get("/start")))

    overlap(lambda: client().get("/add/plum?pause=1"), pause, lambda: client().get("/user/bob"))
    assert client().get("/dump").json == {"cart": ["apple", "plum"], "user": "bob"}


def test_a_session_emptied_from_before_a_login_is_not_ended(
    make_app: t.Callable[..., Flask],
) -> None:
    # A page that pops the last key (get_flashed_messages, say) while the
    # visitor logs in in another tab leaves the logged-in session alone.
    app = make_app(NAMEDSESSIONS_FLASK_SESSION="main")
    pause = Pause()

    @app.route("/flash")
    def flash_() -> str:
        session["_flashes"] = [("message", "log in first")]
        return ""

    @app.route("/read")
    def read() -> str:
        session.pop("_flashes", None)
        pause()
        return ""

    @app.route("/login")
    def login() -> str:
        get_session("main").regenerate_id()
        session["user"] = "alice"
        return get_session("main").id

    app.add_url_rule("/me", "me", lambda: str(session.get("user")))
    client = opener(app, cookie_of(app.test_client().get("/flash")))
    logged_in: list[str] = []
    overlap(
        lambda: client().get("/read?pause=1"),
        pause,
        lambda: logged_in.append(client().get("/login").text),
    )
    assert opener(app, logged_in[0])().get("/me").text == "alice"
