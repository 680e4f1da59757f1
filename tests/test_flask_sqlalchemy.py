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
from flask_namedsessions import session_delete_expired
from flask_namedsessions import session_end
from flask_namedsessions import session_start
from flask_namedsessions import SessionStoreError
from flask_namedsessions import user_sessions
from flask_namedsessions.extension import get_state
from tests.conftest import Clock


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
    # the application's commits are its own: no watchdog cancels them
    assert get_state(app).store.engines.watchdog is None


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


def test_session_sql_on_the_apps_engine_keeps_its_budget(
    db_app: tuple[Flask, SQLAlchemy, t.Any], sql_count: t.Callable[[Flask], t.Any]
) -> None:
    """The store reads and writes on connections of its own, and the
    application's engine events (statement logs, tracing) still see them."""
    app, _, _ = db_app

    @app.route("/set")
    def set_() -> str:
        session_start("cart").update({f"v{i}": i for i in range(10)})
        return ""

    @app.route("/read")
    def read() -> str:
        session_start("cart")
        return str(g.v3)

    @app.route("/change")
    def change() -> str:
        session_start("cart")
        g.v3 = "changed"
        return ""

    client = app.test_client()
    client.get("/set")
    log = sql_count(app)
    assert client.get("/read").text == "3"
    assert (len(log.reads), log.writes) == (1, [])
    log.reset()
    client.get("/change")
    assert (len(log.reads), len(log.writes)) == (1, 1)
    assert client.get("/read").text == "changed"


def test_the_apps_connections_keep_their_isolation(
    db_app: tuple[Flask, SQLAlchemy, t.Any],
) -> None:
    app, db, note = db_app

    @app.route("/")
    def count() -> str:
        s = session_start("cart")
        s["n"] = s.get("n", 0) + 1
        db.session.add(note(text="never committed"))
        db.session.flush()
        db.session.rollback()
        return str(s["n"])

    client = app.test_client()
    assert [client.get("/").text for _ in range(3)] == ["1", "2", "3"]
    with app.app_context():
        assert db.session.query(note).count() == 0
        with db.engine.connect() as conn:
            assert conn.get_isolation_level() == conn.default_isolation_level


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


def variable_rows(app: Flask, db: SQLAlchemy) -> list[tuple[str, str]]:
    """Every stored variable as (its session's row, its name)."""
    variables = get_state(app).store.tables.variables
    with app.app_context(), db.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            # the case these tests are about: deletes do not cascade here
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 0
        rows = conn.execute(sa.select(variables.c.row_id, variables.c.name)).all()
    return sorted((row_id, name) for row_id, name in rows)


def carts(app: Flask, clock: Clock) -> Flask:
    """Routes that fill, visit and end a "cart" session on the app's clock."""
    get_state(app).clock = clock

    @app.route("/fill/<int:minutes>")
    def fill(minutes: int) -> str:
        s = session_start("cart", expires=minutes)
        s["a"], s["b"] = 1, 2
        return s.result

    @app.route("/visit")
    def visit() -> str:
        s = session_start("cart")
        s["c"] = 3
        return s.result

    @app.route("/end")
    def end() -> str:
        s = session_start("cart")
        session_end("cart")
        return s.result

    return app


def test_session_end_leaves_no_variables(
    db_app: tuple[Flask, SQLAlchemy, t.Any], clock: Clock
) -> None:
    app, db, _ = db_app
    carts(app, clock)
    ended, kept = app.test_client(), app.test_client()
    ended.get("/fill/10")
    kept.get("/fill/10")
    assert len(variable_rows(app, db)) == 4
    assert ended.get("/end").text == "load"
    rows = variable_rows(app, db)
    assert [name for _, name in rows] == ["a", "b"]  # the other session's, nothing else
    assert kept.get("/visit").text == "load"


def test_ending_a_session_that_expired_leaves_no_variables(
    db_app: tuple[Flask, SQLAlchemy, t.Any], clock: Clock
) -> None:
    app, db, _ = db_app
    carts(app, clock)
    client = app.test_client()
    client.get("/fill/1")
    clock.advance(120)
    assert client.get("/end").text == "expire"
    assert variable_rows(app, db) == []


def test_deleting_expired_sessions_leaves_no_variables(
    db_app: tuple[Flask, SQLAlchemy, t.Any], clock: Clock
) -> None:
    app, db, _ = db_app
    carts(app, clock)
    app.test_client().get("/fill/1")
    app.test_client().get("/fill/1")
    live = app.test_client()
    live.get("/fill/10")
    clock.advance(120)
    with app.app_context():
        assert session_delete_expired() == 2
    assert [name for _, name in variable_rows(app, db)] == ["a", "b"]
    assert live.get("/visit").text == "load"


def test_expired_session_replaced_leaves_no_variables(
    db_app: tuple[Flask, SQLAlchemy, t.Any], clock: Clock
) -> None:
    app, db, _ = db_app
    carts(app, clock)
    client = app.test_client()
    client.get("/fill/1")
    (old_row, _), _ = variable_rows(app, db)
    clock.advance(120)
    assert client.get("/visit").text == "expire"
    rows = variable_rows(app, db)
    assert [name for _, name in rows] == ["c"]  # the new session's only
    assert rows[0][0] != old_row
    assert client.get("/visit").text == "load"


def test_expired_session_touched_meanwhile_keeps_its_variables(
    db_app: tuple[Flask, SQLAlchemy, t.Any], clock: Clock
) -> None:
    app, db, _ = db_app
    carts(app, clock)
    sessions = get_state(app).store.tables.sessions

    @app.route("/late")
    def late() -> str:
        result = session_start("cart").result
        # another node, its clock behind, touches the session while this
        # request replaces it as expired
        with db.engine.begin() as conn:
            conn.execute(sa.update(sessions).values(expires_at=2**52))
        return result

    client = app.test_client()
    client.get("/fill/1")
    clock.advance(120)
    assert client.get("/late").text == "expire"
    assert [name for _, name in variable_rows(app, db)] == ["a", "b"]


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
        NAMEDSESSIONS_CREATE_TABLES=True,
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


SHARED_CONNECTION = (
    ", whose one connection the sessions would share with the application: saving a"
    " session would commit the application's unfinished work. Give the sessions their"
    " own NAMEDSESSIONS_DATABASE_URI (an SQLite file, for example)"
)


def _app_with_db(tmp_path: t.Any, **config: t.Any) -> tuple[Flask, SQLAlchemy]:
    db = SQLAlchemy()
    app = Flask(__name__, instance_path=str(tmp_path / "instance"))
    app.config.update(TESTING=True, **config)
    db.init_app(app)
    return app, db


@pytest.mark.parametrize(
    "uri",
    [
        "sqlite://",
        "sqlite:///:memory:",
        "sqlite+pysqlite:///:memory:",
        "sqlite:///file::memory:?uri=true",
        "sqlite:///file:memdb?mode=memory&cache=shared&uri=true",
    ],
)
# SQLAlchemy says it will stop choosing a pool from mode=memory.
@pytest.mark.filterwarnings("ignore:Selection of the SingletonThreadPool")
def test_in_memory_sqlite_of_the_app_is_refused(tmp_path: t.Any, uri: str) -> None:
    app, db = _app_with_db(tmp_path, SQLALCHEMY_DATABASE_URI=uri)
    with pytest.raises(RuntimeError) as info:
        NamedSessions(app, db)
    assert str(info.value) == (
        "SQLALCHEMY_DATABASE_URI is an in-memory SQLite database" + SHARED_CONNECTION
    )
    assert "namedsessions" not in app.extensions
    with app.app_context():
        db.engine.dispose()


@pytest.mark.parametrize(
    "uri", ["postgresql+psycopg://postgres@db.invalid", "mysql+pymysql://root@db.invalid"]
)
def test_server_database_without_a_name_is_not_taken_for_memory(tmp_path: t.Any, uri: str) -> None:
    app, db = _app_with_db(tmp_path, SQLALCHEMY_DATABASE_URI=uri)
    NamedSessions(app, db)  # nothing connects yet
    assert "namedsessions" in app.extensions
    with app.app_context():
        db.engine.dispose()


def test_in_memory_bind_is_refused(tmp_path: t.Any) -> None:
    app, db = _app_with_db(
        tmp_path,
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'app.sqlite3'}",
        SQLALCHEMY_BINDS={"sessions": "sqlite://"},
        NAMEDSESSIONS_BIND_KEY="sessions",
    )
    with pytest.raises(RuntimeError) as info:
        NamedSessions(app, db)
    assert str(info.value) == (
        "SQLALCHEMY_BINDS['sessions'] is an in-memory SQLite database" + SHARED_CONNECTION
    )


def test_engine_with_one_shared_connection_is_refused(tmp_path: t.Any) -> None:
    app, db = _app_with_db(
        tmp_path,
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'app.sqlite3'}",
        SQLALCHEMY_ENGINE_OPTIONS={"poolclass": sa.pool.StaticPool},
    )
    with pytest.raises(RuntimeError) as info:
        NamedSessions(app, db)
    assert str(info.value) == "SQLALCHEMY_DATABASE_URI uses StaticPool" + SHARED_CONNECTION
    with app.app_context():
        db.engine.dispose()


@pytest.mark.parametrize(
    "app_uri",
    [
        # the usual test setup: the sessions get a file of their own
        "sqlite://",
        # a file database, in both spellings, is shared as it is
        "sqlite:///{tmp}/app.sqlite3",
        "sqlite:///file:{tmp}/app.sqlite3?uri=true",
    ],
)
def test_pending_app_work_is_not_committed_by_a_save(tmp_path: t.Any, app_uri: str) -> None:
    own = (
        {}
        if app_uri != "sqlite://"
        else {"NAMEDSESSIONS_DATABASE_URI": f"sqlite:///{tmp_path / 'sessions.sqlite3'}"}
    )
    app, db = _app_with_db(
        tmp_path,
        SQLALCHEMY_DATABASE_URI=app_uri.format(tmp=tmp_path),
        NAMEDSESSIONS_CREATE_TABLES=True,
        **own,
    )

    class Note(db.Model):  # type: ignore[name-defined,misc]
        __tablename__ = "notes"
        id: Mapped[int] = mapped_column(primary_key=True)

    NamedSessions(app, db)
    with app.app_context():
        db.create_all()

    @app.route("/")
    def index() -> str:
        db.session.add(Note())
        if own:
            # Written, not committed. On a shared SQLite file this would hold
            # the database's one write lock past the save (see guarantees).
            db.session.flush()
        session = session_start("cart")
        session["n"] = (session.get("n") or 0) + 1
        return str(g.n)

    @app.teardown_request
    def roll_back(_exc: t.Any) -> None:
        db.session.rollback()

    client = app.test_client()
    try:
        assert client.get("/").text == "1"
        assert client.get("/").text == "2"
        with app.app_context():
            assert db.session.query(Note).count() == 0
            own_tables = "namedsessions_sessions" not in db.metadata.tables
            assert own_tables is bool(own)
    finally:
        get_state(app).store.dispose()
        with app.app_context():
            db.engine.dispose()


def test_db_must_be_set_up_on_the_app_first(tmp_path: t.Any) -> None:
    db = SQLAlchemy()
    app = Flask(__name__, instance_path=str(tmp_path))
    app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path / 'app.sqlite3'}"
    with pytest.raises(RuntimeError) as info:
        NamedSessions(app, db)
    assert str(info.value) == (
        "the Flask-SQLAlchemy db given to flask-namedsessions is not set up on this app:"
        " call db.init_app(app) before init_app of flask-namedsessions"
    )


def test_engine_options_with_the_apps_engine_are_an_error(tmp_path: t.Any) -> None:
    app, db = _app_with_db(
        tmp_path,
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'app.sqlite3'}",
        NAMEDSESSIONS_ENGINE_OPTIONS={"pool_size": 3},
    )
    with pytest.raises(ValueError) as info:
        NamedSessions(app, db)
    assert str(info.value) == (
        "NAMEDSESSIONS_ENGINE_OPTIONS applies only to the extension's own engine, but the"
        " sessions use Flask-SQLAlchemy's: set SQLALCHEMY_ENGINE_OPTIONS (or"
        " SQLALCHEMY_BINDS) instead, or give the sessions their own"
        " NAMEDSESSIONS_DATABASE_URI"
    )
    with app.app_context():
        db.engine.dispose()


def test_database_uri_and_bind_key_together_are_an_error(tmp_path: t.Any) -> None:
    app, db = _app_with_db(
        tmp_path,
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'app.sqlite3'}",
        SQLALCHEMY_BINDS={"sessions": f"sqlite:///{tmp_path / 'b.sqlite3'}"},
        NAMEDSESSIONS_BIND_KEY="sessions",
        NAMEDSESSIONS_DATABASE_URI=f"sqlite:///{tmp_path / 'own.sqlite3'}",
    )
    with pytest.raises(ValueError) as info:
        NamedSessions(app, db)
    assert str(info.value) == (
        "NAMEDSESSIONS_DATABASE_URI and NAMEDSESSIONS_BIND_KEY are both set: the URI"
        " gives the sessions a database of their own, the bind key one of"
        " Flask-SQLAlchemy's; set only one"
    )
    with app.app_context():
        for engine in db.engines.values():
            engine.dispose()


def test_missing_tables_with_db_name_the_table_and_the_fix(
    database_url: str, tmp_path: t.Any
) -> None:
    """With db, migrations own the schema: nothing creates the tables but
    the commands, and the error says which table is missing and how to fix it."""
    app, db = _app_with_db(
        tmp_path, SQLALCHEMY_DATABASE_URI=database_url, NAMEDSESSIONS_TABLE_PREFIX="mt_"
    )
    NamedSessions(app, db)

    @app.route("/")
    def index() -> str:
        session_start("cart")["n"] = 1
        return "saved"

    runner = app.test_cli_runner()
    fix = (
        " does not exist; create the session tables with 'flask db upgrade'"
        " (Flask-Migrate) or 'flask namedsessions create-tables'"
    )
    try:
        with pytest.raises(SessionStoreError) as info:
            app.test_client().get("/")
        assert str(info.value) == "saving session 'cart' failed: the table 'mt_sessions'" + fix
        stats = runner.invoke(args=["namedsessions", "stats"])
        assert (stats.exit_code, stats.output) == (
            1,
            "Error: reading session statistics failed: the table 'mt_sessions'" + fix + "\n",
        )
        with app.app_context():
            assert not sa.inspect(db.engine).has_table("mt_sessions")
        assert runner.invoke(args=["namedsessions", "create-tables"]).exit_code == 0
        assert app.test_client().get("/").text == "saved"
    finally:
        with app.app_context():
            get_state(app).store.tables.sessions.metadata.drop_all(
                db.engine,
                tables=[db.metadata.tables["mt_variables"], db.metadata.tables["mt_sessions"]],
            )
            db.engine.dispose()
