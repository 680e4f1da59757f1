"""Requests that overlap inside one process, in a fixed order: the first loads
its session and waits while others run to the end, then saves."""

from __future__ import annotations

import threading
import typing as t

import pytest
import sqlalchemy as sa
from flask import Flask
from flask import g
from flask import request

from flask_namedsessions import end_user_sessions
from flask_namedsessions import session_delete_expired
from flask_namedsessions import session_start
from flask_namedsessions import user_sessions
from flask_namedsessions.extension import get_state

#: how long a paused request waits before the test counts as hung
TIMEOUT = 20


class Pause:
    """Holds the view of one request until the test lets it go on."""

    def __init__(self) -> None:
        self.reached = threading.Event()
        self.resume = threading.Event()

    def __call__(self) -> None:
        if request.args.get("pause"):
            self.reached.set()
            assert self.resume.wait(TIMEOUT)


def overlap(first: t.Callable[[], t.Any], pause: Pause, *others: t.Callable[[], t.Any]) -> t.Any:
    """Run ``first`` until it pauses, ``others`` one after another, then let
    ``first`` finish; return what ``first`` returned."""
    result: list[t.Any] = []
    thread = threading.Thread(target=lambda: result.append(first()))
    thread.start()
    assert pause.reached.wait(TIMEOUT)
    for other in others:
        other()
    pause.resume.set()
    thread.join(TIMEOUT)
    assert not thread.is_alive()
    return result[0]


def cart_cookie(response: t.Any) -> str | None:
    for header in response.headers.getlist("Set-Cookie"):
        name, _, rest = header.partition("=")
        if name == "session_cart":
            return rest.split(";", 1)[0]
    return None


def rotating_app(app: Flask, pause: Pause) -> Flask:
    @app.route("/visit")
    def visit() -> str:
        s = session_start("cart")
        s.setdefault("user", None)
        return f"{s.result} {g.user}"

    @app.route("/login")
    def login() -> str:
        s = session_start("cart")
        pause()
        s.regenerate_id()
        s["user"] = "alice"
        return s.id

    @app.route("/rotate")
    def rotate() -> str:
        s = session_start("cart", rotate=True)
        pause()
        return s.id

    return app


def sessions_of(app: Flask) -> sa.Table:
    return get_state(app).store.tables.sessions


def with_cookie(app: Flask, session_id: str) -> t.Any:
    client = app.test_client()
    client.set_cookie("session_cart", session_id)
    return client


def test_regenerate_wins_over_a_rotation_that_saved_first(app: Flask) -> None:
    pause = Pause()
    rotating_app(app, pause)
    old = cart_cookie(app.test_client().get("/visit"))
    assert old is not None
    rotated: list[str] = []

    def rotate() -> None:
        rotated.append(with_cookie(app, old).get("/rotate").text)

    login = overlap(lambda: with_cookie(app, old).get("/login?pause=1"), pause, rotate)
    assert cart_cookie(login) == login.text
    assert with_cookie(app, login.text).get("/visit").text == "load alice"
    # neither the ID from before the login nor one rotated from it opens it
    assert with_cookie(app, rotated[0]).get("/visit").text == "new None"
    assert with_cookie(app, old).get("/visit").text == "new None"


@pytest.mark.parametrize("grace", [None, 0])
def test_rotation_that_lost_follows_the_winners_id(
    make_app: t.Callable[..., Flask], grace: int | None
) -> None:
    # without a grace, only the winner's key opens the row for the write
    app = make_app(**({} if grace is None else {"NAMEDSESSIONS_ROTATE_GRACE": grace}))
    pause = Pause()
    rotating_app(app, pause)

    @app.route("/rotate-and-write")
    def rotate_and_write() -> str:
        s = session_start("cart", rotate=True)
        pause()
        s["user"] = "bob"
        return s.id

    first = cart_cookie(app.test_client().get("/visit"))
    assert first is not None
    won: list[str] = []

    def rotate() -> None:
        won.append(with_cookie(app, first).get("/rotate").text)

    slow = overlap(lambda: with_cookie(app, first).get("/rotate-and-write?pause=1"), pause, rotate)
    # the winner's ID is the session's now: the loser sends it, and its write landed
    assert won[0] not in (first, slow.text)
    assert cart_cookie(slow) == won[0]
    assert with_cookie(app, won[0]).get("/visit").text == "load bob"


def test_second_creation_of_an_explicit_id_joins_the_first(app: Flask) -> None:
    pause = Pause()

    @app.route("/put/<var>")
    def put(var: str) -> str:
        s = session_start("cart", id="shared-id", use_none=True)
        pause()
        s[var] = s["last"] = var.upper()
        return s.result

    @app.route("/read")
    def read() -> str:
        s = session_start("cart", id="shared-id", use_none=True)
        return f"{s.result} {sorted(s.items())}"

    first: list[t.Any] = []
    slow = overlap(
        lambda: app.test_client().get("/put/a?pause=1"),
        pause,
        lambda: first.append(app.test_client().get("/put/b")),
    )
    assert (first[0].status_code, first[0].text) == (200, "new")
    assert (slow.status_code, slow.text) == (200, "new")
    assert app.test_client().get("/read").text == "load [('a', 'A'), ('b', 'B'), ('last', 'A')]"
    with get_state(app).store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(sessions_of(app))).scalar() == 1


def test_rotation_that_lost_twice_sends_no_cookie(app: Flask) -> None:
    pause = Pause()
    rotating_app(app, pause)
    first = cart_cookie(app.test_client().get("/visit"))
    assert first is not None
    ids: list[str] = []

    def rotate(session_id: str) -> t.Callable[[], None]:
        return lambda: ids.append(with_cookie(app, session_id).get("/rotate").text)

    def rotate_again() -> None:
        rotate(ids[0])()

    slow = overlap(
        lambda: with_cookie(app, first).get("/rotate?pause=1"), pause, rotate(first), rotate_again
    )
    # its ID was rotated away twice: it cannot follow, and sends nothing
    assert cart_cookie(slow) is None
    assert with_cookie(app, ids[1]).get("/visit").text == "load None"


def test_expired_session_touched_meanwhile_is_not_deleted(app: Flask) -> None:
    pause = Pause()

    @app.route("/start")
    def start() -> str:
        session_start("cart")["item"] = "apple"
        return ""

    @app.route("/late")
    def late() -> str:
        result = session_start("cart").result
        pause()
        return result

    client = app.test_client()
    client.get("/start")
    store = get_state(app).store
    sessions = store.tables.sessions

    def set_expiry(value: int) -> t.Callable[[], None]:
        def run() -> None:
            with store.engine.begin() as conn:
                conn.execute(sa.update(sessions).values(expires_at=value))

        return run

    set_expiry(1)()
    # another node, its clock behind, touches the session while this request
    # replaces it as expired
    response = overlap(lambda: client.get("/late?pause=1"), pause, set_expiry(2**52))
    assert response.text == "expire"
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(sessions.c.expires_at)).scalars().all()
        values = conn.execute(sa.select(store.tables.variables.c.value)).scalars().all()
    assert rows == [2**52]  # the touched one; the new one holds nothing and is not stored
    assert values == ['"apple"']


def test_a_touch_keeps_the_seal_of_a_rotation_saved_meanwhile(app: Flask) -> None:
    pause = Pause()

    @app.route("/read")
    def read() -> str:
        s = session_start("cart")
        s.setdefault("user", "alice")
        pause()
        return f"{s.result} {g.user}"

    @app.route("/rotate")
    def rotate() -> str:
        return session_start("cart", rotate=True).id

    first = cart_cookie(app.test_client().get("/read"))
    assert first is not None
    store = get_state(app).store
    with store.engine.begin() as conn:  # idle long enough that a touch is due
        touched = store.tables.sessions.c.touched_at
        conn.execute(sa.update(store.tables.sessions).values(touched_at=touched - 120_000))
    rotated: list[str] = []
    overlap(
        lambda: with_cookie(app, first).get("/read?pause=1"),
        pause,
        lambda: rotated.append(with_cookie(app, first).get("/rotate").text),
    )
    # within the grace, a request still carrying the old ID finds the session
    late = with_cookie(app, first).get("/read")
    assert late.text == "load alice"
    assert cart_cookie(late) == rotated[0]


def in_flight_app(app: Flask, pause: Pause) -> Flask:
    """``/plant`` loads the session, waits, then writes a variable (and, with
    ``?drop=1``, removes one, with ``?regen=1`` regenerates the ID, with
    ``?bind=1`` binds it to another user)."""

    @app.route("/visit")
    def visit() -> str:
        s = session_start("cart")
        s.setdefault("user", None)
        s.setdefault("note", "kept")
        return f"{s.result} {g.user}"

    @app.route("/plant")
    def plant() -> str:
        s = session_start("cart")
        pause()
        s["planted"] = "by the attacker"
        if request.args.get("drop"):
            del s["note"]
        if request.args.get("regen"):
            s.regenerate_id()
        if request.args.get("bind"):
            s.bind_user("eve")
        return s.id

    @app.route("/bind")
    def bind() -> str:
        s = session_start("cart")
        s.bind_user("ada")
        s["user"] = "ada"
        return s.id

    @app.route("/login")
    def login() -> str:
        s = session_start("cart")
        s.regenerate_id()
        s["user"] = "alice"
        return s.id

    @app.route("/end")
    def end() -> str:
        session_start("cart").end()
        return ""

    return app


def stored_variables(app: Flask) -> dict[str, str]:
    store = get_state(app).store
    variables = store.tables.variables
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(variables.c.name, variables.c.value)).all()
    return {name: value for name, value in rows}


@pytest.mark.parametrize("extra", ["", "&drop=1", "&regen=1"])
def test_a_request_from_before_a_login_writes_nothing_into_it(app: Flask, extra: str) -> None:
    pause = Pause()
    in_flight_app(app, pause)
    planted = cart_cookie(app.test_client().get("/visit"))
    assert planted is not None
    logged_in: list[str] = []
    slow = overlap(
        lambda: with_cookie(app, planted).get(f"/plant?pause=1{extra}"),
        pause,
        lambda: logged_in.append(with_cookie(app, planted).get("/login").text),
    )
    assert slow.status_code == 200
    assert cart_cookie(slow) is None  # nothing of it was saved, nothing to send
    assert stored_variables(app) == {"user": '"alice"', "note": '"kept"'}
    assert with_cookie(app, logged_in[0]).get("/visit").text == "load alice"
    assert with_cookie(app, planted).get("/visit").text == "new None"


def test_a_request_from_before_a_login_cannot_end_it(app: Flask) -> None:
    pause = Pause()
    in_flight_app(app, pause)

    @app.route("/end-late")
    def end_late() -> str:
        s = session_start("cart")
        pause()
        s.end()
        return ""

    planted = cart_cookie(app.test_client().get("/visit"))
    assert planted is not None
    logged_in: list[str] = []
    overlap(
        lambda: with_cookie(app, planted).get("/end-late?pause=1"),
        pause,
        lambda: logged_in.append(with_cookie(app, planted).get("/login").text),
    )
    assert with_cookie(app, logged_in[0]).get("/visit").text == "load alice"
    assert with_cookie(app, planted).get("/visit").text == "new None"


@pytest.mark.parametrize("remove", ["end", "cleanup"])
def test_a_request_in_flight_writes_nothing_into_a_removed_session(app: Flask, remove: str) -> None:
    pause = Pause()
    in_flight_app(app, pause)
    old = cart_cookie(app.test_client().get("/visit"))
    assert old is not None
    store = get_state(app).store

    def removed() -> None:
        if remove == "end":
            with_cookie(app, old).get("/end")
            return
        with store.engine.begin() as conn:
            conn.execute(sa.update(store.tables.sessions).values(expires_at=1))
        with app.app_context():
            assert session_delete_expired() == 1

    slow = overlap(lambda: with_cookie(app, old).get("/plant?pause=1"), pause, removed)
    assert slow.status_code == 200
    assert stored_variables(app) == {}
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(store.tables.sessions)).all() == []


def test_a_request_in_flight_within_a_rotation_grace_still_writes(app: Flask) -> None:
    pause = Pause()
    in_flight_app(app, pause)

    @app.route("/rotate")
    def rotate() -> str:
        return session_start("cart", rotate=True).id

    old = cart_cookie(app.test_client().get("/visit"))
    assert old is not None
    rotated: list[str] = []
    overlap(
        lambda: with_cookie(app, old).get("/plant?pause=1"),
        pause,
        lambda: rotated.append(with_cookie(app, old).get("/rotate").text),
    )
    assert stored_variables(app)["planted"] == '"by the attacker"'
    assert with_cookie(app, rotated[0]).get("/visit").text == "load None"


def revoke(app: Flask, count: int = 1) -> t.Callable[[], None]:
    """End the sessions of user ``ada`` from outside any request, as a job would."""

    def run() -> None:
        with app.app_context():
            assert end_user_sessions("ada") == count

    return run


def session_rows(app: Flask) -> list[t.Any]:
    store = get_state(app).store
    with store.engine.connect() as conn:
        return list(conn.execute(sa.select(store.tables.sessions)).all())


@pytest.mark.parametrize("extra", ["", "&drop=1", "&regen=1", "&bind=1"])
def test_a_request_in_flight_writes_nothing_into_a_revoked_session(app: Flask, extra: str) -> None:
    pause = Pause()
    in_flight_app(app, pause)
    old = cart_cookie(app.test_client().get("/visit"))
    assert old is not None
    assert with_cookie(app, old).get("/bind").status_code == 200
    slow = overlap(lambda: with_cookie(app, old).get(f"/plant?pause=1{extra}"), pause, revoke(app))
    assert slow.status_code == 200
    assert cart_cookie(slow) is None  # nothing of it was saved, nothing to send
    assert session_rows(app) == []
    assert stored_variables(app) == {}
    assert with_cookie(app, old).get("/visit").text == "new None"
    with app.app_context():
        assert user_sessions("ada") == user_sessions("eve") == []


def rotate_route(app: Flask, pause: Pause) -> None:
    @app.route("/rotate")
    def rotate() -> str:
        s = session_start("cart", rotate=True)
        pause()
        return s.id


def test_a_rotation_in_flight_does_not_revive_a_revoked_session(app: Flask) -> None:
    pause = Pause()
    in_flight_app(app, Pause())
    rotate_route(app, pause)
    old = cart_cookie(app.test_client().get("/visit"))
    assert old is not None
    with_cookie(app, old).get("/bind")
    slow = overlap(lambda: with_cookie(app, old).get("/rotate?pause=1"), pause, revoke(app))
    assert slow.status_code == 200
    assert cart_cookie(slow) is None
    assert session_rows(app) == []
    # neither the old ID nor the one the rotation made opens anything
    assert with_cookie(app, slow.text).get("/visit").text == "new None"
    assert with_cookie(app, old).get("/visit").text == "new None"


def test_a_revoked_session_does_not_open_by_an_id_rotated_away_within_the_grace(
    app: Flask,
) -> None:
    in_flight_app(app, Pause())
    rotate_route(app, Pause())
    old = cart_cookie(app.test_client().get("/visit"))
    assert old is not None
    with_cookie(app, old).get("/bind")
    new = with_cookie(app, old).get("/rotate").text
    assert with_cookie(app, old).get("/visit").text == "load ada"  # within the grace
    revoke(app)()
    assert with_cookie(app, old).get("/visit").text == "new None"
    assert with_cookie(app, new).get("/visit").text == "new None"
