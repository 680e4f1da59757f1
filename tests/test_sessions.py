"""Results, IDs, expiry and tracked variables (SPEC sections 3 and 4)."""

from __future__ import annotations

import typing as t

import pytest
import sqlalchemy as sa
from flask import Flask
from flask import g
from flask import redirect
from flask import request

from flask_namedsessions import get_session
from flask_namedsessions import has_session
from flask_namedsessions import session_abort
from flask_namedsessions import session_add_var
from flask_namedsessions import session_delete_expired
from flask_namedsessions import session_end
from flask_namedsessions import session_id
from flask_namedsessions import session_remove_var
from flask_namedsessions import session_result
from flask_namedsessions import session_start
from flask_namedsessions import SessionNotStarted
from flask_namedsessions.ids import lookup_key
from tests.conftest import Clock


def rows(app: Flask, table: str = "sessions") -> list[t.Any]:
    from flask_namedsessions.extension import get_state

    with app.app_context():
        store = get_state(app).store
        tbl = store.tables.sessions if table == "sessions" else store.tables.variables
        with store.engine.connect() as conn:
            return list(conn.execute(sa.select(tbl)).all())


def counter_app(app: Flask, **start: t.Any) -> Flask:
    """A view that counts visits in ``g.visits`` of session ``cart``."""

    @app.route("/count")
    def count() -> str:
        session_start("cart", **start)
        session_add_var("cart", "visits")
        g.visits = (g.get("visits") or 0) + 1
        return f"{session_result('cart')} {g.visits}"

    return app


def cookie(client: t.Any, name: str = "cart") -> str | None:
    found = client.get_cookie(f"session_{name}")
    return None if found is None else str(found.value)


def test_start_new_then_load(app: Flask) -> None:
    client = counter_app(app).test_client()
    assert client.get("/count").text == "new 1"
    first = cookie(client)
    assert first is not None and len(first) >= 43
    assert client.get("/count").text == "load 2"
    assert client.get("/count").text == "load 3"
    assert cookie(client) == first


def test_load_restores_every_variable_into_g(app: Flask) -> None:
    @app.route("/set")
    def set_() -> str:
        s = session_start("prefs")
        s["color"] = "blue"
        s["size"] = [1, 2]
        g.color = "red"  # the value at the end of the request is what is saved
        return ""

    @app.route("/get")
    def get_() -> str:
        g.color = "overwritten by session_start"
        session_start("prefs")
        return f"{g.color} {g.size}"

    client = app.test_client()
    client.get("/set")
    assert client.get("/get").text == "red [1, 2]"


def test_expire_after_real_idle_timeout(app: Flask, clock: Clock) -> None:
    client = counter_app(app, expires=1).test_client()
    assert client.get("/count").text == "new 1"
    first = cookie(client)
    clock.advance(75)
    assert client.get("/count").text == "expire 1"
    assert cookie(client) != first
    assert len(rows(app)) == 1  # the expired one was deleted
    assert [r.name for r in rows(app, "variables")] == ["visits"]


@pytest.mark.parametrize("then", ["abort", "end"])
def test_expired_data_deleted_when_new_session_is_not_saved(
    app: Flask, then: str, clock: Clock
) -> None:
    @app.route("/start")
    def start() -> str:
        session_start("cart", expires=1)["item"] = "apple"
        return ""

    @app.route("/drop")
    def drop() -> str:
        result = session_start("cart", expires=1).result
        session_abort("cart") if then == "abort" else session_end("cart")
        return result

    client = app.test_client()
    client.get("/start")
    assert len(rows(app)) == 1
    clock.advance(75)
    assert client.get("/drop").text == "expire"
    assert rows(app) == []
    assert rows(app, "variables") == []


def test_idle_timeout_resets_on_each_load(app: Flask, clock: Clock) -> None:
    client = counter_app(app, expires=2).test_client()
    assert client.get("/count").text == "new 1"
    for visit in range(2, 5):
        clock.advance(60)
        assert client.get("/count").text == f"load {visit}"


def test_stored_expires_is_kept_without_argument(app: Flask, clock: Clock) -> None:
    @app.route("/a")
    def a() -> str:
        s = session_start("cart", expires=1.5)
        s["n"] = 1
        return str(s.expires)

    @app.route("/b")
    def b() -> str:
        s = session_start("cart")
        return f"{s.result} {s.expires}"

    client = app.test_client()
    assert client.get("/a").text == "1.5"
    assert client.get("/b").text == "load 1.5"
    clock.advance(120)
    assert client.get("/b").text == "expire 15.0"


def test_absolute_timeout_expires_an_active_session(
    make_app: t.Callable[..., Flask], clock: Clock
) -> None:
    app = make_app(NAMEDSESSIONS_ABSOLUTE_TIMEOUT=1.5, NAMEDSESSIONS_TOUCH_INTERVAL=0)
    client = counter_app(app).test_client()
    assert client.get("/count").text == "new 1"
    clock.advance(40)
    assert client.get("/count").text == "load 2"
    clock.advance(60)
    assert client.get("/count").text == "expire 1"


def test_absolute_timeout_caps_the_stored_expiry(
    make_app: t.Callable[..., Flask], clock: Clock
) -> None:
    # an idle timeout of an hour, an absolute one of ten minutes: the row
    # counts as expired, for the cleanup, once the absolute one has passed
    app = make_app(NAMEDSESSIONS_ABSOLUTE_TIMEOUT=10, NAMEDSESSIONS_TOUCH_INTERVAL=0)
    client = counter_app(app, expires=60).test_client()
    assert client.get("/count").text == "new 1"
    clock.advance(300)
    assert client.get("/count").text == "load 2"
    (row,) = rows(app)
    assert row.expires_at == row.created_at + 600_000
    clock.advance(301)
    with app.app_context():
        assert session_delete_expired() == 1
    assert rows(app) == [] and rows(app, "variables") == []


def test_session_past_its_absolute_timeout_is_replaced_and_deleted(
    make_app: t.Callable[..., Flask], clock: Clock
) -> None:
    # stored before an absolute timeout was configured: its row's expiry is
    # an hour away, but it was born more than ten minutes ago
    before = counter_app(make_app(), expires=60).test_client()
    assert before.get("/count").text == "new 1"
    app = counter_app(make_app(NAMEDSESSIONS_ABSOLUTE_TIMEOUT=10), expires=60)
    clock.advance(660)
    client = app.test_client()
    client.set_cookie("session_cart", str(cookie(before)))
    assert client.get("/count").text == "expire 1"
    assert len(rows(app)) == 1  # the new one only
    assert [r.name for r in rows(app, "variables")] == ["visits"]


def test_new_expires_is_stored_at_once(app: Flask, clock: Clock) -> None:
    @app.route("/<int:minutes>")
    def visit(minutes: int) -> str:
        s = session_start("cart", expires=minutes)
        s.setdefault("n", 1)
        return s.result

    client = app.test_client()
    assert client.get("/60").text == "new"
    clock.advance(1)  # well within the touch interval
    assert client.get("/1").text == "load"
    clock.advance(90)
    assert client.get("/1").text == "expire"


def test_rotate_issues_new_id_and_old_one_dies_after_grace(
    make_app: t.Callable[..., Flask],
    clock: Clock,
) -> None:
    app = make_app(NAMEDSESSIONS_ROTATE_GRACE=30)

    @app.route("/r")
    def r() -> str:
        session_start("cart", rotate=True)
        session_add_var("cart", "visits")
        g.visits = (g.get("visits") or 0) + 1
        return f"{session_result('cart')} {g.visits}"

    counter_app(app)
    client = app.test_client()
    client.get("/count")
    old = cookie(client)
    assert client.get("/r").text == "rotate 2"
    new = cookie(client)
    assert new != old
    # A request still in flight with the old ID loads the session under its
    # current ID, and is told the current one.
    late = app.test_client()
    late.set_cookie("session_cart", old)
    assert late.get("/count").text == "load 3"
    assert cookie(late) == new
    assert client.get("/count").text == "load 4"
    clock.advance(40)
    gone = app.test_client()
    gone.set_cookie("session_cart", old)
    assert gone.get("/count").text == "new 1"
    assert cookie(gone) not in (old, new)
    assert client.get("/count").text == "load 5"


def test_rotate_is_ignored_with_explicit_id(app: Flask) -> None:
    @app.route("/")
    def index() -> str:
        s = session_start("cart", id="user-7", rotate=True)
        s["n"] = 1
        return f"{s.result} {s.id}"

    client = app.test_client()
    assert client.get("/").text == "new user-7"
    assert client.get("/").text == "load user-7"


def test_regenerate_id_kills_the_old_id_at_once(app: Flask) -> None:
    @app.route("/login")
    def login() -> str:
        s = session_start("cart")
        s.regenerate_id()
        s["user"] = "ada"
        return s.result

    counter_app(app)
    client = app.test_client()
    client.get("/count")
    old = cookie(client)
    assert client.get("/login").text == "load"
    assert cookie(client) != old
    assert client.get("/count").text == "load 2"
    thief = app.test_client()
    thief.set_cookie("session_cart", old)
    assert thief.get("/count").text == "new 1"


def test_explicit_id_is_created_then_loaded(app: Flask) -> None:
    @app.route("/<ident>")
    def index(ident: str) -> str:
        s = session_start("cart", id=ident, use_none=True)
        s["n"] = (s.get("n") or 0) + 1
        return f"{s.result} {s.id} {g.n}"

    client = app.test_client()
    assert client.get("/user-42").text == "new user-42 1"
    assert client.get("/user-42").text == "load user-42 2"
    assert app.test_client().get("/user-42").text == "load user-42 3"
    assert client.get("/user-43").text == "new user-43 1"
    assert client.get_cookie("session_cart") is None  # use_none sets no cookie
    # Only the hash is stored.
    keys = {r.key for r in rows(app)}
    assert keys == {lookup_key("cart", "user-42"), lookup_key("cart", "user-43")}


def test_explicit_id_is_used_as_is_after_a_rotation_away_from_it(app: Flask) -> None:
    @app.route("/explicit")
    def explicit() -> str:
        s = session_start("cart", id="myappid")
        s["n"] = 1
        return f"{s.result} {s.id}"

    @app.route("/rotate")
    def rotate() -> str:
        return session_start("cart", rotate=True).result

    client = app.test_client()
    assert client.get("/explicit").text == "new myappid"  # also its cookie
    assert client.get("/rotate").text == "rotate"  # the cookie now has another ID
    # within the grace period, the old ID is still the rotated session's for
    # the visitor; the application's own ID stays its own
    assert client.get("/explicit").text == "new myappid"
    assert client.get("/explicit").text == "load myappid"


def test_explicit_id_outside_the_alphabet_raises(app: Flask) -> None:
    with (
        app.test_request_context(),
        pytest.raises(ValueError, match="invalid id= for session 'cart'"),
    ):
        session_start("cart", id="has space")


@pytest.mark.parametrize(
    "forged",
    [
        "",
        "x" * 129,
        "x" * 20000,
        "caf\u00e9",
        "'; DROP TABLE namedsessions_sessions; --",
        "%00",
        "a b",
        "Zm9v",  # well-formed but unknown
    ],
)
def test_forged_or_malformed_id_starts_new_session(app: Flask, forged: str) -> None:
    raw = counter_app(app).test_client(use_cookies=False)  # sends the header as written
    response = raw.get("/count", headers={"Cookie": f"session_cart={forged}"})
    assert response.text == "new 1"
    issued = response.headers["Set-Cookie"].split(";")[0].partition("=")[2]
    assert issued not in ("", forged)
    headers = {"Cookie": f"session_cart={issued}"}
    assert raw.get(f"/count?_session:cart={forged}", headers=headers).text == "load 2"
    assert len(rows(app)) == 1


def test_unknown_id_is_never_adopted(app: Flask) -> None:
    client = counter_app(app).test_client()
    client.set_cookie("session_cart", "attacker-chosen-id")
    client.get("/count")
    assert cookie(client) != "attacker-chosen-id"
    assert [r.key for r in rows(app)] != [lookup_key("cart", "attacker-chosen-id")]


def test_malformed_id_sends_no_query(app: Flask, sql_count: t.Any) -> None:
    log = sql_count(app)

    @app.route("/")
    def index() -> str:
        return str(has_session("cart"))

    client = app.test_client()
    client.set_cookie("session_cart", "not valid!")
    assert client.get("/").text == "False"
    assert log.count == 0


def test_abort_saves_nothing(app: Flask) -> None:
    @app.route("/abort")
    def abort() -> str:
        session_start("cart")
        g.visits = 100
        session_abort("cart")
        return ""

    client = counter_app(app).test_client()
    client.get("/count")
    client.get("/abort")
    assert client.get("/count").text == "load 2"


def test_aborted_new_session_is_not_stored(app: Flask) -> None:
    @app.route("/")
    def index() -> str:
        session_start("cart").abort()
        return ""

    client = app.test_client()
    response = client.get("/")
    assert "Set-Cookie" not in response.headers
    assert rows(app) == []


@pytest.mark.parametrize("propagate", [True, False])
def test_unhandled_exception_saves_nothing(app: Flask, propagate: bool) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = propagate

    @app.route("/boom")
    def boom() -> str:
        session_start("cart")
        g.visits = 100
        raise KeyError("boom")

    client = counter_app(app).test_client()
    client.get("/count")
    if propagate:
        with pytest.raises(KeyError):
            client.get("/boom")
    else:
        assert client.get("/boom").status_code == 500
    assert client.get("/count").text == "load 2"


def test_handled_http_error_still_saves(app: Flask) -> None:
    from flask import abort

    @app.route("/missing")
    def missing() -> str:
        session_start("cart")
        g.visits = 41
        abort(404)

    client = counter_app(app).test_client()
    client.get("/count")
    assert client.get("/missing").status_code == 404
    assert client.get("/count").text == "load 42"


def test_save_on_error_config_saves_despite_exception(
    make_app: t.Callable[..., Flask],
) -> None:
    app = make_app(NAMEDSESSIONS_SAVE_ON_ERROR=True, PROPAGATE_EXCEPTIONS=False)

    @app.route("/boom")
    def boom() -> str:
        session_start("cart")
        g.visits = 100
        raise KeyError("boom")

    client = counter_app(app).test_client()
    client.get("/count")
    assert client.get("/boom").status_code == 500
    assert client.get("/count").text == "load 101"


def test_remove_var_stops_saving_but_keeps_g(app: Flask) -> None:
    @app.route("/remove")
    def remove() -> str:
        session_start("cart")
        session_remove_var("cart", "visits")
        return str(g.visits)

    client = counter_app(app).test_client()
    client.get("/count")
    client.get("/count")
    assert client.get("/remove").text == "2"
    assert client.get("/count").text == "load 1"
    assert [r.name for r in rows(app, "variables")] == ["visits"]


def test_remove_then_add_again_writes_nothing(app: Flask, sql_count: t.Any) -> None:
    log = sql_count(app)

    @app.route("/flip")
    def flip() -> str:
        s = session_start("cart")
        s.remove_var("visits")
        s.add_var("visits")
        return str(g.visits)

    client = counter_app(app).test_client()
    client.get("/count")
    log.reset()
    assert client.get("/flip").text == "1"
    assert log.writes == []


def test_end_deletes_at_once_and_expires_cookie(app: Flask) -> None:
    @app.route("/end")
    def end() -> str:
        session_start("cart")
        session_end("cart")
        return str(len(rows(app)))

    client = counter_app(app).test_client()
    client.get("/count")
    response = client.get("/end")
    assert response.text == "0"
    header = response.headers["Set-Cookie"]
    assert header.startswith("session_cart=;")
    assert "Max-Age=0" in header and "HttpOnly" in header and "SameSite=Lax" in header
    assert cookie(client) is None
    assert rows(app, "variables") == []
    assert client.get("/count").text == "new 1"


def test_end_expires_cookie_even_when_another_save_fails(app: Flask) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.route("/end")
    def end() -> str:
        session_start("cart")
        session_end("cart")
        session_start("other")["broken"] = object()
        return ""

    client = counter_app(app).test_client()
    client.get("/count")
    response = client.get("/end")
    assert response.status_code == 500
    headers = response.headers.getlist("Set-Cookie")
    assert [h.split("=")[0] for h in headers] == ["session_cart"]
    assert headers[0].startswith("session_cart=;") and "Max-Age=0" in headers[0]
    assert rows(app) == []


def test_end_with_secure_expires_a_secure_cookie(app: Flask) -> None:
    @app.route("/start")
    def start() -> str:
        session_start("cart", secure=True)["n"] = 1
        return ""

    @app.route("/end")
    def end() -> str:
        session_start("cart")
        session_end("cart", secure=True, httponly=False)
        return ""

    client = app.test_client()
    assert "Secure" in client.get("/start", base_url="https://localhost").headers["Set-Cookie"]
    header = client.get("/end", base_url="https://localhost").headers["Set-Cookie"]
    assert "Secure" in header and "HttpOnly" not in header and "Max-Age=0" in header


def test_several_named_sessions_are_independent(app: Flask) -> None:
    @app.route("/")
    def index() -> str:
        cart = session_start("cart")
        prefs = session_start("prefs", expires=60)
        cart["items"] = (g.get("items") or 0) + 1
        prefs["theme"] = g.get("theme") or "dark"
        return f"{cart.result} {prefs.result} {cart.id != prefs.id} {g.items}"

    @app.route("/end-cart")
    def end_cart() -> str:
        session_start("cart").end()
        return ""

    client = app.test_client()
    assert client.get("/").text == "new new True 1"
    assert client.get("/").text == "load load True 2"
    client.get("/end-cart")
    assert client.get("/").text == "new load True 1"


def test_same_variable_tracked_by_two_sessions(app: Flask) -> None:
    @app.route("/set")
    def set_() -> str:
        session_start("a").add_var("shared")
        session_start("b").add_var("shared")
        g.shared = "both"
        return ""

    @app.route("/a")
    def a() -> str:
        session_start("a")
        return str(g.shared)

    @app.route("/b")
    def b() -> str:
        session_start("b")
        return str(g.shared)

    client = app.test_client()
    client.get("/set")
    assert client.get("/a").text == "both"
    assert client.get("/b").text == "both"


def test_start_twice_returns_same_object_and_applies_expires(app: Flask) -> None:
    @app.route("/")
    def index() -> str:
        first = session_start("cart")
        second = session_start("cart", expires=3)
        return f"{first is second} {first.expires}"

    assert app.test_client().get("/").text == "True 3.0"


def test_calls_before_start_raise_session_not_started(app: Flask) -> None:
    with app.test_request_context():
        for call in (
            lambda: session_id("cart"),
            lambda: session_result("cart"),
            lambda: session_add_var("cart", "x"),
            lambda: session_remove_var("cart", "x"),
            lambda: session_end("cart"),
            lambda: session_abort("cart"),
            lambda: get_session("cart"),
        ):
            with pytest.raises(SessionNotStarted) as info:
                call()
            assert str(info.value) == (
                "session 'cart' was not started in this request; call session_start('cart') first"
            )


@pytest.mark.parametrize("name", ["", "a" * 65, "with space", "semi;colon", "ünï", 7])
def test_bad_session_name_raises_value_error(app: Flask, name: t.Any) -> None:
    with app.test_request_context():
        with pytest.raises(ValueError, match="invalid session name"):
            session_start(name)
        with pytest.raises(ValueError, match="invalid session name"):
            has_session(name)


@pytest.mark.parametrize("option", ["expires", "cookie_expires"])
@pytest.mark.parametrize("value", [0, -1, float("inf"), float("nan"), 1e20, True, "5"])
def test_bad_minutes_raise_value_error_naming_session(
    app: Flask, option: str, value: t.Any
) -> None:
    expected = f"^{option} for session 'cart' must be a positive"
    with app.test_request_context(), pytest.raises(ValueError, match=expected):
        session_start("cart", **{option: value})
    assert rows(app) == []


def test_has_session_creates_nothing(app: Flask) -> None:
    @app.route("/has")
    def has() -> str:
        return str(has_session("cart"))

    client = counter_app(app).test_client()
    response = client.get("/has")
    assert response.text == "False" and "Set-Cookie" not in response.headers
    assert rows(app) == []
    client.get("/count")
    assert client.get("/has").text == "True"


def test_has_session_then_start_reuses_the_load(app: Flask, sql_count: t.Any) -> None:
    log = sql_count(app)

    @app.route("/both")
    def both() -> str:
        found = has_session("cart")
        session_start("cart")
        return f"{found} {session_result('cart')}"

    client = counter_app(app).test_client()
    client.get("/count")
    log.reset()
    assert client.get("/both").text == "True load"
    assert len(log.reads) == 1


def test_mapping_face_covers_tracked_variables(app: Flask) -> None:
    @app.route("/")
    def index() -> str:
        s = session_start("cart")
        s["a"] = 1
        s["b"] = 2
        del s["b"]
        missing = s.get("zzz", "default")
        with pytest.raises(KeyError):
            s["zzz"]
        return f"{sorted(s)} {len(s)} {'a' in s} {'b' in s} {s['a']} {g.b} {missing}"

    assert app.test_client().get("/").text == "['a'] 1 True False 1 2 default"


def test_deleting_an_untracked_variable_raises_key_error(app: Flask) -> None:
    @app.route("/")
    def index() -> str:
        s = session_start("cart")
        s["a"] = 1
        g.untracked = 2
        for var in ("untracked", "zzz"):
            with pytest.raises(KeyError) as info:
                del s[var]
            assert info.value.args == (var,)
        return f"{sorted(s)} {g.untracked}"

    assert app.test_client().get("/").text == "['a'] 2"


def test_repr_never_shows_the_id(app: Flask) -> None:
    with app.test_request_context():
        s = session_start("cart")
        s["x"] = 1
        assert s.id not in repr(s)
        assert repr(s) == "<NamedSession 'cart' new vars=['x']>"


def test_delete_expired_removes_only_expired(app: Flask, clock: Clock) -> None:
    @app.route("/short")
    def short() -> str:
        session_start("short", expires=0.005)["x"] = 1
        return ""

    @app.route("/long")
    def long() -> str:
        session_start("long")["x"] = 1
        return ""

    @app.route("/gc")
    def gc() -> str:
        return str(session_delete_expired())

    for _ in range(3):
        app.test_client().get("/short")
    app.test_client().get("/long")
    clock.advance(0.4)
    assert app.test_client().get("/gc").text == "3"
    assert [r.name for r in rows(app)] == ["long"]
    assert len(rows(app, "variables")) == 1


def test_flask_session_is_untouched(app: Flask) -> None:
    from flask import session

    @app.route("/")
    def index() -> str:
        session["flask"] = session.get("flask", 0) + 1
        s = session_start("cart")
        s["n"] = (s.get("n") or 0) + 1
        return f"{session['flask']} {g.n}"

    client = app.test_client()
    client.get("/")
    assert client.get("/").text == "2 2"
    assert client.get_cookie("session") is not None


def test_outer_app_context_does_not_leak_between_requests(app: Flask) -> None:
    @app.route("/start")
    def start() -> str:
        session_start("cart")["visits"] = 1
        return ""

    @app.route("/other")
    def other() -> str:
        return str(has_session("cart"))

    with app.app_context():
        client = app.test_client()
        client.get("/start")
        fresh = app.test_client()
        assert fresh.get("/other").text == "False"
        with pytest.raises(SessionNotStarted), app.test_request_context():
            get_session("cart")


def test_session_started_in_an_earlier_hook_is_saved(make_app: t.Callable[..., Flask]) -> None:
    app = Flask(__name__)

    @app.before_request
    def early() -> None:
        session_start("cart").add_var("visits")
        g.visits = (g.get("visits") or 0) + 1

    @app.route("/")
    def index() -> str:
        return f"{session_result('cart')} {g.visits}"

    configured = make_app()
    app.config.update({k: v for k, v in configured.config.items() if k.startswith("NAMED")})
    app.instance_path = configured.instance_path
    from flask_namedsessions import NamedSessions
    from flask_namedsessions.extension import get_state

    NamedSessions(app)
    try:
        client = app.test_client()
        assert client.get("/").text == "new 1"
        assert client.get("/").text == "load 2"
    finally:
        get_state(app).store.dispose()


def empty_app(app: Flask) -> Flask:
    """Views that start sessions and may set nothing."""

    @app.route("/page")
    def page() -> str:
        s = session_start("cart", use_auto=True)
        if request.args.get("set"):
            s["item"] = "apple"
        return f'<a href="/next">{s.result}</a><form method="post"></form>'

    @app.route("/go")
    def go() -> t.Any:
        session_start("cart", use_link=True)
        return redirect("/next")

    return app


def test_new_session_that_holds_nothing_leaves_no_row_and_sends_no_id(app: Flask) -> None:
    client = empty_app(app).test_client()
    response = client.get("/page")
    assert response.text == '<a href="/next">new</a><form method="post"></form>'
    assert "Set-Cookie" not in response.headers
    assert "Cache-Control" not in response.headers
    assert client.get("/go").headers["Location"] == "/next"
    assert rows(app) == []
    # once it holds a value, it is stored and its ID goes out
    response = client.get("/page?set=1")
    issued = cookie(client)
    assert issued is not None and response.text.count(issued) == 2  # link and form
    assert len(rows(app)) == 1


def test_save_empty_stores_every_new_session(make_app: t.Callable[..., Flask]) -> None:
    app = make_app(NAMEDSESSIONS_SAVE_EMPTY=True)
    client = empty_app(app).test_client()
    response = client.get("/page")
    issued = cookie(client)
    assert issued is not None and response.text.count(issued) == 2  # link and form
    assert len(rows(app)) == 1 and rows(app, "variables") == []


def test_expired_session_replaced_by_an_empty_one_is_deleted_and_sends_nothing(
    app: Flask, clock: Clock
) -> None:
    client = empty_app(app).test_client()
    client.get("/page?set=1")
    old = cookie(client)
    clock.advance(16 * 60)
    response = client.get("/page")
    assert response.text.startswith('<a href="/next">expire</a>')
    assert "Set-Cookie" not in response.headers and "_session:cart=" not in response.text
    assert rows(app) == [] and rows(app, "variables") == []
    assert cookie(client) == old  # the browser keeps a cookie that opens nothing


def test_loaded_session_that_loses_its_last_variable_stays_stored(app: Flask) -> None:
    @app.route("/drop")
    def drop() -> str:
        s = session_start("cart")
        del s["item"]
        return s.result

    client = empty_app(app).test_client()
    client.get("/page?set=1")
    assert client.get("/drop").text == "load"
    assert len(rows(app)) == 1 and rows(app, "variables") == []
    assert client.get("/page").text.startswith('<a href="/next">load</a>')
