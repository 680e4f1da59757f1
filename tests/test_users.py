"""Sessions of a user: binding, listing, ending (SPEC section 10), on every
database."""

from __future__ import annotations

import datetime
import re
import typing as t

import pytest
import sqlalchemy as sa
from flask import Flask
from flask import request
from flask import session

from flask_namedsessions import end_user_session
from flask_namedsessions import end_user_sessions
from flask_namedsessions import get_session
from flask_namedsessions import session_start
from flask_namedsessions import SessionInfo
from flask_namedsessions import user_sessions
from flask_namedsessions.extension import get_state
from flask_namedsessions.ids import lookup_key
from tests.conftest import Clock


def user_app(app: Flask) -> Flask:
    """``/login?user=u`` binds session ``main`` (``&name=`` another name);
    ``/visit`` loads it and tells who it belongs to; ``/mine`` lists the
    sessions of its user and ``/others`` ends all but this one."""

    @app.route("/login")
    def login() -> str:
        s = session_start(request.args.get("name", "main"))
        s["seen"] = True
        user = request.args["user"]
        s.bind_user(int(user) if user.isdigit() else user)
        return s.id

    @app.route("/visit")
    def visit() -> str:
        s = session_start(request.args.get("name", "main"), rotate=bool(request.args.get("rotate")))
        s.setdefault("seen", False)
        return f"{s.result} {s.user}"

    @app.route("/logout")
    def logout() -> str:
        session_start("main").bind_user(None)
        return ""

    @app.route("/mine")
    def mine() -> str:
        s = session_start("main")
        return " ".join(
            f"{info.handle}:{int(info.current)}" for info in user_sessions(s.user or "")
        )

    @app.route("/others")
    def others() -> str:
        s = session_start("main")
        return str(end_user_sessions(s.user or "", keep_current=True))

    @app.route("/everywhere")
    def everywhere() -> str:
        s = session_start("main")
        ended = end_user_sessions(s.user or "")
        return f"{ended} {s.ended}"

    return app


def device(app: Flask, user: str, **headers: t.Any) -> t.Any:
    """A client (a device) logged in as ``user``."""
    client = app.test_client()
    response = client.get(f"/login?user={user}", headers=headers)
    assert response.status_code == 200
    return client


def listed(app: Flask, user: t.Any, **kw: t.Any) -> list[SessionInfo]:
    with app.app_context():
        return user_sessions(user, **kw)


def ended(app: Flask, user: t.Any, **kw: t.Any) -> int:
    with app.app_context():
        return end_user_sessions(user, **kw)


def table(app: Flask, name: str) -> list[t.Any]:
    store = get_state(app).store
    tables = {"sessions": store.tables.sessions, "variables": store.tables.variables}
    with app.app_context(), store.engine.connect() as conn:
        return list(conn.execute(sa.select(tables[name])).all())


def test_a_users_sessions_are_listed_most_recently_seen_first(app: Flask, clock: Clock) -> None:
    user_app(app)
    phone = device(app, "ada")
    clock.advance(120)
    laptop = device(app, "ada")
    device(app, "bob")
    before = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=120)
    found = listed(app, "ada")
    assert [info.name for info in found] == ["main", "main"]
    assert found[0].last_seen > found[1].last_seen
    for info in found:
        assert info.created_at.tzinfo is datetime.timezone.utc
        assert info.expires_at - info.last_seen == datetime.timedelta(minutes=15)
        assert abs(info.last_seen - before) < datetime.timedelta(seconds=125)
        assert (info.user_agent, info.ip, info.current) == (None, None, False)
    # the newer device comes first: it is the laptop, seen last
    assert laptop.get("/visit").text == "load ada"
    assert phone.get("/visit").text == "load ada"
    assert [i.handle for i in listed(app, "bob")] != [i.handle for i in found]


def test_handle_is_neither_the_id_nor_derived_from_it(app: Flask) -> None:
    user_app(app)
    client = app.test_client()
    session_id = client.get("/login?user=ada").text
    (info,) = listed(app, "ada")
    assert re.fullmatch(r"[0-9a-f]{32}", info.handle)
    assert info.handle not in (session_id, lookup_key("main", session_id))
    assert info.handle not in lookup_key("main", session_id)
    # a handle does not open the session, by cookie or parameter
    stranger = app.test_client()
    stranger.set_cookie("session_main", info.handle)
    assert stranger.get("/visit").text == "new None"
    assert session_id not in repr(info)


def test_int_and_str_keys_are_one_user(app: Flask) -> None:
    user_app(app)
    device(app, "42")  # bound as the int 42
    assert len(listed(app, "42")) == len(listed(app, 42)) == 1
    assert ended(app, 42) == 1
    assert listed(app, "42") == []


@pytest.mark.parametrize("other", ["Ada", "ada ", "àda"])
def test_user_keys_are_compared_exactly(app: Flask, other: str) -> None:
    user_app(app)
    device(app, "ada")
    device(app, other)
    assert len(listed(app, "ada")) == 1
    assert len(listed(app, other)) == 1
    assert ended(app, other) == 1
    assert len(listed(app, "ada")) == 1


def test_listing_by_name(app: Flask) -> None:
    user_app(app)
    client = device(app, "ada")
    assert client.get("/login?user=ada&name=admin").status_code == 200
    assert sorted(i.name for i in listed(app, "ada")) == ["admin", "main"]
    assert [i.name for i in listed(app, "ada", name="admin")] == ["admin"]
    assert listed(app, "ada", name="Admin") == []
    assert ended(app, "ada", name="admin") == 1
    assert [i.name for i in listed(app, "ada")] == ["main"]


def test_unbound_and_expired_sessions_are_not_listed(app: Flask, clock: Clock) -> None:
    user_app(app)
    client = device(app, "ada")
    client.get("/logout")
    assert listed(app, "ada") == []
    assert client.get("/visit").text == "load None"
    device(app, "ada")
    clock.advance(15 * 60)
    assert listed(app, "ada") == []
    # ending deletes the expired session too, but counts only live ones
    assert ended(app, "ada") == 0
    assert len(table(app, "sessions")) == 1  # the unbound session stays


def test_absolute_timeout_bounds_the_listing(
    make_app: t.Callable[..., Flask], clock: Clock
) -> None:
    app = user_app(make_app(NAMEDSESSIONS_ABSOLUTE_TIMEOUT=20))
    client = device(app, "ada")
    (info,) = listed(app, "ada")
    assert info.expires_at - info.created_at == datetime.timedelta(minutes=15)
    clock.advance(10 * 60)
    assert client.get("/visit").text == "load ada"
    (info,) = listed(app, "ada")
    assert info.expires_at - info.created_at == datetime.timedelta(minutes=20)
    clock.advance(10 * 60)
    assert listed(app, "ada") == []


def test_ended_sessions_open_for_nobody(app: Flask) -> None:
    user_app(app)
    phone = device(app, "ada")
    laptop = device(app, "ada")
    other = device(app, "bob")
    assert ended(app, "ada") == 2
    assert [row.user_key for row in table(app, "sessions")] == ["bob"]
    assert len(table(app, "variables")) == 1  # bob's; ada's went with their sessions
    assert phone.get("/visit").text == "new None"
    assert laptop.get("/visit").text == "new None"
    assert other.get("/visit").text == "load bob"


def test_an_ended_session_opens_for_nobody_within_a_rotation_grace(app: Flask) -> None:
    user_app(app)
    phone = device(app, "ada")
    old = phone.get_cookie("session_main").value
    assert phone.get("/visit?rotate=1").text == "rotate ada"
    late = app.test_client()
    late.set_cookie("session_main", old)
    assert late.get("/visit").text == "load ada"  # within the grace
    assert ended(app, "ada") == 1
    late.set_cookie("session_main", old)
    assert late.get("/visit").text == "new None"
    assert phone.get("/visit").text == "new None"


def test_current_marks_the_session_of_the_request(app: Flask) -> None:
    user_app(app)
    phone = device(app, "ada")
    device(app, "ada")
    marks = sorted(pair.split(":")[1] for pair in phone.get("/mine").text.split())
    assert marks == ["0", "1"]
    (current,) = [p.split(":")[0] for p in phone.get("/mine").text.split() if p.endswith(":1")]
    with app.test_request_context():
        # a request that started no session has no current one
        assert [i.current for i in user_sessions("ada")] == [False, False]
    assert current in {i.handle for i in listed(app, "ada")}


def test_log_out_everywhere_else_keeps_this_device(app: Flask) -> None:
    user_app(app)
    phone = device(app, "ada")
    laptop = device(app, "ada")
    assert phone.get("/others").text == "1"
    assert phone.get("/visit").text == "load ada"
    assert laptop.get("/visit").text == "new None"


def test_the_flask_session_is_current_before_the_view_uses_it(
    make_app: t.Callable[..., Flask], sql_count: t.Any
) -> None:
    app = make_app(NAMEDSESSIONS_FLASK_SESSION="main")

    @app.route("/login")
    def login() -> str:
        session["user"] = "ada"
        get_session("main").bind_user("ada")
        return ""

    @app.route("/mine")
    def mine() -> str:
        return " ".join(str(int(info.current)) for info in user_sessions("ada"))

    @app.route("/others")
    def others() -> str:
        return str(end_user_sessions("ada", keep_current=True))

    app.add_url_rule("/me", "me", lambda: str(session.get("user")))
    phone, laptop = app.test_client(), app.test_client()
    phone.get("/login")
    laptop.get("/login")
    log = sql_count(app)
    assert laptop.get("/mine").text == "1 0"
    assert len(log.reads) == 2  # the listing, and the session it marks
    assert laptop.get("/others").text == "1"
    assert laptop.get("/me").text == "ada"
    assert phone.get("/me").text == "None"


def test_log_out_everywhere_ends_this_device_too(app: Flask) -> None:
    user_app(app)
    phone = device(app, "ada")
    device(app, "ada")
    response = phone.get("/everywhere")
    assert response.text == "2 True"
    cookie = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("session_main=")]
    assert len(cookie) == 1 and "Expires=Thu, 01 Jan 1970" in cookie[0]
    assert table(app, "sessions") == []
    assert table(app, "variables") == []


def test_keep_current_outside_a_request_keeps_nothing(app: Flask) -> None:
    user_app(app)
    device(app, "ada")
    assert ended(app, "ada", keep_current=True) == 1


def test_end_one_session_only_if_it_is_the_users(app: Flask) -> None:
    user_app(app)
    phone = device(app, "ada")
    laptop = device(app, "ada")
    bobs = device(app, "bob")
    (bob,) = listed(app, "bob")
    handles = [i.handle for i in listed(app, "ada")]
    with app.app_context():
        assert end_user_session("ada", bob.handle) is False
        assert end_user_session("Bob", bob.handle) is False
        assert end_user_session("ada", handles[0]) is True
        assert end_user_session("ada", handles[0]) is False
    assert bobs.get("/visit").text == "load bob"
    assert sorted([phone.get("/visit").text, laptop.get("/visit").text]) == [
        "load ada",
        "new None",
    ]


@pytest.mark.parametrize("handle", ["", "x" * 32, "A" * 32, "0" * 31, "0" * 33, None, 5, "0" * 32])
def test_a_bad_or_unknown_handle_ends_nothing(app: Flask, handle: t.Any) -> None:
    user_app(app)
    device(app, "ada")
    with app.app_context():
        assert end_user_session("ada", handle) is False
    assert len(listed(app, "ada")) == 1


def test_binding_in_a_request_without_variables_stores_nothing(app: Flask) -> None:
    @app.route("/bare")
    def bare() -> str:
        session_start("main").bind_user("ada")
        return ""

    response = app.test_client().get("/bare")
    assert "Set-Cookie" not in response.headers
    assert listed(app, "ada") == []


def test_user_reads_the_binding_as_text(app: Flask) -> None:
    @app.route("/bind")
    def bind() -> str:
        s = session_start("main")
        s["x"] = 1
        before = s.user
        s.bind_user(7)
        return f"{before!r} {s.user!r}"

    client = app.test_client()
    assert client.get("/bind").text == "None '7'"
    assert client.get("/bind").text == "'7' '7'"


@pytest.mark.parametrize(
    ("user", "error", "got"),
    [
        ("", ValueError, "a str of 0 characters"),
        ("x" * 256, ValueError, "a str of 256 characters"),
        ("a\x00b", ValueError, "a str of 3 characters"),
        ("\udc80", ValueError, "a str of 1 characters"),
        (10**255, ValueError, "an int of 256 digits"),
        (True, TypeError, "a bool"),
        (1.5, TypeError, "a float"),
        (b"ada", TypeError, "a bytes"),
    ],
)
def test_bad_user_keys_raise_naming_the_session(
    app: Flask, user: t.Any, error: type[Exception], got: str
) -> None:
    rule = "a user key is an int or a str of 1 to 255 characters (no NUL, valid UTF-8)"
    with app.test_request_context():
        s = session_start("cart")
        with pytest.raises(error) as info:
            s.bind_user(user)
        assert str(info.value) == f"cannot bind session 'cart' to a user: {rule}, got {got}"
        assert s.user is None
        with pytest.raises(error) as info:
            user_sessions(user)
        assert str(info.value) == f"cannot list the sessions of a user: {rule}, got {got}"
        with pytest.raises(error) as info:
            end_user_sessions(user)
        assert str(info.value) == f"cannot end the sessions of a user: {rule}, got {got}"
        with pytest.raises(error) as info:
            end_user_session(user, "0" * 32)
        assert str(info.value) == f"cannot end a session of a user: {rule}, got {got}"


def test_longest_user_key_is_stored(app: Flask) -> None:
    user_app(app)
    longest = "ü" * 255
    device(app, longest)
    assert len(listed(app, longest)) == 1


def test_bad_session_name_raises(app: Flask) -> None:
    with app.app_context():
        for call in (
            lambda: user_sessions("ada", name="no spaces"),
            lambda: end_user_sessions("ada", name="no spaces"),
        ):
            with pytest.raises(ValueError) as info:
                call()
            assert str(info.value) == (
                "invalid session name 'no spaces': use 1 to 64 characters from A-Z a-z 0-9 _ . -"
            )


def test_rebinding_to_another_user_moves_the_session(app: Flask) -> None:
    user_app(app)
    client = device(app, "ada")
    assert client.get("/login?user=bob").status_code == 200
    assert listed(app, "ada") == []
    assert len(listed(app, "bob")) == 1
    assert client.get("/visit").text == "load bob"


def test_a_binding_and_its_handle_survive_new_ids(app: Flask) -> None:
    @app.route("/login")
    def login() -> str:
        s = session_start("main")
        s.regenerate_id()
        s["user"] = "ada"
        s.bind_user("ada")
        return s.id

    @app.route("/again")
    def again() -> str:
        s = session_start("main", rotate=bool(request.args.get("rotate")))
        if not request.args.get("rotate"):
            s.regenerate_id()
        return s.id

    client = app.test_client()
    first = client.get("/login").text
    handle = listed(app, "ada")[0].handle
    second = client.get("/again").text
    third = client.get("/again?rotate=1").text
    assert len({first, second, third}) == 3
    assert [i.handle for i in listed(app, "ada")] == [handle]


def test_ending_where_a_delete_returns_nothing_selects_then_deletes(
    app: Flask, sql_count: t.Callable[[Flask], t.Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # MySQL has no DELETE ... RETURNING: the rows are locked and read first,
    # in the same transaction.
    user_app(app)
    phone = device(app, "ada")
    device(app, "ada")
    device(app, "bob")
    log = sql_count(app)
    with app.app_context():
        monkeypatch.setattr(get_state(app).store.engine.dialect, "delete_returning", False)
        handle = user_sessions("ada")[0].handle
        log.reset()
        assert end_user_session("ada", handle) is True
        assert [s.split()[0] for s in log.statements] == ["SELECT", "DELETE"]
        assert end_user_sessions("ada") == 1
        assert end_user_sessions("ada") == 0
    assert phone.get("/visit").text == "new None"
    assert sorted(str(row.user_key) for row in table(app, "sessions")) == ["None", "bob"]
    assert len(table(app, "variables")) == 2
