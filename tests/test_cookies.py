"""Cookie tracking: names, attributes, refresh and deletion (SPEC section 5)."""

from __future__ import annotations

import typing as t

import pytest
import sqlalchemy as sa
from flask import Flask
from flask import request
from flask import Response

from flask_namedsessions import has_session
from flask_namedsessions import NamedSessions
from flask_namedsessions import session_end
from flask_namedsessions import session_start
from flask_namedsessions.extension import get_state


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


def attributes(header: str) -> list[str]:
    """The attribute names of a ``Set-Cookie`` header: what follows the
    name=value pair, whose name may itself contain "Secure"."""
    return [part.split("=", 1)[0].strip() for part in header.split(";")[1:]]


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
    assert "Secure" in attributes(header) and "Path=/;" in header and "Domain" not in header
    for end in ("/end", "/end?secure=off"):
        client.get("/", base_url="https://localhost")
        header = client.get(end, base_url="https://localhost").headers["Set-Cookie"]
        assert header.startswith("__Host-s_cart=;")
        assert "Secure" in attributes(header) and "Path=/;" in header
        assert "Domain" not in header
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
    assert header.startswith("__Secure-s_cart=") and "Secure" in attributes(header)
    header = client.get("/end", base_url="https://localhost").headers["Set-Cookie"]
    assert header.startswith("__Secure-s_cart=;") and "Secure" in attributes(header)


def test_session_ended_where_it_began_expires_only_a_cookie_it_may_have(app: Flask) -> None:
    @app.route("/<mode>")
    def begin_and_end(mode: str) -> str:
        session_start("cart", **{f"use_{mode}": True})
        session_end("cart")
        return ""

    client = app.test_client()
    # a cookie-tracked session's cookie may exist where this request did not see it
    header = client.get("/cookie").headers["Set-Cookie"]
    assert header.startswith("session_cart=;") and "Max-Age=0" in header
    assert "Set-Cookie" not in client.get("/link").headers  # it never had one


def test_ids_are_sent_once_when_a_later_hook_fails(sqlite_url: str, tmp_path: t.Any) -> None:
    app = Flask(__name__, instance_path=str(tmp_path / "instance"))
    app.config.update(NAMEDSESSIONS_DATABASE_URI=sqlite_url, PROPAGATE_EXCEPTIONS=False)

    @app.after_request
    def failing(response: Response) -> Response:  # runs after the extension's hook
        raise RuntimeError("a hook of the app failed")

    NamedSessions(app)

    @app.route("/")
    def index() -> str:
        session_start("cart")["n"] = 1
        return ""

    response = app.test_client().get("/")
    # Flask answers 500 and runs the hooks once more, for that response: the
    # sessions were closed already and add nothing to it
    assert response.status_code == 500
    assert "Set-Cookie" not in response.headers and "Vary" not in response.headers


@pytest.mark.parametrize(
    ("override", "present", "absent"),
    [
        ({"httponly": False}, [], ["HttpOnly", "Secure"]),
        ({"secure": True}, ["HttpOnly", "Secure"], []),
    ],
)
def test_end_applies_one_attribute_given_alone(
    app: Flask, override: dict[str, bool], present: list[str], absent: list[str]
) -> None:
    @app.route("/start")
    def start() -> str:
        return session_start("cart").id

    @app.route("/end")
    def end() -> str:
        session_start("cart")
        session_end("cart", **override)
        return ""

    client = app.test_client()
    client.get("/start", base_url="https://localhost")
    header = client.get("/end", base_url="https://localhost").headers["Set-Cookie"]
    assert "Max-Age=0" in header
    assert all(a in attributes(header) for a in present)
    assert not any(a in attributes(header) for a in absent)


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


def tossing_app(app: Flask) -> Flask:
    @app.route("/")
    def index() -> str:
        found = has_session("cart")
        s = session_start("cart")
        s.setdefault("owner", request.args.get("owner"))
        return f"{found} {s.result} {s['owner']}"

    @app.route("/end")
    def end() -> str:
        session_start("cart")
        session_end("cart")
        return ""

    return app


def stored_sessions(app: Flask) -> int:
    with app.app_context():
        store = get_state(app).store
        with store.engine.connect() as conn:
            return int(
                conn.execute(
                    sa.select(sa.func.count()).select_from(store.tables.sessions)
                ).scalar_one()
            )


def own_cookie(app: Flask, owner: str) -> str:
    response = app.test_client().get(f"/?owner={owner}")
    return str(response.headers["Set-Cookie"].split(";")[0])


@pytest.mark.parametrize("tossed", ["attacker", "junk", "malformed"])
def test_cookie_sent_twice_loads_nothing_and_sets_nothing(app: Flask, tossed: str) -> None:
    tossing_app(app)
    victim = own_cookie(app, "victim")
    toss = {
        "attacker": own_cookie(app, "attacker"),
        "junk": "session_cart=" + "A" * 43,
        "malformed": "session_cart=%00",
    }[tossed]
    before = stored_sessions(app)
    raw = app.test_client(use_cookies=False)
    # A sibling subdomain's cookie with a longer path comes first.
    for order in ((toss, victim), (victim, toss)):
        response = raw.get("/?owner=someone", headers={"Cookie": "; ".join(order)})
        assert response.text == "False new someone"
        assert "Set-Cookie" not in response.headers  # the victim's own cookie stays
        assert response.headers["Vary"] == "Cookie"
        ended = raw.get("/end", headers={"Cookie": "; ".join(order)})
        assert "Set-Cookie" not in ended.headers  # nor is it expired
    assert stored_sessions(app) == before  # what the view set went nowhere
    assert raw.get("/", headers={"Cookie": victim}).text == "True load victim"


def test_cookie_sent_twice_with_one_value_is_one_cookie(app: Flask) -> None:
    tossing_app(app)
    victim = own_cookie(app, "victim")
    raw = app.test_client(use_cookies=False)
    assert raw.get("/", headers={"Cookie": f"{victim}; {victim}"}).text == "True load victim"


@pytest.mark.parametrize("prefix", ["__HOST-s_", "__host-s_"])
def test_host_prefix_matches_in_any_case(make_app: t.Callable[..., Flask], prefix: str) -> None:
    app = make_app(NAMEDSESSIONS_COOKIE_PREFIX=prefix, NAMEDSESSIONS_COOKIE_PATH="/shop")

    @app.route("/")
    def index() -> str:
        return session_start("cart", domain="example.com", secure=False).id

    header = set_cookie_header(app, base_url="https://localhost")
    assert header.startswith(f"{prefix}cart=")
    assert "Secure" in attributes(header) and "Path=/;" in header and "Domain" not in header


def test_secure_prefix_matches_in_any_case(make_app: t.Callable[..., Flask]) -> None:
    app = make_app(NAMEDSESSIONS_COOKIE_PREFIX="__SECURE-s_")

    @app.route("/")
    def index() -> str:
        return session_start("cart", secure=False).id

    header = set_cookie_header(app, base_url="https://localhost")
    assert header.startswith("__SECURE-s_cart=") and "; Secure" in header


def test_samesite_none_forces_secure(make_app: t.Callable[..., Flask]) -> None:
    app = make_app(NAMEDSESSIONS_COOKIE_SAMESITE="None")

    @app.route("/")
    def index() -> str:
        return session_start("cart", secure=False).id

    @app.route("/arg")
    def arg() -> str:
        return session_start("cart", samesite="none", secure=False).id

    @app.route("/end")
    def end() -> str:
        session_start("cart")
        session_end("cart", secure=False)
        return ""

    client = app.test_client()
    for path in ("/", "/end"):
        header = client.get(path).headers["Set-Cookie"]
        assert "; Secure" in header and "SameSite=None" in header, path
    lax = make_app(NAMEDSESSIONS_COOKIE_SAMESITE="Lax")
    lax.add_url_rule("/arg", view_func=arg)
    header = set_cookie_header(lax, "/arg")
    assert "; Secure" in header and "SameSite=None" in header


@pytest.mark.parametrize(
    ("argument", "value", "message"),
    [
        (
            "domain",
            "example.com; SameSite=None",
            "invalid domain= for session 'cart': use a host name such as example.com,"
            ' without ";", spaces or control characters',
        ),
        (
            "domain",
            "example.com\r\nX-Injected: 1",
            "invalid domain= for session 'cart': use a host name such as example.com,"
            ' without ";", spaces or control characters',
        ),
        (
            "path",
            "/; Domain=evil.example",
            "invalid path= for session 'cart': use a path that starts with \"/\","
            ' without ";", spaces or control characters',
        ),
        (
            "path",
            "/a b",
            "invalid path= for session 'cart': use a path that starts with \"/\","
            ' without ";", spaces or control characters',
        ),
        (
            "path",
            "shop",
            "invalid path= for session 'cart': use a path that starts with \"/\","
            ' without ";", spaces or control characters',
        ),
    ],
)
def test_cookie_attribute_argument_that_would_add_attributes_raises(
    app: Flask, argument: str, value: str, message: str
) -> None:
    with app.test_request_context("/"), pytest.raises(ValueError) as info:
        session_start("cart", **{argument: value})
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("key", "value", "rule"),
    [
        (
            "NAMEDSESSIONS_COOKIE_DOMAIN",
            "example.com; SameSite=None",
            'a host name such as example.com, without ";", spaces or control characters',
        ),
        (
            "NAMEDSESSIONS_COOKIE_DOMAIN",
            "",
            'a host name such as example.com, without ";", spaces or control characters',
        ),
        (
            "NAMEDSESSIONS_COOKIE_PATH",
            "/\x00",
            'a path that starts with "/", without ";", spaces or control characters',
        ),
        (
            "NAMEDSESSIONS_COOKIE_PATH",
            "/shop;Secure",
            'a path that starts with "/", without ";", spaces or control characters',
        ),
    ],
)
def test_cookie_attribute_config_that_would_add_attributes_raises(
    make_app: t.Callable[..., Flask], key: str, value: str, rule: str
) -> None:
    with pytest.raises(ValueError) as info:
        make_app(**{key: value})
    assert str(info.value) == f"{key} must be {rule}, got {value!r}"


@pytest.mark.parametrize(
    ("domain", "path"),
    [("example.com", "/"), (".example.com", "/shop/cart"), ("bücher.example", "/a,b=c~!")],
)
def test_ordinary_domains_and_paths_are_accepted(app: Flask, domain: str, path: str) -> None:
    @app.route("/")
    def index() -> str:
        return session_start("cart", domain=domain, path=path).id

    header = set_cookie_header(app)
    assert "Domain=" in header and "Path=/" in header


@pytest.mark.parametrize(
    ("kwargs", "pair"),
    [
        ({"use_cookie": True, "use_none": True}, "use_cookie=True with use_none=True"),
        ({"use_link": True, "use_none": True}, "use_link=True with use_none=True"),
        ({"use_auto": True, "use_none": True}, "use_auto=True with use_none=True"),
        ({"use_auto": True, "use_cookie": False}, "use_auto=True with use_cookie=False"),
        ({"use_auto": True, "use_link": True}, "use_auto=True with use_link=True"),
        ({"use_auto": True, "use_link": False}, "use_auto=True with use_link=False"),
    ],
)
def test_contradictory_tracking_raises(app: Flask, kwargs: dict[str, bool], pair: str) -> None:
    with app.test_request_context("/"), pytest.raises(ValueError) as info:
        session_start("cart", **kwargs)
    assert str(info.value) == f"contradictory tracking for session 'cart': {pair}; choose one mode"
