"""``flask.session`` served by a named session (NAMEDSESSIONS_FLASK_SESSION)."""

from __future__ import annotations

import typing as t

import pytest
import sqlalchemy as sa
from flask import Flask
from flask import g
from flask import redirect
from flask import render_template_string
from flask import request
from flask import session

from flask_namedsessions import get_session
from flask_namedsessions import session_start
from flask_namedsessions import SessionValueError
from flask_namedsessions.extension import get_state
from flask_namedsessions.session_interface import ServerSession


def cookie_of(response: t.Any, name: str = "session") -> str | None:
    """The value a response sets for cookie ``name`` ("" when it expires it)."""
    for header in response.headers.getlist("Set-Cookie"):
        key, _, rest = header.partition("=")
        if key == name:
            return rest.split(";", 1)[0]
    return None


def set_cookie_header(response: t.Any, name: str = "session") -> str:
    found = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(name + "=")]
    assert len(found) == 1, found
    return found[0]


def stored(app: Flask) -> dict[str, str]:
    store = get_state(app).store
    variables = store.tables.variables
    with store.engine.connect() as conn:
        return dict(conn.execute(sa.select(variables.c.name, variables.c.value)).all())


def session_rows(app: Flask) -> int:
    store = get_state(app).store
    with store.engine.connect() as conn:
        return int(
            conn.execute(sa.select(sa.func.count()).select_from(store.tables.sessions)).scalar_one()
        )


@pytest.fixture
def app(make_app: t.Callable[..., Flask]) -> Flask:
    app = make_app(NAMEDSESSIONS_FLASK_SESSION="main")

    @app.route("/set/<key>/<value>")
    def set_(key: str, value: str) -> str:
        session[key] = value
        return "set"

    @app.route("/get/<key>")
    def get(key: str) -> str:
        return repr(session.get(key))

    @app.route("/dump")
    def dump() -> dict[str, t.Any]:
        return dict(session)

    @app.route("/nothing")
    def nothing() -> str:
        return "nothing"

    @app.route("/pop/<key>")
    def pop(key: str) -> str:
        return repr(session.pop(key, None))

    @app.route("/clear")
    def clear() -> str:
        session.clear()
        return "cleared"

    @app.route("/append/<value>")
    def append(value: str) -> str:
        session.setdefault("cart", []).append(value)
        return repr(session["cart"])

    @app.route("/append-in-place/<value>")
    def append_in_place(value: str) -> str:
        session["cart"].append(value)
        return repr(session["cart"])

    return app


def test_keys_are_the_named_sessions_variables_and_never_touch_g(app: Flask) -> None:
    @app.route("/odd")
    def odd() -> str:
        session["a key with spaces"] = 1
        session["get"] = 2  # an attribute of flask.g
        session["_user_id"] = "7"
        session["__class__"] = 3
        return repr(sorted(vars(g)))

    client = app.test_client()
    assert "a key with spaces" not in client.get("/odd").text
    assert client.get("/dump").json == {
        "a key with spaces": 1,
        "get": 2,
        "_user_id": "7",
        "__class__": 3,
    }
    assert stored(app) == {
        "a key with spaces": "1",
        "get": "2",
        "_user_id": '"7"',
        "__class__": "3",
    }


def test_a_key_removed_then_tracked_again_starts_without_its_value(app: Flask) -> None:
    @app.route("/remove/<key>")
    def remove(key: str) -> str:
        named = get_session("main")
        named.remove_var(key)
        named.add_var(key)  # tracked again: its old value is gone
        return repr(sorted(session.items()))

    client = app.test_client()
    client.get("/set/a/1")
    client.get("/set/b/2")
    assert client.get("/remove/a").text == "[('a', None), ('b', '2')]"
    assert client.get("/dump").json == {"a": None, "b": "2"}


@pytest.mark.parametrize(
    ("key", "shown"),
    [
        (1, "1"),
        ("x" * 129, "'" + "x" * 129 + "'"),
        ("a\x00b", "'a\\x00b'"),
        ("\ud800", "'\\ud800'"),
        ("cart ", "'cart '"),
    ],
)
def test_a_key_the_tables_cannot_hold_names_session_and_key(
    app: Flask, key: t.Any, shown: str
) -> None:
    with app.test_request_context(), pytest.raises(SessionValueError) as info:
        session[key] = 1
    assert str(info.value) == (
        f"cannot use key {shown} in session 'main': a key must be a str of at most"
        " 128 characters that UTF-8 can encode, without NUL or a trailing space"
    )


def test_keys_that_differ_only_in_white_space_stay_apart(app: Flask) -> None:
    # MariaDB would read "cart " as "cart": a key never ends in a space, and
    # other white space is kept on every database.
    keys = ["cart", " cart", "cart\t", "cart\u3000", "cart\xa0", "cart\n"]

    @app.route("/many")
    def many() -> str:
        for i, key in enumerate(keys):
            session[key] = i
        return ""

    client = app.test_client()
    client.get("/many")
    assert client.get("/dump").json == {key: i for i, key in enumerate(keys)}


def test_g_backed_sessions_keep_the_identifier_rule(app: Flask) -> None:
    with app.test_request_context(), pytest.raises(SessionValueError) as info:
        session_start("cart")["a b"] = 1
    assert str(info.value).startswith("cannot track variable 'a b' in session 'cart'")


def test_session_start_refuses_the_flask_session_name(app: Flask) -> None:
    with app.test_request_context(), pytest.raises(ValueError) as info:
        session_start("main")
    assert str(info.value) == (
        "session 'main' serves flask.session (NAMEDSESSIONS_FLASK_SESSION): use"
        " flask.session, or get_session('main') for its NamedSession"
    )


def test_get_session_opens_the_flask_session(app: Flask) -> None:
    @app.route("/named")
    def named() -> str:
        s = get_session("main")
        return f"{s.result} {s.get('k')}"

    client = app.test_client()
    client.get("/set/k/v")
    assert client.get("/named").text == "load v"


def test_a_request_that_never_touches_the_session_sends_no_sql(
    app: Flask, sql_count: t.Any
) -> None:
    client = app.test_client()
    client.get("/set/k/v")
    log = sql_count(app)
    response = client.get("/nothing")
    assert log.count == 0
    assert "Vary" not in response.headers
    assert "Set-Cookie" not in response.headers


def test_a_read_only_request_sends_one_select(app: Flask, sql_count: t.Any) -> None:
    client = app.test_client()
    client.get("/set/k/v")
    log = sql_count(app)
    response = client.get("/get/k")
    assert response.text == "'v'"
    assert len(log.reads) == 1 and log.count == 1
    assert response.headers["Vary"] == "Cookie"
    assert "Set-Cookie" not in response.headers


def test_reading_without_a_cookie_sends_no_sql_and_sets_no_cookie(
    app: Flask, sql_count: t.Any
) -> None:
    log = sql_count(app)
    response = app.test_client().get("/dump")
    assert response.json == {}
    assert log.count == 0
    assert "Set-Cookie" not in response.headers
    assert response.headers["Vary"] == "Cookie"
    assert session_rows(app) == 0


def test_changing_one_key_writes_that_row_only(app: Flask, sql_count: t.Any) -> None:
    client = app.test_client()
    client.get("/set/a/1")
    client.get("/set/b/2")
    log = sql_count(app)
    client.get("/set/a/3")
    assert log.count == 2 and len(log.writes) == 1
    assert stored(app) == {"a": '"3"', "b": '"2"'}


def test_a_change_in_place_is_saved_without_modified(app: Flask) -> None:
    client = app.test_client()
    client.get("/append/apple")
    assert client.get("/append-in-place/pear").text == "['apple', 'pear']"
    assert client.get("/dump").json == {"cart": ["apple", "pear"]}


def test_modified_accessed_and_new(app: Flask) -> None:
    seen: list[tuple[bool, bool, bool]] = []

    @app.route("/flags/<write>")
    def flags(write: str) -> str:
        current = t.cast(ServerSession, session._get_current_object())  # type: ignore[attr-defined]
        new = current.new
        if write == "1":
            session["k"] = "v"
        seen.append((new, current.modified, current.accessed))
        return ""

    client = app.test_client()
    client.get("/flags/0")
    client.get("/flags/1")
    client.get("/flags/0")
    assert seen == [(True, False, True), (True, True, True), (False, False, True)]


def test_an_empty_session_stores_nothing_whether_or_not_it_was_read(app: Flask) -> None:
    @app.route("/touch")
    def touch() -> str:
        session.get("x")
        session.permanent = True  # permanence alone holds nothing
        session["tmp"] = 1
        del session["tmp"]
        return ""

    response = app.test_client().get("/touch")
    assert "Set-Cookie" not in response.headers
    assert session_rows(app) == 0


@pytest.mark.parametrize("how", ["/clear", "/pop/k"])
def test_a_session_emptied_is_ended_and_its_cookie_expired(app: Flask, how: str) -> None:
    client = app.test_client()
    first = cookie_of(client.get("/set/k/v"))
    response = client.get(how)
    header = set_cookie_header(response)
    assert header.startswith("session=;") and "Expires=Thu, 01 Jan 1970" in header
    assert session_rows(app) == 0
    fresh = app.test_client()
    fresh.set_cookie("session", first or "")
    assert fresh.get("/get/k").text == "None"


def test_clear_then_set_keeps_the_session_under_a_new_id(app: Flask) -> None:
    @app.route("/relogin")
    def relogin() -> str:
        session.clear()
        session["user"] = "ada"
        return ""

    client = app.test_client()
    old = cookie_of(client.get("/set/planted/x"))
    new = cookie_of(client.get("/relogin"))
    assert new and new != old
    assert client.get("/dump").json == {"user": "ada"}
    stale = app.test_client()
    stale.set_cookie("session", old or "")
    assert stale.get("/dump").json == {}


def test_permanent_sets_lifetime_cookie_and_idle_timeout(
    make_app: t.Callable[..., Flask], clock: t.Any
) -> None:
    app = make_app(
        NAMEDSESSIONS_FLASK_SESSION="main",
        PERMANENT_SESSION_LIFETIME=3600,
        NAMEDSESSIONS_EXPIRES=5,
    )

    @app.route("/login/<permanent>")
    def login(permanent: str) -> str:
        session["user"] = "ada"
        session.permanent = permanent == "1"
        return ""

    @app.route("/who")
    def who() -> str:
        return f"{session.get('user')} {session.permanent}"

    client = app.test_client()
    header = set_cookie_header(client.get("/login/1"))
    assert "Max-Age=3600" in header and "Expires=" in header
    clock.advance(30 * 60)  # idle far longer than NAMEDSESSIONS_EXPIRES
    assert client.get("/who").text == "ada True"
    clock.advance(61 * 60)
    assert client.get("/who").text == "None False"

    other = app.test_client()
    header = set_cookie_header(other.get("/login/0"))
    assert "Max-Age" not in header and "Expires" not in header
    clock.advance(6 * 60)
    assert other.get("/who").text == "None False"
    assert "_permanent" not in stored(app)  # only the first, expired, row held it


def test_permanent_is_not_a_key(app: Flask) -> None:
    @app.route("/perm")
    def perm() -> dict[str, t.Any]:
        session["_permanent"] = True  # Flask's own spelling of permanent = True
        session["k"] = 1
        return {
            "keys": list(session),
            "len": len(session),
            "in": "_permanent" in session,
            "get": session.get("_permanent"),
            "permanent": session.permanent,
        }

    data = app.test_client().get("/perm").json
    assert data == {"keys": ["k"], "len": 1, "in": False, "get": None, "permanent": True}


@pytest.mark.parametrize(("refresh", "expected"), [(True, True), (False, False)])
def test_refresh_each_request_resends_a_permanent_cookie_on_reads(
    make_app: t.Callable[..., Flask], refresh: bool, expected: bool
) -> None:
    app = make_app(NAMEDSESSIONS_FLASK_SESSION="main", SESSION_REFRESH_EACH_REQUEST=refresh)

    @app.route("/login")
    def login() -> str:
        session["user"] = "ada"
        session.permanent = True
        return ""

    @app.route("/read")
    def read() -> str:
        return str(session.get("user"))

    client = app.test_client()
    first = cookie_of(client.get("/login"))
    response = client.get("/read")
    assert response.text == "ada"
    assert (cookie_of(response) == first) is expected
    assert "Set-Cookie" not in client.get("/nothing").headers


def test_cookie_follows_flasks_session_cookie_config(make_app: t.Callable[..., Flask]) -> None:
    app = make_app(
        NAMEDSESSIONS_FLASK_SESSION="main",
        SESSION_COOKIE_NAME="sid",
        SESSION_COOKIE_DOMAIN="example.com",
        SESSION_COOKIE_PATH="/app",
        SESSION_COOKIE_HTTPONLY=False,
        SESSION_COOKIE_SECURE=True,
        SESSION_COOKIE_SAMESITE="strict",
        SESSION_COOKIE_PARTITIONED=True,
    )

    @app.route("/app/set")
    def set_() -> str:
        session["k"] = 1
        return ""

    @app.route("/app/clear")
    def clear() -> str:
        session.clear()
        return ""

    client = app.test_client()
    header = set_cookie_header(client.get("/app/set", "https://www.example.com/"), "sid")
    attributes = "Domain=example.com; Secure; Path=/app; SameSite=Strict; Partitioned"
    assert header.endswith(attributes)
    assert "HttpOnly" not in header
    expired = set_cookie_header(client.get("/app/clear", "https://www.example.com/"), "sid")
    assert expired == (
        "sid=; Domain=example.com; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0;"
        " Secure; Path=/app; SameSite=Strict; Partitioned"
    )


def test_samesite_unset_takes_namedsessions_cookie_samesite(
    make_app: t.Callable[..., Flask],
) -> None:
    app = make_app(NAMEDSESSIONS_FLASK_SESSION="main")
    app.add_url_rule("/set", view_func=lambda: session.update(k=1) or "")
    assert "SameSite=Lax" in set_cookie_header(app.test_client().get("/set"))
    app = make_app(NAMEDSESSIONS_FLASK_SESSION="main", NAMEDSESSIONS_COOKIE_SAMESITE=None)
    app.add_url_rule("/set", view_func=lambda: session.update(k=1) or "")
    assert "SameSite" not in set_cookie_header(app.test_client().get("/set"))


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        (
            "SESSION_COOKIE_SAMESITE",
            "invalid",
            "SESSION_COOKIE_SAMESITE must be 'Lax', 'Strict', 'None' (in any case) or None,"
            " got 'invalid'",
        ),
        (
            "SESSION_COOKIE_DOMAIN",
            "a.com; x=1",
            "SESSION_COOKIE_DOMAIN must be a cookie attribute without ';', ',', spaces or"
            " control characters, got 'a.com; x=1'",
        ),
        (
            "SESSION_COOKIE_NAME",
            "a b",
            "SESSION_COOKIE_NAME must be a cookie name (letters, digits and"
            " !#$%&'*+-.^_`|~), got 'a b'",
        ),
        (
            "PERMANENT_SESSION_LIFETIME",
            0,
            "PERMANENT_SESSION_LIFETIME must be a positive duration (a timedelta or"
            " seconds), got 0",
        ),
        ("SESSION_REFRESH_EACH_REQUEST", 1, "SESSION_REFRESH_EACH_REQUEST must be True or False"),
        (
            "NAMEDSESSIONS_FLASK_SESSION_TRACKING",
            "none",
            "NAMEDSESSIONS_FLASK_SESSION_TRACKING must be one of 'cookie', 'auto', 'link',"
            " got 'none'",
        ),
    ],
)
def test_bad_flask_session_config_fails_at_init_app_naming_the_key(
    make_app: t.Callable[..., Flask], key: str, value: t.Any, message: str
) -> None:
    with pytest.raises(ValueError) as info:
        make_app(NAMEDSESSIONS_FLASK_SESSION="main", **{key: value})
    assert str(info.value).startswith(message)


def test_flask_session_name_must_be_a_session_name(make_app: t.Callable[..., Flask]) -> None:
    with pytest.raises(ValueError) as info:
        make_app(NAMEDSESSIONS_FLASK_SESSION="a b")
    assert str(info.value) == (
        "NAMEDSESSIONS_FLASK_SESSION must be None or a session name (A-Z a-z 0-9 _ . -), got 'a b'"
    )


def test_saved_after_every_after_request_hook(app: Flask) -> None:
    # Registered after init_app, so it runs before the extension's own hook,
    # and once more before it: neither order loses its write.
    @app.after_request
    def late(response: t.Any) -> t.Any:
        session["late"] = request.path
        return response

    app.test_client().get("/nothing")
    assert stored(app) == {"late": '"/nothing"'}


def test_session_shares_the_save_with_g_backed_sessions(app: Flask, sql_count: t.Any) -> None:
    @app.route("/both")
    def both() -> str:
        session["k"] = 1
        session_start("cart")["items"] = 2
        return ""

    log = sql_count(app)
    response = app.test_client().get("/both")
    assert cookie_of(response) and cookie_of(response, "session_cart")
    # two sessions created with a variable each, one transaction
    assert log.count == 4
    assert stored(app) == {"k": "1", "items": "2"}


def test_flask_session_travels_by_link_when_configured(make_app: t.Callable[..., Flask]) -> None:
    app = make_app(NAMEDSESSIONS_FLASK_SESSION="main", NAMEDSESSIONS_FLASK_SESSION_TRACKING="link")

    @app.route("/page")
    def page() -> t.Any:
        session["n"] = session.get("n", 0) + 1
        return f'<a href="/page">n={session["n"]}</a>', {"Content-Type": "text/html"}

    client = app.test_client(use_cookies=False)
    response = client.get("/page")
    assert "Set-Cookie" not in response.headers
    link = response.text.split('href="', 1)[1].split('"', 1)[0]
    assert link.startswith("/page?_session%3Amain=") or link.startswith("/page?_session:main=")
    again = client.get(link, headers={"Sec-Fetch-Site": "same-origin"})
    assert "n=2" in again.text
    assert again.headers["Cache-Control"] == "private, no-store"


@pytest.mark.parametrize("mode", ["link", "auto"])
def test_a_page_that_never_touches_the_session_carries_it_on(
    make_app: t.Callable[..., Flask], sql_count: t.Any, mode: str
) -> None:
    app = make_app(NAMEDSESSIONS_FLASK_SESSION="main", NAMEDSESSIONS_FLASK_SESSION_TRACKING=mode)
    app.add_url_rule("/n", "n", lambda: repr(session.get("n")))
    app.add_url_rule("/away", "away", lambda: redirect("/n"))

    @app.route("/set")
    def set_() -> t.Any:
        session["n"] = 1
        return get_session("main").id

    @app.route("/about")
    def about() -> t.Any:
        return '<a href="/n">n</a>', {"Content-Type": "text/html"}

    client = app.test_client(use_cookies=False)
    session_id = client.get("/set").text
    same_origin = {"Sec-Fetch-Site": "same-origin"}
    log = sql_count(app)
    page = client.get("/about", query_string={"_session:main": session_id}, headers=same_origin)
    assert page.text == f'<a href="/n?_session:main={session_id}">n</a>'
    assert len(log.reads) == 1 and log.count == 1
    away = client.get("/away", query_string={"_session:main": session_id}, headers=same_origin)
    assert away.headers["Location"] == f"/n?_session:main={session_id}"
    assert client.get(away.headers["Location"], headers=same_origin).text == "1"
    log.reset()
    assert client.get("/about").text == '<a href="/n">n</a>'
    elsewhere = client.get("/about", query_string={"_session:main": session_id})
    assert elsewhere.text == '<a href="/n">n</a>'
    assert log.count == 0


def test_template_helpers_open_the_flask_session_on_demand(
    make_app: t.Callable[..., Flask],
) -> None:
    # A page whose view never touched flask.session still carries its ID.
    app = make_app(NAMEDSESSIONS_FLASK_SESSION="main", NAMEDSESSIONS_FLASK_SESSION_TRACKING="link")
    app.add_url_rule("/n", view_func=lambda: repr(session.get("n")), methods=["GET", "POST"])

    @app.route("/set")
    def set_() -> t.Any:
        session["n"] = 1
        return get_session("main").id

    @app.route("/page")
    def page() -> str:
        return render_template_string(
            "{{ session_hidden_input('main') }}|{{ session_url('/n', 'main') }}"
            "|{{ session_id('main') }}"
        )

    client = app.test_client(use_cookies=False)
    session_id = client.get("/set").text
    same_origin = {"Sec-Fetch-Site": "same-origin"}
    shown = client.get("/page", query_string={"_session:main": session_id}, headers=same_origin)
    assert shown.status_code == 200
    hidden, url, text = shown.text.split("|")
    assert text == session_id
    assert f'value="{session_id}"' in hidden
    assert url == f"/n?_session:main={session_id}"
    assert shown.headers["Cache-Control"] == "private, no-store"
    assert client.get(url, headers=same_origin).text == "1"


@pytest.mark.parametrize(
    ("config", "attributes"),
    [
        (
            {"SESSION_COOKIE_NAME": "__Host-sid", "SESSION_COOKIE_PATH": "/app"},
            "Secure; HttpOnly; Path=/; SameSite=Lax",
        ),
        ({"SESSION_COOKIE_SAMESITE": "none"}, "Secure; HttpOnly; Path=/; SameSite=None"),
    ],
)
def test_cookie_rules_browsers_demand(
    make_app: t.Callable[..., Flask], config: dict[str, t.Any], attributes: str
) -> None:
    app = make_app(NAMEDSESSIONS_FLASK_SESSION="main", **config)
    app.add_url_rule("/set", view_func=lambda: session.update(k=1) or "")
    name = config.get("SESSION_COOKIE_NAME", "session")
    header = set_cookie_header(app.test_client().get("/set"), name)
    assert header.split("; ", 1)[1] == attributes


def test_save_empty_does_not_store_an_empty_flask_session(
    make_app: t.Callable[..., Flask],
) -> None:
    app = make_app(NAMEDSESSIONS_FLASK_SESSION="main", NAMEDSESSIONS_SAVE_EMPTY=True)
    app.add_url_rule("/read", view_func=lambda: str(session.get("k")))
    response = app.test_client().get("/read")
    assert "Set-Cookie" not in response.headers
    assert session_rows(app) == 0


def failing_save_app(make_app: t.Callable[..., Flask], handler: bool) -> Flask:
    app = make_app(NAMEDSESSIONS_FLASK_SESSION="main", PROPAGATE_EXCEPTIONS=False)
    if handler:

        @app.errorhandler(SessionValueError)
        def refused(exc: SessionValueError) -> tuple[str, int, dict[str, str]]:
            return str(exc), 422, {"X-Handled": "yes"}

    @app.route("/bad")
    def bad() -> str:
        session["ok"] = 1
        session["bad"] = object()  # found at the save, after the view returned
        return "should not be sent"

    return app


def test_a_failed_save_is_answered_by_the_apps_handler(make_app: t.Callable[..., Flask]) -> None:
    app = failing_save_app(make_app, handler=True)
    response = app.test_client().get("/bad")
    assert (response.status_code, response.headers["X-Handled"]) == (422, "yes")
    assert response.text == (
        "cannot store variable 'bad' of session 'main': object values are not supported"
        " (use dict with str keys, list, tuple, str, bytes, numbers, bool, None, datetime,"
        " UUID or Markup)"
    )
    assert cookie_of(response) is None
    assert session_rows(app) == 0


def test_a_failed_save_without_a_handler_is_a_500_that_saves_nothing(
    make_app: t.Callable[..., Flask],
) -> None:
    app = failing_save_app(make_app, handler=False)
    response = app.test_client().get("/bad")
    assert response.status_code == 500
    assert "should not be sent" not in response.text
    assert cookie_of(response) is None
    assert session_rows(app) == 0


@pytest.mark.parametrize("save_on_error", [False, True])
def test_a_request_that_raises_saves_nothing_unless_configured(
    make_app: t.Callable[..., Flask], save_on_error: bool
) -> None:
    app = make_app(
        NAMEDSESSIONS_FLASK_SESSION="main",
        NAMEDSESSIONS_SAVE_ON_ERROR=save_on_error,
        PROPAGATE_EXCEPTIONS=False,
    )

    @app.route("/boom")
    def boom() -> str:
        session["k"] = "v"
        raise RuntimeError("boom")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert (cookie_of(response) is not None) is save_on_error
    assert stored(app) == ({"k": '"v"'} if save_on_error else {})
