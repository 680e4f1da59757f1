"""``flask namedsessions import-flask-session`` against the real Flask-Session
0.8 SQLAlchemy backend: a visitor logged in under Flask-Session is still
logged in, with the same cookie, once the app runs on flask-namedsessions."""

from __future__ import annotations

import datetime
import pickle
import typing as t

import pytest
import sqlalchemy as sa
from flask import Flask
from flask import session
from flask_login import current_user
from flask_login import login_user
from flask_login import LoginManager
from flask_login import UserMixin
from flask_session import Session
from flask_sqlalchemy import SQLAlchemy

from flask_namedsessions import end_user_sessions
from flask_namedsessions import NamedSessions
from flask_namedsessions import user_sessions
from flask_namedsessions.extension import get_state

# Flask-Session 0.8 itself calls datetime.utcnow(), deprecated on Python 3.12.
pytestmark = pytest.mark.filterwarnings("ignore:datetime.datetime.utcnow:DeprecationWarning")


class User(UserMixin):
    def __init__(self, user_id: str) -> None:
        self.id = user_id


def routes(app: Flask) -> None:
    manager = LoginManager(app)
    manager.user_loader(User)

    @app.route("/login/<user_id>")
    def login(user_id: str) -> str:
        login_user(User(user_id))
        session["cart"] = ["apple", {"qty": 2}]
        return "in"

    @app.route("/me")
    def me() -> str:
        return f"{current_user.get_id()} {session.get('cart')} {session.permanent}"


@pytest.fixture
def apps(database_url: str, tmp_path: t.Any, clock: t.Any) -> t.Iterator[t.Callable[..., Flask]]:
    """``apps("flask-session", **config)`` or ``apps("namedsessions", **config)``,
    both on ``database_url``; Flask-Session's table is dropped afterwards."""
    made: list[tuple[Flask, SQLAlchemy]] = []

    def build(kind: str, **config: t.Any) -> Flask:
        app = Flask(__name__, instance_path=str(tmp_path / "instance"))
        app.config.update(TESTING=True, SECRET_KEY="test", SQLALCHEMY_DATABASE_URI=database_url)
        app.config.update(config)
        db = SQLAlchemy()
        db.init_app(app)
        if kind == "flask-session":
            app.config.update(SESSION_TYPE="sqlalchemy", SESSION_SQLALCHEMY=db)
            Session(app)
        else:
            app.config.setdefault("NAMEDSESSIONS_FLASK_SESSION", "main")
            app.config.setdefault("NAMEDSESSIONS_CREATE_TABLES", True)
            NamedSessions(app, db=db)
            get_state(app).clock = clock
        routes(app)
        made.append((app, db))
        return app

    yield build
    for app, db in made:
        with app.app_context():
            if app.extensions.get("namedsessions"):
                get_state(app).store.dispose()
            with db.engine.begin() as conn:
                conn.execute(sa.text("DROP TABLE IF EXISTS sessions"))
            db.engine.dispose()


def flask_session_table(app: Flask) -> tuple[sa.Engine, sa.Table]:
    with app.app_context():
        db = app.extensions["sqlalchemy"]
        return db.engine, sa.Table("sessions", sa.MetaData(), autoload_with=db.engine)


def add_row(app: Flask, session_id: str, data: bytes, expiry: datetime.datetime) -> None:
    engine, table = flask_session_table(app)
    with engine.begin() as conn:
        conn.execute(table.insert().values(session_id=session_id, data=data, expiry=expiry))


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def run_import(app: Flask, *args: str) -> str:
    result = app.test_cli_runner().invoke(args=["namedsessions", "import-flask-session", *args])
    assert result.exit_code == 0, result.output
    return t.cast(str, result.output)


@pytest.mark.parametrize("serialization", ["msgpack", "json"])
def test_a_visitor_logged_in_under_flask_session_stays_logged_in(
    apps: t.Callable[..., Flask], serialization: str
) -> None:
    before = apps("flask-session", SESSION_SERIALIZATION_FORMAT=serialization)
    client = before.test_client()
    assert client.get("/login/ada").text == "in"
    assert client.get("/me").text == "ada ['apple', {'qty': 2}] True"
    cookie = client.get_cookie("session")
    assert cookie is not None

    after = apps("namedsessions")
    assert run_import(after) == (
        "Skipped 0 expired, 0 unreadable and 0 already present.\nImported 1 sessions.\n"
    )
    same = after.test_client()
    same.set_cookie("session", cookie.value)
    assert same.get("/me").text == "ada ['apple', {'qty': 2}] True"


def test_an_imported_login_ends_with_log_out_everywhere(apps: t.Callable[..., Flask]) -> None:
    before = apps("flask-session", SESSION_SERIALIZATION_FORMAT="json")
    client = before.test_client()
    client.get("/login/ada")
    cookie = client.get_cookie("session")
    assert cookie is not None
    soon = utcnow() + datetime.timedelta(hours=1)
    # a user ID no login could bind is imported, unbound
    add_row(before, "session:" + "l" * 43, b'{"_user_id": ["ada"], "cart": 1}', soon)
    add_row(before, "session:" + "t" * 43, b'{"_user_id": "' + b"a" * 256 + b'"}', soon)

    after = apps("namedsessions")
    assert run_import(after).endswith("Imported 3 sessions.\n")
    with after.app_context():
        assert [info.name for info in user_sessions("ada")] == ["main"]
        assert end_user_sessions("ada") == 1
    same = after.test_client()
    same.set_cookie("session", cookie.value)
    assert same.get("/me").text == "None None False"


def test_expired_undecodable_and_present_rows_are_reported_and_skipped(
    apps: t.Callable[..., Flask], sql_count: t.Any
) -> None:
    before = apps("flask-session", SESSION_SERIALIZATION_FORMAT="json")
    before.test_client().get("/login/ada")
    soon = utcnow() + datetime.timedelta(hours=1)
    add_row(before, "session:" + "e" * 43, b'{"a":1}', utcnow() - datetime.timedelta(seconds=1))
    add_row(before, "session:" + "p" * 43, pickle.dumps({"a": 1}), soon)
    add_row(before, "session:" + "n" * 43, b"[1, 2]", soon)
    add_row(before, "session:bad id!", b'{"a":1}', soon)
    add_row(before, "session:" + "k" * 43, b'{"_permanent": true}', soon)
    add_row(before, "other:" + "o" * 43, b'{"a":1}', soon)
    engine, table = flask_session_table(before)
    with engine.connect() as conn:
        ids = dict(conn.execute(sa.select(table.c.session_id, table.c.id)).all())

    after = apps("namedsessions")
    log = sql_count(after)
    dry = run_import(after, "--dry-run")
    assert log.writes == []
    expected = [
        f"Skipped row {ids['session:' + 'p' * 43]}: its data is neither msgpack nor JSON"
        " (pickled data is never read).",
        f"Skipped row {ids['session:' + 'n' * 43]}: its data is not a dict.",
        f"Skipped row {ids['session:bad id!']}: its session ID is not one"
        " flask-namedsessions can take.",
        f"Skipped row {ids['session:' + 'k' * 43]}: it holds nothing.",
        "Skipped 1 expired, 4 unreadable and 0 already present.",
    ]
    assert dry.splitlines() == [*expected, "Would import 1 sessions."]
    assert run_import(after).splitlines() == [*expected, "Imported 1 sessions."]
    again = run_import(after).splitlines()
    assert again[-2:] == [
        "Skipped 1 expired, 4 unreadable and 1 already present.",
        "Imported 0 sessions.",
    ]
    # the session ID never shows in the report
    assert "e" * 43 not in "\n".join(again) and "p" * 43 not in "\n".join(again)


def test_a_row_whose_expiry_is_not_a_time_is_reported(apps: t.Callable[..., Flask]) -> None:
    before = apps("flask-session", SESSION_SERIALIZATION_FORMAT="json")
    add_row(before, "session:" + "g" * 43, b'{"a": 1}', utcnow() + datetime.timedelta(hours=1))
    engine, _ = flask_session_table(before)
    # SQLite keeps the expiry as text, which anything may have written; the
    # other databases hold a time or nothing
    hostile = "a time, honestly" if engine.dialect.name == "sqlite" else None
    insert = sa.text(
        "INSERT INTO sessions (session_id, data, expiry) VALUES (:sid, :data, :expiry)"
    )
    with engine.begin() as conn:
        conn.execute(insert, {"sid": "session:" + "x" * 43, "data": b'{"a": 1}', "expiry": hostile})
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT MAX(id) FROM sessions")).scalar()

    after = apps("namedsessions")
    if hostile is None:
        expected = ["Skipped 1 expired, 0 unreadable and 0 already present."]
    else:
        expected = [
            f"Skipped row {row}: its expiry is not a time.",
            "Skipped 0 expired, 1 unreadable and 0 already present.",
        ]
    assert run_import(after).splitlines() == [*expected, "Imported 1 sessions."]


def test_timeouts_follow_permanence_and_never_outlive_the_old_expiry(
    apps: t.Callable[..., Flask], clock: t.Any
) -> None:
    before = apps("flask-session", SESSION_SERIALIZATION_FORMAT="json")
    soon = utcnow() + datetime.timedelta(minutes=10)
    later = utcnow() + datetime.timedelta(days=20)
    add_row(before, "session:" + "a" * 43, b'{"_permanent": true, "cart": "soon"}', soon)
    add_row(before, "session:" + "b" * 43, b'{"_permanent": true, "cart": "later"}', later)
    add_row(before, "session:" + "c" * 43, b'{"_permanent": false, "cart": "browser"}', later)

    after = apps("namedsessions", NAMEDSESSIONS_EXPIRES=30)
    assert run_import(after).endswith("Imported 3 sessions.\n")

    def me(letter: str) -> str:
        client = after.test_client()
        client.set_cookie("session", letter * 43)
        return client.get("/me").text

    clock.advance(11 * 60)  # past the first row's old expiry
    assert me("a") == "None None False"
    assert me("b") == "None later True"
    assert me("c") == "None browser False"
    clock.advance(31 * 60)  # the non-permanent one idles out after NAMEDSESSIONS_EXPIRES
    assert me("c") == "None None False"
    assert me("b") == "None later True"


def test_import_needs_the_flask_session_name(apps: t.Callable[..., Flask]) -> None:
    app = apps("namedsessions", NAMEDSESSIONS_FLASK_SESSION=None)
    result = app.test_cli_runner().invoke(args=["namedsessions", "import-flask-session"])
    assert result.exit_code == 1
    assert result.output == (
        "Error: set NAMEDSESSIONS_FLASK_SESSION to the session that serves flask.session first\n"
    )


def test_a_missing_table_is_an_error_naming_it(apps: t.Callable[..., Flask]) -> None:
    app = apps("namedsessions")
    result = app.test_cli_runner().invoke(
        args=["namedsessions", "import-flask-session", "--table", "nothing_here"]
    )
    assert result.exit_code == 1
    assert result.output.startswith("Error: reading table 'nothing_here' failed: ")
