"""Wiring the store to a Flask-SQLAlchemy ``db``: metadata, engine, binds and
transactions kept apart from the application's own."""

from __future__ import annotations

import typing as t

import pytest
import sqlalchemy as sa
from flask import Flask
from flask import g
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from flask_namedsessions import end_user_session
from flask_namedsessions import end_user_sessions
from flask_namedsessions import NamedSessions
from flask_namedsessions import session_start
from flask_namedsessions import user_sessions
from flask_namedsessions.extension import get_state


@pytest.fixture
def db_app(database_url: str, tmp_path: t.Any) -> t.Iterator[tuple[Flask, SQLAlchemy, t.Any]]:
    class Base(DeclarativeBase):
        pass

    db = SQLAlchemy(model_class=Base)

    class Note(db.Model):  # type: ignore[name-defined,misc]
        __tablename__ = "test_notes"
        id: Mapped[int] = mapped_column(primary_key=True)
        text: Mapped[str] = mapped_column(sa.String(50))

    app = Flask(__name__, instance_path=str(tmp_path))
    app.config.update(TESTING=True, SQLALCHEMY_DATABASE_URI=database_url)
    db.init_app(app)
    NamedSessions(app, db=db)
    with app.app_context():
        db.create_all()
    yield app, db, Note
    with app.app_context():
        db.session.remove()
        Note.__table__.drop(db.engine)
        db.engine.dispose()


def test_tables_join_the_db_metadata(db_app: tuple[Flask, SQLAlchemy, t.Any]) -> None:
    app, db, _ = db_app
    assert {"namedsessions_sessions", "namedsessions_variables"} <= set(db.metadata.tables)
    with app.app_context():
        assert get_state(app).store.engine is db.engine


def test_save_neither_commits_nor_rolls_back_app_work(
    db_app: tuple[Flask, SQLAlchemy, t.Any],
) -> None:
    app, db, note = db_app
    seen: dict[str, t.Any] = {}

    @app.route("/pending")
    def pending() -> str:
        db.session.add(note(text="pending"))
        session_start("cart")["n"] = 1
        return ""

    @app.route("/read")
    def read() -> str:
        session_start("cart")
        return str(g.n)

    @app.teardown_request
    def inspect(_exc: t.Any) -> None:
        # After the extension saved: the app's work is still pending.
        seen.setdefault("pending", [o.text for o in db.session.new])
        db.session.rollback()

    client = app.test_client()
    client.get("/pending")
    assert seen == {"pending": ["pending"]}
    with app.app_context():
        assert db.session.query(note).count() == 0  # the app rolled back its work
    assert client.get("/read").text == "1"  # the session survived the app rollback


def test_app_commit_and_session_save_are_independent(
    db_app: tuple[Flask, SQLAlchemy, t.Any],
) -> None:
    app, db, note = db_app

    @app.route("/both")
    def both() -> str:
        session_start("cart")["n"] = 5
        db.session.add(note(text="kept"))
        db.session.commit()
        return ""

    @app.route("/read")
    def read() -> str:
        session_start("cart")
        return str(g.n)

    client = app.test_client()
    client.get("/both")
    with app.app_context():
        assert db.session.query(note).count() == 1
    assert client.get("/read").text == "5"


def test_ending_a_users_sessions_leaves_no_variables(
    db_app: tuple[Flask, SQLAlchemy, t.Any],
) -> None:
    # On SQLite, Flask-SQLAlchemy's engine runs with foreign keys off: the
    # variables cannot go by the cascade.
    app, db, _ = db_app

    @app.route("/login")
    def login() -> str:
        s = session_start("cart")
        s["a"], s["b"] = 1, 2
        s.bind_user("ada")
        return ""

    for _ in range(3):
        app.test_client().get("/login")
    variables = get_state(app).store.tables.variables
    with app.app_context():
        handle = user_sessions("ada")[0].handle
        assert end_user_session("ada", handle) is True
        with db.engine.connect() as conn:
            assert len(conn.execute(sa.select(variables)).all()) == 4
        assert end_user_sessions("ada") == 2
        with db.engine.connect() as conn:
            assert conn.execute(sa.select(variables)).all() == []


def test_repeated_init_app_reuses_tables(database_url: str, tmp_path: t.Any) -> None:
    db = SQLAlchemy()
    extension = NamedSessions()
    tables = []
    for i in range(2):
        app = Flask(f"app{i}", instance_path=str(tmp_path))
        app.config["SQLALCHEMY_DATABASE_URI"] = database_url
        db.init_app(app)
        extension.init_app(app, db=db)
        tables.append(get_state(app).store.tables.sessions)
        with app.app_context():
            db.engine.dispose()
    assert tables[0] is tables[1]


def test_bind_key_and_table_prefix(database_url: str, tmp_path: t.Any) -> None:
    db = SQLAlchemy()
    app = Flask(__name__, instance_path=str(tmp_path))
    app.config.update(
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'main.sqlite3'}",
        SQLALCHEMY_BINDS={"sessions": database_url},
        NAMEDSESSIONS_BIND_KEY="sessions",
        NAMEDSESSIONS_TABLE_PREFIX="bound_",
    )
    db.init_app(app)
    NamedSessions(app, db=db)
    assert "bound_sessions" in db.metadatas["sessions"].tables
    assert "bound_sessions" not in db.metadata.tables

    @app.route("/")
    def index() -> str:
        s = session_start("cart")
        s["n"] = (s.get("n") or 0) + 1
        return str(g.n)

    client = app.test_client()
    try:
        assert client.get("/").text == "1"
        assert client.get("/").text == "2"
        with app.app_context():
            engine = db.engines["sessions"]
            assert get_state(app).store.engine is engine
            assert sa.inspect(engine).has_table("bound_variables")
    finally:
        with app.app_context():
            db.metadatas["sessions"].drop_all(db.engines["sessions"])
            for engine in db.engines.values():
                engine.dispose()


def test_unknown_bind_key_is_a_clear_error(tmp_path: t.Any) -> None:
    db = SQLAlchemy()
    app = Flask(__name__, instance_path=str(tmp_path))
    app.config.update(
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'main.sqlite3'}",
        NAMEDSESSIONS_BIND_KEY="sessions",
    )
    db.init_app(app)
    with pytest.raises(RuntimeError) as info:
        NamedSessions(app, db=db)
    assert str(info.value) == (
        "NAMEDSESSIONS_BIND_KEY is 'sessions', but the Flask-SQLAlchemy instance has no"
        " such bind: add it to SQLALCHEMY_BINDS and call db.init_app(app) before init_app"
        " of flask-namedsessions"
    )
    assert "namedsessions" not in app.extensions
