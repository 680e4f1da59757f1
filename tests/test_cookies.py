"""Cookie tracking: names, attributes, refresh and deletion (SPEC section 5)."""

from __future__ import annotations

import typing as t

import pytest
from flask import Flask
from flask import request
from flask import Response

from flask_namedsessions import has_session
from flask_namedsessions import session_end
from flask_namedsessions import session_start


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """Cookies are the same whatever the database: SQLite is enough."""
    return sqlite_url


@pytest.fixture
def make_app(make_app: t.Callable[..., Flask]) -> t.Callable[..., Flask]:
    """Cookies of sessions that may hold nothing yet: those are stored too
    (NAMEDSESSIONS_SAVE_EMPTY), so every test here has an ID to send."""

    def make(**config: t.Any) -> Flask:
        return make_app(**{"NAMEDSESSIONS_SAVE_EMPTY": True, **config})

    return make


def set_cookie_header(app: Flask, path: str = "/", **kwargs: t.Any) -> str:
    response = app.test_client().get(path, **kwargs)
    return str(response.headers["Set-Cookie"])


def test_cookie_defaults_are_httponly_lax_root_path(app: Flask) -> None:
    @app.route("/")
    def index() -> str:
        return session_start("cart").id

    response = app.test_client().get("/")
    header = response.headers["Set-Cookie"]
    assert header == f"session_cart={response.text}; HttpOnly; Path=/; SameSite=Lax"


def test_cookie_arguments_beat_config(make_app: t.Callable[..., Flask]) -> None:
    app = make_app(
        NAMEDSESSIONS_COOKIE_PATH="/shop",
        NAMEDSESSIONS_COOKIE_SAMESITE="Strict",
        NAMEDSESSIONS_COOKIE_PREFIX="app_",
    )

    @app.route("/config")
    def config() -> str:
        return session_start("cart").id

    @app.route("/args")
    def args() -> str:
        return session_start(
            "cart",
            domain="example.com",
            path="/x",
            secure=True,
            httponly=False,
            samesite="None",
        ).id

    header = set_cookie_header(app, "/config")
    assert header.startswith("app_cart=")
    assert "Path=/shop" in header and "SameSite=Strict" in header and "HttpOnly" in header
    header = set_cookie_header(app, "/args", base_url="https://example.com")
    assert "Domain=example.com" in header and "Path=/x" in header
    assert "Secure" in header and "SameSite=None" in header and "HttpOnly" not in header


def test_cookie_expires_sets_max_age_and_expires(app: Flask) -> None:
    @app.route("/")
    def index() -> str:
        return session_start("cart", cookie_expires=90).id

    header = set_cookie_header(app)
    assert "Max-Age=5400" in header and "Expires=" in header


def test_cookie_without_cookie_expires_lasts_for_browser_session(app: Flask) -> None:
    @app.route("/")
    def index() -> str:
        return session_start("cart").id

    header = set_cookie_header(app)
    assert "Max-Age" not in header and "Expires" not in header


def test_host_prefix_forces_secure_root_path_and_no_domain(
    make_app: t.Callable[..., Flask],
) -> None:
    app = make_app(
        NAMEDSESSIONS_COOKIE_PREFIX="__Host-s_",
        NAMEDSESSIONS_COOKIE_DOMAIN="example.com",
        NAMEDSESSIONS_COOKIE_PATH="/shop",
    )

    @app.route("/")
    def index() -> str:
        return session_start("cart", domain="example.com", path="/x", secure=False).id

    @app.route("/end")
    def end() -> str:
        session_start("cart")
        session_end("cart", secure=request.args.get("secure") != "off")
        return ""

    client = app.test_client()
    header = client.get("/", base_url="https://localhost").headers["Set-Cookie"]
    assert header.startswith("__Host-s_cart=")
    assert "Secure" in header and "Path=/;" in header and "Domain" not in header
    for end in ("/end", "/end?secure=off"):
        client.get("/", base_url="https://localhost")
        header = client.get(end, base_url="https://localhost").headers["Set-Cookie"]
        assert header.startswith("__Host-s_cart=;")
        assert "Secure" in header and "Path=/;" in header and "Domain" not in header
        assert "Max-Age=0" in header


def test_secure_prefix_forces_secure_on_set_and_end(make_app: t.Callable[..., Flask]) -> None:
    app = make_app(NAMEDSESSIONS_COOKIE_PREFIX="__Secure-s_")

    @app.route("/")
    def index() -> str:
        return session_start("cart", secure=False).id

    @app.route("/end")
    def end() -> str:
        session_start("cart")
        session_end("cart", secure=False)
        return ""

    client = app.test_client()
    header = client.get("/", base_url="https://localhost").headers["Set-Cookie"]
    assert header.startswith("__Secure-s_cart=") and "Secure" in header
    header = client.get("/end", base_url="https://localhost").headers["Set-Cookie"]
    assert header.startswith("__Secure-s_cart=;") and "Secure" in header


def test_partitioned_cookie_is_secure(make_app: t.Callable[..., Flask]) -> None:
    app = make_app(NAMEDSESSIONS_COOKIE_PARTITIONED=True)

    @app.route("/")
    def index() -> str:
        return session_start("cart").id

    header = set_cookie_header(app, base_url="https://localhost")
    assert "Partitioned" in header and "Secure" in header


def test_read_only_request_sets_no_cookie(app: Flask) -> None:
    @app.route("/")
    def index() -> str:
        return session_start("cart").result

    client = app.test_client()
    assert "Set-Cookie" in client.get("/").headers
    response = client.get("/")
    assert response.text == "load"
    assert "Set-Cookie" not in response.headers


def test_cookie_expires_is_refreshed_on_every_request(app: Flask) -> None:
    @app.route("/")
    def index() -> str:
        return session_start("cart", cookie_expires=5).result

    client = app.test_client()
    client.get("/")
    response = client.get("/")
    assert response.text == "load"
    assert "Max-Age=300" in response.headers["Set-Cookie"]


def test_response_of_cookie_session_varies_on_cookie(app: Flask) -> None:
    @app.route("/")
    def index() -> str:
        return session_start("cart").result

    @app.route("/explicit")
    def explicit() -> str:
        return session_start("cart", id="fixed", use_none=True).result

    @app.route("/none")
    def none() -> str:
        return ""

    @app.route("/has")
    def has() -> str:
        return str(has_session("cart"))

    @app.route("/negotiated")
    def negotiated() -> Response:
        response = Response(session_start("cart").result)
        response.headers["Vary"] = "Accept-Encoding"
        return response

    client = app.test_client()
    client.get("/")
    assert client.get("/").headers["Vary"] == "Cookie"
    assert client.get("/negotiated").headers["Vary"] == "Accept-Encoding, Cookie"
    assert client.get("/has").headers["Vary"] == "Cookie"
    assert app.test_client().get("/has").headers["Vary"] == "Cookie"
    assert "Vary" not in client.get("/explicit").headers
    assert "Vary" not in client.get("/none").headers


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, {"cookie"}),
        ({"use_cookie": True}, {"cookie"}),
        ({"use_cookie": False}, set()),
        ({"use_link": True}, {"link"}),
        ({"use_link": True, "use_cookie": True}, {"link", "cookie"}),
        ({"use_none": True}, set()),
        ({"use_none": True, "use_cookie": False}, set()),
        ({"use_auto": True}, {"cookie", "link"}),
        ({"use_auto": True, "use_cookie": True}, {"cookie", "link"}),
    ],
)
def test_tracking_modes_follow_arguments(
    app: Flask, kwargs: dict[str, bool], expected: set[str]
) -> None:
    @app.route("/")
    def index() -> str:
        return ",".join(sorted(session_start("cart", **kwargs).tracking))

    response = app.test_client().get("/")
    assert set(filter(None, response.text.split(","))) == expected
    assert ("Set-Cookie" in response.headers) == ("cookie" in expected)


def test_auto_mode_drops_links_once_the_cookie_comes_back(app: Flask) -> None:
    @app.route("/")
    def index() -> str:
        return ",".join(sorted(session_start("cart", use_auto=True).tracking))

    client = app.test_client()
    assert client.get("/").text == "cookie,link"
    assert client.get("/").text == "cookie"


@pytest.mark.parametrize("mode", ["cookie", "link", "auto", "none"])
def test_default_tracking_config(make_app: t.Callable[..., Flask], mode: str) -> None:
    app = make_app(NAMEDSESSIONS_DEFAULT_TRACKING=mode)

    @app.route("/")
    def index() -> str:
        return ",".join(sorted(session_start("cart").tracking))

    expected = {"cookie": "cookie", "link": "link", "auto": "cookie,link", "none": ""}
    assert app.test_client().get("/").text == expected[mode]


def test_id_from_query_parameter_loads_session(app: Flask) -> None:
    @app.route("/")
    def index() -> str:
        s = session_start("cart", use_link=True)
        s["n"] = (s.get("n") or 0) + 1
        return f"{s.id} {s['n']}"

    first = app.test_client().get("/").text.split()[0]
    here = {"Sec-Fetch-Site": "same-origin"}
    assert app.test_client().get(f"/?_session:cart={first}", headers=here).text == f"{first} 2"
    assert app.test_client().get(f"/?_session%3Acart={first}", headers=here).text == f"{first} 3"


@pytest.mark.parametrize("multipart", [False, True])
def test_id_from_form_body_loads_session(app: Flask, multipart: bool) -> None:
    @app.route("/", methods=["GET", "POST"])
    def index() -> str:
        s = session_start("cart", use_link=True)
        s["n"] = (s.get("n") or 0) + 1
        return f"{s.id} {s['n']}"

    first = app.test_client().get("/").text.split()[0]
    data = {"_session:cart": first}
    kwargs: dict[str, t.Any] = {"data": data, "headers": {"Sec-Fetch-Site": "same-origin"}}
    if multipart:
        kwargs["content_type"] = "multipart/form-data"
    assert app.test_client().post("/", **kwargs).text == f"{first} 2"


def test_cookie_wins_over_parameter(app: Flask) -> None:
    @app.route("/")
    def index() -> str:
        return session_start("cart").id

    client = app.test_client()
    mine = client.get("/").text
    other = app.test_client().get("/").text
    assert client.get(f"/?_session:cart={other}").text == mine
