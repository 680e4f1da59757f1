"""Flask-Login, Flask-WTF and flash() on the named session behind flask.session."""

from __future__ import annotations

import typing as t

import pytest
import sqlalchemy as sa
from flask import flash
from flask import Flask
from flask import get_flashed_messages
from flask import request
from flask import session
from flask_login import current_user
from flask_login import login_user
from flask_login import LoginManager
from flask_login import logout_user
from flask_login import UserMixin
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFProtect
from wtforms import StringField

from flask_namedsessions import end_user_sessions
from flask_namedsessions import get_session
from flask_namedsessions import NamedSessions
from flask_namedsessions import user_sessions
from flask_namedsessions.extension import get_state
from tests.test_flask_session import cookie_of


class User(UserMixin):
    def __init__(self, user_id: str) -> None:
        self.id = user_id


class NoteForm(FlaskForm):
    note = StringField("note")


def with_cookie(app: Flask, value: str | None) -> t.Any:
    client = app.test_client()
    if value:
        client.set_cookie("session", value)
    return client


@pytest.fixture
def login_app(
    database_url: str, tmp_path: t.Any, clock: t.Any
) -> t.Iterator[t.Callable[..., Flask]]:
    apps: list[Flask] = []

    def build(*, login_first: bool = False, csrf: bool = False, **config: t.Any) -> Flask:
        app = Flask(__name__, instance_path=str(tmp_path / "instance"))
        app.config.update(
            TESTING=True,
            SECRET_KEY="test",
            NAMEDSESSIONS_DATABASE_URI=database_url,
            NAMEDSESSIONS_FLASK_SESSION="main",
            WTF_CSRF_ENABLED=csrf,
        )
        app.config.update(config)
        manager = LoginManager()
        manager.user_loader(User)
        if login_first:
            manager.init_app(app)
        NamedSessions(app)
        if not login_first:
            manager.init_app(app)
        if csrf:
            CSRFProtect(app)
        get_state(app).clock = clock
        apps.append(app)

        @app.route("/login/<user_id>", methods=["GET", "POST"])
        def login(user_id: str) -> str:
            login_user(User(user_id), remember=request.args.get("remember") == "1")
            return get_session("main").result

        @app.route("/logout")
        def logout() -> str:
            logout_user()
            return "bye"

        @app.route("/me")
        def me() -> str:
            return str(current_user.get_id())

        @app.route("/plain")
        def plain() -> str:
            return "plain"

        @app.route("/plant")
        def plant() -> str:
            session["theme"] = "dark"
            return ""

        @app.route("/note", methods=["GET", "POST"])
        def note() -> str:
            form = NoteForm()
            if form.validate_on_submit():
                flash(f"saved {form.note.data}")
                return "saved"
            return f"errors {form.errors}" if request.method == "POST" else str(form.csrf_token)

        @app.route("/flashes")
        def flashes() -> str:
            return repr(get_flashed_messages())

        return app

    yield build
    for app in apps:
        get_state(app).store.dispose()


def test_an_id_planted_before_login_is_dead_after_it(login_app: t.Callable[..., Flask]) -> None:
    app = login_app()
    planted = cookie_of(app.test_client().get("/plant"))
    assert planted
    victim = with_cookie(app, planted)
    response = victim.get("/login/ada")
    assert response.text == "load"  # the victim's session was loaded, then got a new ID
    fresh = cookie_of(response)
    assert fresh and fresh != planted
    assert victim.get("/me").text == "ada"
    attacker = with_cookie(app, planted)
    assert attacker.get("/me").text == "None"
    assert "session=" not in str(attacker.get("/me").headers.getlist("Set-Cookie"))


def test_logout_changes_the_id_too(login_app: t.Callable[..., Flask]) -> None:
    app = login_app()
    client = app.test_client()
    client.get("/plant")
    logged_in = cookie_of(client.get("/login/ada"))
    response = client.get("/logout")
    after = cookie_of(response)
    assert after and after != logged_in  # the theme stays, under a new ID
    assert client.get("/me").text == "None"
    assert with_cookie(app, logged_in).get("/me").text == "None"


def test_regenerate_on_login_can_be_turned_off(login_app: t.Callable[..., Flask]) -> None:
    app = login_app(NAMEDSESSIONS_REGENERATE_ON_LOGIN=False)
    client = app.test_client()
    planted = cookie_of(client.get("/plant"))
    assert cookie_of(client.get("/login/ada")) == planted  # modified: sent again, same ID
    assert with_cookie(app, planted).get("/me").text == "ada"


@pytest.mark.parametrize("login_first", [False, True])
def test_remember_me_hook_is_saved_whatever_the_order_of_init_app(
    login_app: t.Callable[..., Flask], login_first: bool
) -> None:
    app = login_app(login_first=login_first)
    client = app.test_client()
    response = client.get("/login/ada?remember=1")
    assert cookie_of(response, "remember_token")
    store = get_state(app).store
    with store.engine.connect() as conn:
        names = conn.execute(sa.select(store.tables.variables.c.name)).scalars().all()
    # Flask-Login's after_request hook took "_remember" out before the save
    assert sorted(names) == ["_fresh", "_id", "_user_id"]
    # the remember cookie logs in again once the session is gone
    client.delete_cookie("session")
    response = client.get("/me")
    assert response.text == "ada"
    assert cookie_of(response)  # a fresh session, new ID


def test_what_flask_login_costs_per_request(
    login_app: t.Callable[..., Flask], sql_count: t.Any
) -> None:
    app = login_app()
    client = app.test_client()
    log = sql_count(app)
    assert client.get("/me").text == "None"
    assert log.count == 0  # no cookie: current_user is anonymous without SQL
    client.get("/login/ada")
    log.reset()
    assert client.get("/me").text == "ada"
    assert log.count == 1 and len(log.reads) == 1  # _load_user: one SELECT
    log.reset()
    client.get("/plain")
    # Flask-Login's after_request hook reads "_remember" on every request
    assert log.count == 1 and len(log.reads) == 1


def test_flask_wtf_csrf_token_and_flash_live_in_the_session(
    login_app: t.Callable[..., Flask],
) -> None:
    app = login_app(csrf=True)
    client = app.test_client()
    field = client.get("/note").text
    token = field.split('value="', 1)[1].split('"', 1)[0]
    missing = client.post("/note", data={"note": "hi"})
    assert missing.status_code == 400 and "The CSRF token is missing." in missing.text
    assert client.post("/note", data={"note": "hi", "csrf_token": token}).text == "saved"
    assert client.get("/flashes").text == "['saved hi']"
    assert client.get("/flashes").text == "[]"
    # another browser has no token in its session
    other = app.test_client().post("/note", data={"note": "x", "csrf_token": token})
    assert other.status_code == 400 and "The CSRF session token is missing." in other.text


@pytest.mark.parametrize("regenerate", [True, False])
def test_a_csrf_token_seen_before_login_is_dead_after_it(
    login_app: t.Callable[..., Flask], regenerate: bool
) -> None:
    # The session's CSRF secret is replaced at login, as its ID is: whoever
    # planted the session, and took a token from it, forges no form after.
    app = login_app(csrf=True, NAMEDSESSIONS_REGENERATE_ON_LOGIN=regenerate)
    attacker = app.test_client()
    field = attacker.get("/note").text
    token = field.split('value="', 1)[1].split('"', 1)[0]
    planted = attacker.get_cookie("session")
    assert planted is not None
    victim = with_cookie(app, planted.value)
    assert victim.get("/login/ada").status_code == 200
    forged = victim.post("/note", data={"note": "x", "csrf_token": token})
    if not regenerate:  # neither the ID nor the secret changes
        assert forged.text == "saved"
        return
    assert forged.status_code == 400 and "The CSRF session token is missing." in forged.text
    own = victim.get("/note").text.split('value="', 1)[1].split('"', 1)[0]
    assert victim.post("/note", data={"note": "mine", "csrf_token": own}).text == "saved"


def test_a_login_by_remember_cookie_changes_a_planted_id(
    login_app: t.Callable[..., Flask],
) -> None:
    app = login_app()
    remembered = app.test_client()
    remembered.get("/login/ada?remember=1")
    token = remembered.get_cookie("remember_token")
    planted = cookie_of(app.test_client().get("/plant"))
    assert token is not None and planted
    victim = with_cookie(app, planted)
    victim.set_cookie("remember_token", token.value)
    response = victim.get("/me")
    assert response.text == "ada"
    assert cookie_of(response) not in (None, planted)
    assert with_cookie(app, planted).get("/me").text == "None"


def test_a_login_binds_the_session_to_the_user_and_a_logout_unbinds_it(
    login_app: t.Callable[..., Flask],
) -> None:
    app = login_app()
    client = app.test_client()
    client.get("/login/ada")
    with app.test_request_context():
        (info,) = user_sessions("ada")
    assert info.name == "main"
    client.get("/logout")
    with app.test_request_context():
        assert user_sessions("ada") == []


@pytest.mark.parametrize(("protection", "logged_out"), [("strong", True), ("basic", False)])
def test_strong_session_protection_unbinds_like_a_logout(
    login_app: t.Callable[..., Flask], protection: str, logged_out: bool
) -> None:
    # Flask-Login drops the login without its user_logged_out signal.
    app = login_app(SESSION_PROTECTION=protection)
    client = app.test_client()
    client.get("/plant")  # a key that outlives the login
    client.get("/login/ada", headers={"User-Agent": "phone"})
    before = client.get_cookie("session")
    assert before is not None
    moved = client.get("/me", headers={"User-Agent": "elsewhere"})
    assert moved.text == ("None" if logged_out else "ada")
    with app.test_request_context():
        assert len(user_sessions("ada")) == (0 if logged_out else 1)
    after = client.get_cookie("session")
    assert after is not None and (after.value != before.value) == logged_out
    assert client.get("/me", headers={"User-Agent": "phone"}).text == moved.text
    # a session nobody logged in to keeps its ID
    anonymous = app.test_client()
    anonymous.get("/plant")
    planted = anonymous.get_cookie("session")
    assert anonymous.get("/me", headers={"User-Agent": "elsewhere"}).text == "None"
    assert anonymous.get_cookie("session") == planted


@pytest.mark.parametrize("regenerate", [True, False])
def test_log_out_everywhere_ends_a_session_bound_at_login(
    login_app: t.Callable[..., Flask], regenerate: bool
) -> None:
    app = login_app(NAMEDSESSIONS_REGENERATE_ON_LOGIN=regenerate)
    phone, laptop = app.test_client(), app.test_client()
    phone.get("/login/ada")
    laptop.get("/login/ada")
    other = app.test_client()
    other.get("/login/bob")
    with app.test_request_context():
        assert len(user_sessions("ada")) == 2
        assert end_user_sessions("ada") == 2
    assert phone.get("/me").text == "None"
    assert laptop.get("/me").text == "None"
    assert other.get("/me").text == "bob"


def test_a_login_by_remember_cookie_binds_the_new_session(
    login_app: t.Callable[..., Flask],
) -> None:
    app = login_app()
    client = app.test_client()
    client.get("/login/ada?remember=1")
    client.delete_cookie("session")
    assert client.get("/me").text == "ada"
    with app.test_request_context():
        # the cookie's new session joins the one whose cookie was dropped
        assert len(user_sessions("ada")) == 2
