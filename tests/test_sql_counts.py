"""Statements sent per request, counted exactly (SPEC section 6).

Every count holds whatever carries the ID: the cookie, a link parameter, or the
application itself (``use_none`` with ``id=``).
"""

from __future__ import annotations

import typing as t

import pytest
import sqlalchemy as sa
from flask import Flask
from flask import g
from flask import request

from flask_namedsessions import end_user_session
from flask_namedsessions import end_user_sessions
from flask_namedsessions import has_session
from flask_namedsessions import NamedSession
from flask_namedsessions import session_end
from flask_namedsessions import session_start
from flask_namedsessions import user_sessions
from flask_namedsessions.extension import get_state
from flask_namedsessions.ids import new_id

TEN = [f"v{i}" for i in range(10)]
MODES = ["cookie", "link", "none"]


class Counted:
    """An app whose views start the session ``cart`` in one tracking mode,
    a client that carries its ID that way, and the statement log."""

    def __init__(self, app: Flask, log: t.Any, mode: str) -> None:
        self.app = app
        self.log = log
        self.mode = mode
        self.client = app.test_client()
        # Links of this site's pages: the only requests an ID parameter counts on.
        self.client.environ_base["HTTP_SEC_FETCH_SITE"] = "same-origin"
        self.id: str | None = None

    def url(self, path: str) -> str:
        if self.id is None or self.mode == "cookie":
            return path
        param = "_session:cart" if self.mode == "link" else "sid"
        return f"{path}{'&' if '?' in path else '?'}{param}={self.id}"

    def create(self) -> None:
        response = self.client.get("/create")
        assert response.status_code == 200
        self.id = response.text

    def get(self, path: str) -> t.Any:
        """Request ``path`` with the ID and return the statements it sent."""
        self.log.reset()
        response = self.client.get(self.url(path))
        assert response.status_code == 200, response.text
        return self.log


def tracking(mode: str) -> dict[str, bool]:
    return {"link": {"use_link": True}, "none": {"use_none": True}}.get(mode, {})


def start(mode: str, **options: t.Any) -> NamedSession:
    if mode == "none":
        options["id"] = request.args.get("sid")
    return session_start("cart", **tracking(mode), **options)


def add_views(app: Flask, mode: str) -> None:
    @app.route("/create")
    def create() -> str:
        s = start(mode)
        for var in TEN:
            s[var] = var
        return s.id

    @app.route("/read")
    def read() -> str:
        start(mode)
        return str(g.v3)

    @app.route("/change")
    def change() -> str:
        start(mode)
        g.v3 = (g.v3 or "") + "!"
        return ""

    @app.route("/same")
    def same() -> str:
        start(mode)
        g.v3 = "".join(["v", "3"])  # equal, but another object
        return ""

    @app.route("/append")
    def append() -> str:
        start(mode)
        if isinstance(g.v4, list):
            g.v4.append(1)
        else:
            g.v4 = []
        return ""

    @app.route("/remove")
    def remove() -> str:
        start(mode).remove_var("v3")
        return ""

    @app.route("/rotate")
    def rotate() -> str:
        if mode == "none":
            # rotate= leaves an ID the application passes alone; it asks for
            # a new one itself.
            s = start(mode)
            s.regenerate_id()
            return s.id
        return start(mode, rotate=True).id

    @app.route("/has")
    def has() -> str:
        found = has_session("cart")
        start(mode)
        return str(found)

    @app.route("/plain")
    def plain() -> str:
        return "no session"

    @app.route("/bind")
    def bind() -> str:
        user = request.args.get("user")
        start(mode).bind_user(user)
        return ""

    @app.route("/create-bound")
    def create_bound() -> str:
        s = start(mode)
        for var in TEN:
            s[var] = var
        s.bind_user("ada")
        return s.id

    @app.route("/list")
    def listing() -> str:
        return str(len(user_sessions("ada")))


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return t.cast(str, request.param)


@pytest.fixture
def make_counted(
    make_app: t.Callable[..., Flask], sql_count: t.Callable[[Flask], t.Any], mode: str
) -> t.Callable[..., Counted]:
    def make(**config: t.Any) -> Counted:
        app = make_app(**config)
        add_views(app, mode)
        return Counted(app, sql_count(app), mode)

    return make


@pytest.fixture
def counted(make_counted: t.Callable[..., Counted]) -> Counted:
    return make_counted()


def kinds(statements: list[str]) -> list[str]:
    return [s.split()[0].upper() for s in statements]


def test_request_without_session_runs_no_sql(counted: Counted) -> None:
    assert counted.get("/plain").count == 0
    counted.create()
    assert counted.get("/plain").count == 0


def test_creating_session_with_ten_variables_writes_two_statements(counted: Counted) -> None:
    log = counted.get("/create")
    assert log.reads == []
    assert kinds(log.writes) == ["INSERT", "INSERT"]  # the session row, the ten variables


def test_read_only_request_runs_one_select(counted: Counted) -> None:
    counted.create()
    log = counted.get("/read")
    assert len(log.reads) == 1
    assert log.writes == []
    assert counted.client.get(counted.url("/read")).text == "v3"


def test_changing_one_of_ten_writes_one_statement(counted: Counted) -> None:
    counted.create()
    log = counted.get("/change")
    assert len(log.reads) == 1
    assert kinds(log.writes) == ["INSERT"]  # the upsert of v3 alone
    assert counted.client.get(counted.url("/read")).text == "v3!"


def test_assigning_an_equal_value_writes_nothing(counted: Counted) -> None:
    counted.create()
    log = counted.get("/same")
    assert len(log.reads) == 1
    assert log.writes == []


def test_changing_a_list_in_place_writes_it(counted: Counted) -> None:
    counted.create()
    counted.get("/append")  # v4 becomes a list
    log = counted.get("/append")
    assert len(log.reads) == 1
    assert kinds(log.writes) == ["INSERT"]
    log = counted.get("/append")
    assert kinds(log.writes) == ["INSERT"]


def test_touch_due_adds_only_the_touch(make_counted: t.Callable[..., Counted]) -> None:
    counted = make_counted(NAMEDSESSIONS_TOUCH_INTERVAL=0)
    counted.create()
    log = counted.get("/read")  # nothing changed: the touch alone
    assert len(log.reads) == 1
    assert kinds(log.writes) == ["UPDATE"]
    log = counted.get("/change")
    assert len(log.reads) == 1
    assert kinds(log.writes) == ["UPDATE", "INSERT"]


def test_removing_a_variable_writes_one_statement(counted: Counted) -> None:
    counted.create()
    log = counted.get("/remove")
    assert len(log.reads) == 1
    assert kinds(log.writes) == ["DELETE"]


def test_rotating_writes_one_statement(counted: Counted) -> None:
    counted.create()
    log = counted.get("/rotate")
    assert len(log.reads) == 1
    assert kinds(log.writes) == ["UPDATE"]
    assert counted.log.statements[-1] == log.writes[0]


def test_has_session_then_start_shares_one_select(counted: Counted) -> None:
    counted.create()
    log = counted.get("/has")
    assert len(log.reads) == 1
    assert log.writes == []
    # has_session reads what the request carries as the default mode (the
    # cookie) does: a link's ID, or one the application passes itself,
    # reaches session_start alone, which then loads it.
    expected = "True" if counted.mode == "cookie" else "False"
    assert counted.client.get(counted.url("/has")).text == expected


def test_has_session_without_id_runs_no_sql(counted: Counted) -> None:
    log = counted.get("/has")  # no ID: has_session is False, the start creates
    assert log.reads == []
    assert log.writes == []  # a new session that holds nothing is not stored


def test_two_sessions_changed_write_one_statement_each(
    make_app: t.Callable[..., Flask], sql_count: t.Callable[[Flask], t.Any]
) -> None:
    app = make_app()

    @app.route("/")
    def both() -> str:
        cart = session_start("cart")
        prefs = session_start("prefs")
        cart["n"] = (cart.get("n") or 0) + 1
        prefs["theme"] = f"dark {g.n}"
        return str(g.n)

    client = app.test_client()
    log = sql_count(app)
    client.get("/")
    log.reset()
    assert client.get("/").text == "2"
    assert len(log.reads) == 2
    assert kinds(log.writes) == ["INSERT", "INSERT"]


def test_unknown_id_costs_a_second_select_unless_the_app_passed_it(counted: Counted) -> None:
    unknown = new_id()
    if counted.mode == "cookie":
        counted.client.set_cookie("session_cart", unknown)
    else:
        counted.id = unknown
    log = counted.get("/create")
    # by its key, then by the key it may have been rotated away from; an ID
    # the application passes is used as is and never looked up that way
    assert len(log.reads) == (1 if counted.mode == "none" else 2)
    assert kinds(log.writes) == ["INSERT", "INSERT"]


def test_expired_session_is_replaced_with_one_delete(counted: Counted) -> None:
    counted.create()
    store = get_state(counted.app).store
    with store.engine.begin() as conn:
        conn.execute(sa.update(store.tables.sessions).values(expires_at=1))
    log = counted.get("/create")
    assert len(log.reads) == 1
    assert kinds(log.writes) == ["DELETE", "INSERT", "INSERT"]  # variables go by cascade


def test_ids_the_session_may_not_take_cost_no_statement(
    make_app: t.Callable[..., Flask], sql_count: t.Callable[[Flask], t.Any]
) -> None:
    app = make_app()

    @app.route("/")
    def index() -> str:
        link = request.args.get("link") == "1"
        return session_start("cart", use_link=link).result

    @app.route("/create")
    def create() -> str:
        s = session_start("cart")
        s["n"] = 1
        return s.id

    mine = app.test_client().get("/create").text
    other = app.test_client().get("/create").text
    log = sql_count(app)
    raw = app.test_client(use_cookies=False)
    for path, headers in (
        (f"/?_session:cart={mine}", {"Sec-Fetch-Site": "same-origin"}),  # cookie session
        (f"/?link=1&_session:cart={mine}", {"Sec-Fetch-Site": "cross-site"}),
        (f"/?link=1&_session:cart={mine}", {}),
        ("/", {"Cookie": f"session_cart={mine}; session_cart={other}"}),
    ):
        log.reset()
        assert raw.get(path, headers=headers).text == "new"
        assert log.statements == [], path


# -- sessions of a user (SPEC section 10) ------------------------------------------


def test_creating_a_bound_session_writes_two_statements(counted: Counted) -> None:
    log = counted.get("/create-bound")
    assert log.reads == []
    assert kinds(log.writes) == ["INSERT", "INSERT"]  # the user is in the session row
    with counted.app.app_context():
        assert len(user_sessions("ada")) == 1


def test_binding_writes_one_update_only_when_the_user_changes(counted: Counted) -> None:
    counted.create()
    log = counted.get("/bind?user=ada")
    assert len(log.reads) == 1
    assert kinds(log.writes) == ["UPDATE"]
    log = counted.get("/bind?user=ada")  # the same user: nothing to write
    assert len(log.reads) == 1
    assert log.writes == []
    log = counted.get("/read")  # a bound session reads as cheaply as any
    assert len(log.reads) == 1
    assert log.writes == []
    log = counted.get("/bind")  # unbinding
    assert len(log.reads) == 1
    assert kinds(log.writes) == ["UPDATE"]
    with counted.app.app_context():
        assert user_sessions("ada") == []


def test_binding_with_a_touch_due_writes_one_update(
    make_counted: t.Callable[..., Counted],
) -> None:
    counted = make_counted(NAMEDSESSIONS_TOUCH_INTERVAL=0)
    counted.create()
    log = counted.get("/bind?user=ada")
    assert len(log.reads) == 1
    assert kinds(log.writes) == ["UPDATE"]


def test_listing_is_one_select(counted: Counted) -> None:
    counted.get("/create-bound")
    log = counted.get("/list")  # a request that starts no session
    assert len(log.reads) == 1
    assert log.writes == []
    assert counted.client.get("/list").text == "1"
    log.reset()
    with counted.app.app_context():
        assert len(user_sessions("ada", name="cart")) == 1
    assert len(log.reads) == 1
    assert log.writes == []


def test_ending_a_users_sessions_is_one_delete(counted: Counted) -> None:
    counted.get("/create-bound")
    counted.client = counted.app.test_client()
    counted.id = None
    counted.get("/create-bound")
    counted.log.reset()
    with counted.app.app_context():
        assert end_user_sessions("ada", name="cart") == 2
    assert counted.log.reads == []
    assert kinds(counted.log.writes) == ["DELETE"]  # variables go by cascade


def test_ending_one_session_is_one_delete(counted: Counted) -> None:
    counted.get("/create-bound")
    with counted.app.app_context():
        (info,) = user_sessions("ada")
        counted.log.reset()
        assert end_user_session("ada", "f" * 32) is False
        assert end_user_session("ada", info.handle) is True
        assert kinds(counted.log.statements) == ["DELETE", "DELETE"]
        counted.log.reset()
        assert end_user_session("ada", "not a handle") is False
        assert counted.log.statements == []


def test_ending_runs_one_delete_and_none_for_a_session_never_stored(
    app: Flask, sql_count: t.Callable[[Flask], t.Any]
) -> None:
    @app.route("/keep")
    def keep() -> str:
        session_start("cart")["n"] = 1
        return ""

    @app.route("/end/<int:times>")
    def end(times: int) -> str:
        session_start("cart")["n"] = 2
        for _ in range(times):
            session_end("cart")
        return ""

    log = sql_count(app)
    assert app.test_client().get("/end/1").status_code == 200
    assert log.statements == []  # nothing stored, nothing to delete
    client = app.test_client()
    client.get("/keep")
    log.reset()
    client.get("/end/2")
    assert kinds(log.writes) == ["DELETE"]  # once, however often it is ended


def test_touch_is_due_a_tenth_of_the_timeout_after_the_last(
    make_app: t.Callable[..., Flask], sql_count: t.Callable[[Flask], t.Any]
) -> None:
    app = make_app(NAMEDSESSIONS_TOUCH_INTERVAL=3600)  # the tenth of the timeout decides
    now = [1_800_000_000_000]
    get_state(app).clock = lambda: now[0]  # to the millisecond

    @app.route("/")
    def index() -> str:
        session_start("cart", expires=1).setdefault("n", 1)
        return ""

    client = app.test_client()
    client.get("/")
    log = sql_count(app)
    now[0] += 5_999
    client.get("/")
    assert log.writes == []
    now[0] += 1  # six seconds of a one-minute timeout
    client.get("/")
    assert kinds(log.writes) == ["UPDATE"]
