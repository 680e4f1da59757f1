"""Flask's own session tests (pallets/flask ``tests/test_basic.py``), run
against the named session that serves ``flask.session``, on every database.

Adapted:

- Flask's interface reads its config on each request; ours reads it once in
  ``init_app`` (SPEC section 2), so a test that changes the config between
  requests builds one app per configuration, and a bad ``SESSION_COOKIE_SAMESITE``
  fails at ``init_app`` instead of at the request.
- ``SESSION_COOKIE_SAMESITE = None`` means "NAMEDSESSIONS_COOKIE_SAMESITE"
  (``Lax``); no ``SameSite`` at all takes both set to ``None``.
- ``test_session_refresh_vary``: a request that never touches ``flask.session``
  sends no SQL, so it cannot know that the session is permanent and refreshes
  no cookie; it adds no ``Vary: Cookie`` either (Flask adds it there only
  because it refreshes the cookie).
- ``test_session_accessed`` reads the session through ``request_ctx`` (Flask
  3.1) instead of ``app_ctx`` (Flask's main branch).

Not applicable:

- ``test_missing_session``: without ``SECRET_KEY`` Flask's cookie session is
  a null session; ours signs nothing (IDs are random and stored hashed), so it
  needs no secret key and never opens a null session.
- ``test_session_secret_key_fallbacks``: nothing is signed, so rotating
  ``SECRET_KEY`` changes nothing.
"""

from __future__ import annotations

import re
import typing as t
import uuid
from datetime import datetime
from datetime import timezone

import flask
import pytest
from flask.globals import request_ctx
from markupsafe import Markup
from werkzeug.http import parse_date


@pytest.fixture
def make(make_app: t.Callable[..., flask.Flask]) -> t.Callable[..., flask.Flask]:
    def build(**config: t.Any) -> flask.Flask:
        return make_app(NAMEDSESSIONS_FLASK_SESSION="main", SECRET_KEY="test key", **config)

    return build


@pytest.fixture
def app(make: t.Callable[..., flask.Flask]) -> flask.Flask:
    return make()


def test_session_accessed(app: flask.Flask, client: t.Any) -> None:
    @app.post("/")
    def do_set() -> str:
        flask.session["value"] = flask.request.form["value"]
        return "value set"

    @app.get("/")
    def do_get() -> str:
        return t.cast(str, flask.session.get("value", "None"))

    @app.get("/nothing")
    def do_nothing() -> str:
        return ""

    with client:
        rv = client.get("/nothing")
        assert "cookie" not in rv.vary
        assert not request_ctx._session.accessed
        assert not request_ctx._session.modified

    with client:
        rv = client.post(data={"value": "42"})
        assert rv.text == "value set"
        assert "cookie" in rv.vary
        assert request_ctx._session.accessed
        assert request_ctx._session.modified

    with client:
        rv = client.get()
        assert rv.text == "42"
        assert "cookie" in rv.vary
        assert request_ctx._session.accessed
        assert not request_ctx._session.modified

    with client:
        rv = client.get("/nothing")
        assert rv.text == ""
        assert "cookie" not in rv.vary
        assert not request_ctx._session.accessed
        assert not request_ctx._session.modified


def test_session_path(make: t.Callable[..., flask.Flask]) -> None:
    app = make(APPLICATION_ROOT="/foo")

    @app.route("/")
    def index() -> str:
        flask.session["testing"] = 42
        return "Hello World"

    rv = app.test_client().get("/", "http://example.com:8080/foo")
    assert "path=/foo" in rv.headers["set-cookie"].lower()


def test_session_using_application_root(make: t.Callable[..., flask.Flask]) -> None:
    class PrefixPathMiddleware:
        def __init__(self, app: t.Any, prefix: str) -> None:
            self.app = app
            self.prefix = prefix

        def __call__(self, environ: t.Any, start_response: t.Any) -> t.Any:
            environ["SCRIPT_NAME"] = self.prefix
            return self.app(environ, start_response)

    app = make(APPLICATION_ROOT="/bar")
    app.wsgi_app = PrefixPathMiddleware(app.wsgi_app, "/bar")  # type: ignore[method-assign]

    @app.route("/")
    def index() -> str:
        flask.session["testing"] = 42
        return "Hello World"

    rv = app.test_client().get("/", "http://example.com:8080/")
    assert "path=/bar" in rv.headers["set-cookie"].lower()


def test_session_using_session_settings(make: t.Callable[..., flask.Flask]) -> None:
    app = make(
        SERVER_NAME="www.example.com:8080",
        APPLICATION_ROOT="/test",
        SESSION_COOKIE_DOMAIN=".example.com",
        SESSION_COOKIE_HTTPONLY=False,
        SESSION_COOKIE_SECURE=True,
        SESSION_COOKIE_PARTITIONED=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_PATH="/",
    )
    client = app.test_client()

    @app.route("/")
    def index() -> str:
        flask.session["testing"] = 42
        return "Hello World"

    @app.route("/clear")
    def clear() -> str:
        flask.session.pop("testing", None)
        return "Goodbye World"

    rv = client.get("/", "http://www.example.com:8080/test/")
    cookie = rv.headers["set-cookie"].lower()
    assert "domain=example.com" in cookie or "domain=.example.com" in cookie
    assert "path=/" in cookie
    assert "secure" in cookie
    assert "httponly" not in cookie
    assert "samesite" in cookie
    assert "partitioned" in cookie

    rv = client.get("/clear", "http://www.example.com:8080/test/")
    cookie = rv.headers["set-cookie"].lower()
    assert "session=;" in cookie
    assert "domain=example.com" in cookie or "domain=.example.com" in cookie
    assert "path=/" in cookie
    assert "secure" in cookie
    assert "samesite" in cookie
    assert "partitioned" in cookie


def test_session_using_samesite_attribute(make: t.Callable[..., flask.Flask]) -> None:
    def index() -> str:
        flask.session["testing"] = 42
        return "Hello World"

    with pytest.raises(ValueError):
        make(SESSION_COOKIE_SAMESITE="invalid")

    for samesite, expected in [
        (None, None),
        ("Strict", "samesite=strict"),
        ("Lax", "samesite=lax"),
    ]:
        # None: no attribute once NAMEDSESSIONS_COOKIE_SAMESITE is None too
        app = make(SESSION_COOKIE_SAMESITE=samesite, NAMEDSESSIONS_COOKIE_SAMESITE=None)
        app.add_url_rule("/", view_func=index)
        cookie = app.test_client().get("/").headers["set-cookie"].lower()
        if expected is None:
            assert "samesite" not in cookie
        else:
            assert expected in cookie


def test_session_expiration(app: flask.Flask, client: t.Any) -> None:
    permanent = True

    @app.route("/")
    def index() -> str:
        flask.session["test"] = 42
        flask.session.permanent = permanent
        return ""

    @app.route("/test")
    def test() -> str:
        return str(flask.session.permanent)

    rv = client.get("/")
    assert "set-cookie" in rv.headers
    match = re.search(r"(?i)\bexpires=([^;]+)", rv.headers["set-cookie"])
    assert match is not None
    expires = parse_date(match.group())
    expected = datetime.now(timezone.utc) + app.permanent_session_lifetime
    assert expires is not None
    assert expires.year == expected.year
    assert expires.month == expected.month
    assert expires.day == expected.day

    rv = client.get("/test")
    assert rv.data == b"True"

    permanent = False
    rv = client.get("/")
    assert "set-cookie" in rv.headers
    match = re.search(r"\bexpires=([^;]+)", rv.headers["set-cookie"])
    assert match is None


def test_session_stored_last(app: flask.Flask, client: t.Any) -> None:
    @app.after_request
    def modify_session(response: flask.Response) -> flask.Response:
        flask.session["foo"] = 42
        return response

    @app.route("/")
    def dump_session_contents() -> str:
        return repr(flask.session.get("foo"))

    assert client.get("/").data == b"None"
    assert client.get("/").data == b"42"


def test_session_special_types(app: flask.Flask, client: t.Any) -> None:
    now = datetime.now(timezone.utc).replace(microsecond=0)
    the_uuid = uuid.uuid4()

    @app.route("/")
    def dump_session_contents() -> t.Any:
        flask.session["t"] = (1, 2, 3)
        flask.session["b"] = b"\xff"
        flask.session["m"] = Markup("<html>")
        flask.session["u"] = the_uuid
        flask.session["d"] = now
        flask.session["t_tag"] = {" t": "not-a-tuple"}
        flask.session["di_t_tag"] = {" t__": "not-a-tuple"}
        flask.session["di_tag"] = {" di": "not-a-dict"}
        return "", 204

    @app.route("/read")
    def read() -> t.Any:
        return "", 204

    with client:
        client.get("/")
        s = flask.session
        assert s["t"] == (1, 2, 3)
        assert type(s["b"]) is bytes
        assert s["b"] == b"\xff"
        assert type(s["m"]) is Markup
        assert s["m"] == Markup("<html>")
        assert s["u"] == the_uuid
        assert s["d"] == now
        assert s["t_tag"] == {" t": "not-a-tuple"}
        assert s["di_t_tag"] == {" t__": "not-a-tuple"}
        assert s["di_tag"] == {" di": "not-a-dict"}

    # and as a later request loads them from the database
    with client:
        client.get("/read")
        s = flask.session
        assert s["t"] == (1, 2, 3)
        assert type(s["b"]) is bytes
        assert type(s["m"]) is Markup
        assert s["u"] == the_uuid
        assert s["d"] == now
        assert s["t_tag"] == {" t": "not-a-tuple"}
        assert s["di_t_tag"] == {" t__": "not-a-tuple"}
        assert s["di_tag"] == {" di": "not-a-dict"}


@pytest.mark.parametrize(
    ("is_permanent", "refresh", "expect_header"),
    [(True, True, True), (True, False, False), (False, True, False), (False, False, False)],
)
def test_session_cookie_setting(
    make: t.Callable[..., flask.Flask], is_permanent: bool, refresh: bool, expect_header: bool
) -> None:
    app = make(SESSION_REFRESH_EACH_REQUEST=refresh)

    @app.route("/bump")
    def bump() -> str:
        rv = flask.session["foo"] = flask.session.get("foo", 0) + 1
        flask.session.permanent = is_permanent
        return str(rv)

    @app.route("/read")
    def read() -> str:
        return str(flask.session.get("foo", 0))

    with app.test_client() as c:
        assert c.get("/bump").data == b"1"
        assert c.get("/bump").data == b"2"
        assert c.get("/bump").data == b"3"

        rv = c.get("/read")
        set_cookie = rv.headers.get("set-cookie")
        assert (set_cookie is not None) == expect_header
        assert rv.data == b"3"


def test_session_vary_cookie(app: flask.Flask, client: t.Any) -> None:
    @app.route("/set")
    def set_session() -> str:
        flask.session["test"] = "test"
        return ""

    @app.route("/get")
    def get() -> t.Any:
        return flask.session.get("test")

    @app.route("/getitem")
    def getitem() -> t.Any:
        return flask.session["test"]

    @app.route("/setdefault")
    def setdefault() -> t.Any:
        return flask.session.setdefault("test", "default")

    @app.route("/clear")
    def clear() -> str:
        flask.session.clear()
        return ""

    @app.route("/vary-cookie-header-set")
    def vary_cookie_header_set() -> flask.Response:
        response = flask.Response()
        response.vary.add("Cookie")
        flask.session["test"] = "test"
        return response

    @app.route("/vary-header-set")
    def vary_header_set() -> flask.Response:
        response = flask.Response()
        response.vary.update(("Accept-Encoding", "Accept-Language"))
        flask.session["test"] = "test"
        return response

    @app.route("/no-vary-header")
    def no_vary_header() -> str:
        return ""

    def expect(path: str, header_value: str | None = "Cookie") -> None:
        rv = client.get(path)

        if header_value:
            # The 'Vary' key should exist in the headers only once.
            assert len(rv.headers.get_all("Vary")) == 1
            assert rv.headers["Vary"] == header_value
        else:
            assert "Vary" not in rv.headers

    expect("/set")
    expect("/get")
    expect("/getitem")
    expect("/setdefault")
    expect("/clear")
    expect("/vary-cookie-header-set")
    expect("/vary-header-set", "Accept-Encoding, Accept-Language, Cookie")
    expect("/no-vary-header", None)


def test_session_refresh_vary(app: flask.Flask, client: t.Any) -> None:
    @app.get("/login")
    def login() -> str:
        flask.session["user_id"] = 1
        flask.session.permanent = True
        return ""

    @app.get("/ignored")
    def ignored() -> str:
        return ""

    rv = client.get("/login")
    assert rv.headers["Vary"] == "Cookie"
    rv = client.get("/ignored")
    assert "Vary" not in rv.headers  # Flask: "Cookie", as it refreshes the cookie
    assert "Set-Cookie" not in rv.headers


def test_flashes(app: flask.Flask) -> None:
    with app.test_request_context():
        assert not flask.session.modified
        flask.flash("Zap")
        flask.session.modified = False
        flask.flash("Zip")
        assert flask.session.modified
        assert list(flask.get_flashed_messages()) == ["Zap", "Zip"]


def test_extended_flashing(app: flask.Flask) -> None:
    @app.route("/")
    def index() -> str:
        flask.flash("Hello World")
        flask.flash("Hello World", "error")
        flask.flash(Markup("<em>Testing</em>"), "warning")
        return ""

    @app.route("/test/")
    def test() -> str:
        messages = flask.get_flashed_messages()
        assert list(messages) == [
            "Hello World",
            "Hello World",
            Markup("<em>Testing</em>"),
        ]
        return ""

    @app.route("/test_with_categories/")
    def test_with_categories() -> str:
        messages = flask.get_flashed_messages(with_categories=True)
        assert len(messages) == 3
        assert list(messages) == [
            ("message", "Hello World"),
            ("error", "Hello World"),
            ("warning", Markup("<em>Testing</em>")),
        ]
        return ""

    @app.route("/test_filter/")
    def test_filter() -> str:
        messages = flask.get_flashed_messages(category_filter=["message"], with_categories=True)
        assert list(messages) == [("message", "Hello World")]
        return ""

    @app.route("/test_filters/")
    def test_filters() -> str:
        messages = flask.get_flashed_messages(
            category_filter=["message", "warning"], with_categories=True
        )
        assert list(messages) == [
            ("message", "Hello World"),
            ("warning", Markup("<em>Testing</em>")),
        ]
        return ""

    @app.route("/test_filters_without_returning_categories/")
    def test_filters2() -> str:
        messages = flask.get_flashed_messages(category_filter=["message", "warning"])
        assert len(messages) == 2
        assert messages[0] == "Hello World"
        assert messages[1] == Markup("<em>Testing</em>")
        return ""

    for page in [
        "/test/",
        "/test_with_categories/",
        "/test_filter/",
        "/test_filters/",
        "/test_filters_without_returning_categories/",
    ]:
        client = app.test_client()
        client.get("/")
        response = client.get(page)
        assert response.status_code == 200
        # the flashes were taken: the session held nothing else and is ended
        assert response.headers["Set-Cookie"].startswith("session=;")


def test_session_transaction(app: flask.Flask, client: t.Any) -> None:
    """Flask's test client writes the session through the interface too."""

    @app.route("/")
    def index() -> str:
        return repr(flask.session.get("value"))

    with client.session_transaction() as sess:
        sess["value"] = 42
    assert client.get("/").text == "42"
    with client.session_transaction() as sess:
        assert sess["value"] == 42
        sess["value"] = 43
    assert client.get("/").text == "43"
