"""init_app: defaults, checks, registration."""

from __future__ import annotations

import sys
import typing as t

import pytest
import sqlalchemy as sa
from flask import Flask

from flask_namedsessions import NamedSessions
from flask_namedsessions import session_start
from flask_namedsessions.config import DEFAULTS
from flask_namedsessions.extension import get_state


def test_defaults_are_applied_without_overriding(tmp_path: t.Any) -> None:
    app = Flask(__name__, instance_path=str(tmp_path))
    app.config["NAMEDSESSIONS_EXPIRES"] = 30
    NamedSessions(app)
    assert app.config["NAMEDSESSIONS_EXPIRES"] == 30
    for key, value in DEFAULTS.items():
        if key != "NAMEDSESSIONS_EXPIRES":
            assert app.config[key] == value
    assert get_state(app).settings.expires == 30.0


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        (
            "NAMEDSESSIONS_EXPIRES",
            0,
            "NAMEDSESSIONS_EXPIRES must be a positive number up to 100,000,000, got 0",
        ),
        ("NAMEDSESSIONS_EXPIRES", float("inf"), "NAMEDSESSIONS_EXPIRES must be a positive"),
        ("NAMEDSESSIONS_ROTATE_GRACE", 1e300, "NAMEDSESSIONS_ROTATE_GRACE must be a number >= 0"),
        ("NAMEDSESSIONS_EXPIRES", "15", "NAMEDSESSIONS_EXPIRES must be a positive number"),
        ("NAMEDSESSIONS_DEFAULT_TRACKING", "url", "NAMEDSESSIONS_DEFAULT_TRACKING must be one of"),
        (
            "NAMEDSESSIONS_COOKIE_SAMESITE",
            "Laxx",
            "NAMEDSESSIONS_COOKIE_SAMESITE must be 'Lax', 'Strict', 'None' (in any case)"
            " or None, got 'Laxx'",
        ),
        ("NAMEDSESSIONS_COOKIE_HTTPONLY", 1, "NAMEDSESSIONS_COOKIE_HTTPONLY must be True or False"),
        ("NAMEDSESSIONS_GC_PROBABILITY", 2, "NAMEDSESSIONS_GC_PROBABILITY must be between"),
        ("NAMEDSESSIONS_LINK_HOSTS", "a.com", "NAMEDSESSIONS_LINK_HOSTS must be a list"),
        ("NAMEDSESSIONS_LINK_HOSTS", 5, "NAMEDSESSIONS_LINK_HOSTS must be a list"),
        ("NAMEDSESSIONS_LINK_HOSTS", None, "NAMEDSESSIONS_LINK_HOSTS must be a list"),
        ("NAMEDSESSIONS_TABLE_PREFIX", "x-y", "NAMEDSESSIONS_TABLE_PREFIX must be a string"),
        ("NAMEDSESSIONS_MAX_VARS", 0, "NAMEDSESSIONS_MAX_VARS must be a positive integer"),
        (
            "NAMEDSESSIONS_RECORD_IP",
            "partial",
            "NAMEDSESSIONS_RECORD_IP must be one of None, 'full', 'truncated', got 'partial'",
        ),
        (
            "NAMEDSESSIONS_RECORD_USER_AGENT",
            "yes",
            "NAMEDSESSIONS_RECORD_USER_AGENT must be True or False, got 'yes'",
        ),
        (
            "NAMEDSESSIONS_RETRY_ATTEMPTS",
            0,
            "NAMEDSESSIONS_RETRY_ATTEMPTS must be a positive integer, got 0",
        ),
        ("NAMEDSESSIONS_RETRY_BACKOFF", -1, "NAMEDSESSIONS_RETRY_BACKOFF must be a number >= 0"),
        ("NAMEDSESSIONS_RETRY_LIMIT", "2", "NAMEDSESSIONS_RETRY_LIMIT must be a number >= 0"),
        (
            "NAMEDSESSIONS_STATEMENT_TIMEOUT",
            -5,
            "NAMEDSESSIONS_STATEMENT_TIMEOUT must be a number >= 0",
        ),
        ("NAMEDSESSIONS_CLEANUP_PAUSE", None, "NAMEDSESSIONS_CLEANUP_PAUSE must be a number >= 0"),
        (
            "NAMEDSESSIONS_GALERA_CAUSAL_READS",
            "on",
            "NAMEDSESSIONS_GALERA_CAUSAL_READS must be True or False, got 'on'",
        ),
    ],
)
def test_bad_config_value_names_the_key(
    tmp_path: t.Any, key: str, value: t.Any, message: str
) -> None:
    app = Flask(__name__, instance_path=str(tmp_path))
    app.config[key] = value
    with pytest.raises(ValueError) as info:
        NamedSessions(app)
    assert str(info.value).startswith(message)


@pytest.mark.parametrize(
    ("key", "value", "attribute", "expected"),
    [
        ("NAMEDSESSIONS_MAX_VARS", 1, "max_vars", 1),
        ("NAMEDSESSIONS_MAX_VALUE_BYTES", 1, "max_value_bytes", 1),
        ("NAMEDSESSIONS_GC_BATCH_SIZE", 1, "gc_batch_size", 1),
        ("NAMEDSESSIONS_MAX_PARAM_BODY", 0, "max_param_body", 0),
        ("NAMEDSESSIONS_EXPIRES", 100_000_000, "expires", 100_000_000.0),
        ("NAMEDSESSIONS_EXPIRES", 0.001, "expires", 0.001),
        ("NAMEDSESSIONS_ROTATE_GRACE", 0, "rotate_grace", 0.0),
        ("NAMEDSESSIONS_TOUCH_INTERVAL", 0, "touch_interval", 0.0),
        ("NAMEDSESSIONS_GC_PROBABILITY", 1, "gc_probability", 1.0),
        ("NAMEDSESSIONS_GC_PROBABILITY", 0, "gc_probability", 0.0),
    ],
)
def test_config_value_at_the_edge_of_its_range_is_accepted(
    tmp_path: t.Any, key: str, value: t.Any, attribute: str, expected: t.Any
) -> None:
    app = Flask(__name__, instance_path=str(tmp_path))
    app.config[key] = value
    NamedSessions(app)
    assert getattr(get_state(app).settings, attribute) == expected


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("NAMEDSESSIONS_MAX_PARAM_BODY", -1, "an integer >= 0"),
        ("NAMEDSESSIONS_GC_BATCH_SIZE", True, "a positive integer"),
        ("NAMEDSESSIONS_EXPIRES", 100_000_001, "a positive number up to 100,000,000"),
        ("NAMEDSESSIONS_ROTATE_GRACE", -0.5, "a number >= 0 up to 100,000,000"),
        ("NAMEDSESSIONS_GC_PROBABILITY", 1.01, "between 0.0 and 1.0"),
    ],
)
def test_config_value_just_outside_its_range_is_refused(
    tmp_path: t.Any, key: str, value: t.Any, message: str
) -> None:
    app = Flask(__name__, instance_path=str(tmp_path))
    app.config[key] = value
    with pytest.raises(ValueError) as info:
        NamedSessions(app)
    assert str(info.value) == f"{key} must be {message}, got {value!r}"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("NAMEDSESSIONS_COOKIE_PATH", 5),
        ("NAMEDSESSIONS_COOKIE_DOMAIN", 5),
        ("NAMEDSESSIONS_COOKIE_SECURE", "yes"),
    ],
)
def test_cookie_keys_are_checked_even_under_host_prefix(
    tmp_path: t.Any, key: str, value: t.Any
) -> None:
    app = Flask(__name__, instance_path=str(tmp_path))
    app.config["NAMEDSESSIONS_COOKIE_PREFIX"] = "__Host-"
    app.config[key] = value
    with pytest.raises(ValueError, match=f"^{key} must be"):
        NamedSessions(app)


def test_second_init_app_on_one_app_raises(tmp_path: t.Any) -> None:
    app = Flask(__name__, instance_path=str(tmp_path))
    extension = NamedSessions(app)
    with pytest.raises(RuntimeError, match="already set up on this app"):
        extension.init_app(app)


def test_one_instance_serves_two_apps(make_app: t.Callable[..., Flask], tmp_path: t.Any) -> None:
    extension = NamedSessions()
    first = Flask("first", instance_path=str(tmp_path / "a"))
    second = Flask("second", instance_path=str(tmp_path / "b"))
    second.config["NAMEDSESSIONS_EXPIRES"] = 2
    for app in (first, second):
        extension.init_app(app)

        @app.route("/")
        def index() -> str:
            return str(session_start("cart").expires)

    try:
        assert first.test_client().get("/").text == "15.0"
        assert second.test_client().get("/").text == "2.0"
    finally:
        for app in (first, second):
            get_state(app).store.dispose()


def test_missing_init_app_is_a_clear_error() -> None:
    app = Flask(__name__)
    with app.test_request_context(), pytest.raises(RuntimeError) as info:
        session_start("cart")
    assert str(info.value) == (
        "flask-namedsessions is not set up for this app; call NamedSessions().init_app(app) first"
    )


def test_host_prefix_forces_secure_settings(tmp_path: t.Any) -> None:
    app = Flask(__name__, instance_path=str(tmp_path))
    app.config.update(
        NAMEDSESSIONS_COOKIE_PREFIX="__Host-",
        NAMEDSESSIONS_COOKIE_PATH="/x",
        NAMEDSESSIONS_COOKIE_DOMAIN="example.com",
    )
    NamedSessions(app)
    settings = get_state(app).settings
    assert (settings.cookie.secure, settings.cookie.path, settings.cookie.domain) == (
        True,
        "/",
        None,
    )


def test_default_database_is_sqlite_in_instance_folder(tmp_path: t.Any) -> None:
    app = Flask(__name__, instance_path=str(tmp_path / "inst"))
    NamedSessions(app)

    @app.route("/")
    def index() -> str:
        s = session_start("cart")
        s["n"] = 1
        return s.result

    try:
        assert app.test_client().get("/").text == "new"
        assert (tmp_path / "inst" / "namedsessions.sqlite3").exists()
        with app.app_context():
            engine = get_state(app).store.engine
            with engine.connect() as conn:
                mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
        assert mode == "wal"
    finally:
        get_state(app).store.dispose()


@pytest.mark.parametrize(
    ("value", "sent"), [("lax", "Lax"), ("STRICT", "Strict"), ("none", "None"), (None, None)]
)
def test_samesite_is_taken_in_any_case(tmp_path: t.Any, value: str | None, sent: str) -> None:
    app = Flask(__name__, instance_path=str(tmp_path))
    app.config.update(
        NAMEDSESSIONS_COOKIE_SAMESITE=value,
        NAMEDSESSIONS_COOKIE_SECURE=True,
        NAMEDSESSIONS_DATABASE_URI=f"sqlite:///{tmp_path / 's.sqlite3'}",
    )
    NamedSessions(app)

    @app.route("/")
    def index() -> str:
        session_start("cart")["n"] = 1
        return ""

    try:
        assert get_state(app).settings.cookie.samesite == sent
        cookie = app.test_client().get("/").headers["Set-Cookie"]
        assert (f"SameSite={sent}" in cookie) is (sent is not None)
        assert "SameSite" in cookie or sent is None
    finally:
        get_state(app).store.dispose()


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (
            "NAMEDSESSIONS_EXPIRE",
            "NAMEDSESSIONS_EXPIRE is not a flask-namedsessions setting and is ignored;"
            " did you mean NAMEDSESSIONS_EXPIRES?",
        ),
        (
            "NAMEDSESSION_COOKIE_SECURE",
            "NAMEDSESSION_COOKIE_SECURE is not a flask-namedsessions setting and is"
            " ignored; did you mean NAMEDSESSIONS_COOKIE_SECURE?",
        ),
        (
            "namedsessions_expires",
            "namedsessions_expires is not a flask-namedsessions setting and is ignored;"
            " did you mean NAMEDSESSIONS_EXPIRES?",
        ),
        (
            "NAMEDSESSIONS_ZZZ",
            "NAMEDSESSIONS_ZZZ is not a flask-namedsessions setting and is ignored;"
            " the docs list every key",
        ),
    ],
)
def test_unknown_key_warns_naming_the_closest(tmp_path: t.Any, key: str, message: str) -> None:
    app = Flask(__name__, instance_path=str(tmp_path))
    app.config[key] = 30
    with pytest.warns(UserWarning) as record:
        NamedSessions(app)
    assert [str(w.message) for w in record] == [message]
    assert record[0].filename == __file__
    assert get_state(app).settings.expires == 15.0


def test_db_may_be_given_by_position_or_name(tmp_path: t.Any) -> None:
    """Flask-Migrate's ``Migrate(app, db)`` takes ``db`` by position; so do we."""
    from flask_sqlalchemy import SQLAlchemy

    db = SQLAlchemy()
    made = []
    for setup in (
        lambda app: NamedSessions(app, db),
        lambda app: NamedSessions().init_app(app, db),
        lambda app: NamedSessions().init_app(app, db=db),
        lambda app: NamedSessions(db=db).init_app(app),
    ):
        app = Flask(__name__, instance_path=str(tmp_path))
        app.config.update(
            SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'app.sqlite3'}",
            NAMEDSESSIONS_TABLE_PREFIX="pos_",
        )
        db.init_app(app)
        setup(app)
        with app.app_context():
            made.append(get_state(app).store.engine is db.engine)
            db.engine.dispose()
    assert made == [True] * 4
    assert "pos_sessions" in db.metadata.tables


@pytest.mark.parametrize(
    "uri",
    [
        "xyz",
        "postgresql://postgres:secret@127.0.0.1:notaport/app",
        "postgres ql://postgres:secret@127.0.0.1/app",
    ],
)
def test_malformed_database_uri_fails_in_init_app(tmp_path: t.Any, uri: str) -> None:
    app = Flask(__name__, instance_path=str(tmp_path))
    app.config["NAMEDSESSIONS_DATABASE_URI"] = uri
    with pytest.raises(ValueError) as info:
        NamedSessions(app)
    assert str(info.value) == (
        "NAMEDSESSIONS_DATABASE_URI is not a database URL; write it as"
        " dialect+driver://user:password@host:port/database, such as"
        " postgresql+psycopg://localhost/app"
    )
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert "namedsessions" not in app.extensions


def test_unknown_database_fails_in_init_app(tmp_path: t.Any) -> None:
    app = Flask(__name__, instance_path=str(tmp_path))
    app.config["NAMEDSESSIONS_DATABASE_URI"] = "postgresql+nosuch://127.0.0.1/app"
    with pytest.raises(ValueError) as info:
        NamedSessions(app)
    assert str(info.value) == (
        "NAMEDSESSIONS_DATABASE_URI names 'postgresql+nosuch', which SQLAlchemy does"
        " not know; use sqlite, postgresql+psycopg or mysql+pymysql"
    )


@pytest.mark.parametrize(
    ("uri", "blocked", "message"),
    [
        (
            "postgresql+psycopg://postgres@127.0.0.1/app",
            "psycopg",
            "NAMEDSESSIONS_DATABASE_URI needs the psycopg driver, which is not installed:"
            " pip install 'flask-namedsessions[postgresql]'",
        ),
        (
            "mysql+pymysql://root@127.0.0.1/app",
            "pymysql",
            "NAMEDSESSIONS_DATABASE_URI needs the pymysql driver, which is not installed:"
            " pip install 'flask-namedsessions[mariadb]'",
        ),
        (
            "mariadb+pymysql://root@127.0.0.1/app",
            "pymysql",
            "NAMEDSESSIONS_DATABASE_URI needs the pymysql driver, which is not installed:"
            " pip install 'flask-namedsessions[mariadb]'",
        ),
        # Drivers that no extra brings (mysqldb is the default of mysql://).
        (
            "postgresql://postgres@127.0.0.1/app",
            "psycopg",
            "NAMEDSESSIONS_DATABASE_URI needs the psycopg driver, which is not installed:"
            " pip install 'flask-namedsessions[postgresql]'",
        ),
        (
            "postgresql+psycopg2://postgres@127.0.0.1/app",
            "psycopg2",
            "NAMEDSESSIONS_DATABASE_URI needs the psycopg2 driver, which is not installed:"
            " install it, or write the URI as postgresql+psycopg://... and"
            " pip install 'flask-namedsessions[postgresql]'",
        ),
        (
            "mysql://root@127.0.0.1/app",
            "MySQLdb",
            "NAMEDSESSIONS_DATABASE_URI needs the mysqldb driver, which is not installed:"
            " install it, or write the URI as mysql+pymysql://... and"
            " pip install 'flask-namedsessions[mariadb]'",
        ),
    ],
)
def test_missing_driver_names_the_extra(
    tmp_path: t.Any, monkeypatch: pytest.MonkeyPatch, uri: str, blocked: str, message: str
) -> None:
    # An installed driver is hidden as if it were not installed; the others
    # are not installed in the test environment at all.
    monkeypatch.setitem(sys.modules, blocked, None)
    app = Flask(__name__, instance_path=str(tmp_path))
    app.config["NAMEDSESSIONS_DATABASE_URI"] = uri
    with pytest.raises(ModuleNotFoundError) as info:
        NamedSessions(app)
    assert str(info.value) == message
    assert info.value.name == blocked


@pytest.mark.parametrize(
    ("uri", "configuration"),
    [
        ("sqlite:///{tmp}/s.sqlite3", "sqlite"),
        ("postgresql+psycopg://postgres@127.0.0.1/app", "postgresql+psycopg"),
        ("mysql+pymysql://root@127.0.0.1/app", "mysql+pymysql"),
    ],
)
def test_unknown_engine_options_fail_in_init_app(
    tmp_path: t.Any, uri: str, configuration: str
) -> None:
    app = Flask(__name__, instance_path=str(tmp_path))
    app.config["NAMEDSESSIONS_DATABASE_URI"] = uri.format(tmp=tmp_path)
    app.config["NAMEDSESSIONS_ENGINE_OPTIONS"] = {"pool_sizee": 3, "echo": False, "foo": 1}
    with pytest.raises(ValueError) as info:
        NamedSessions(app)
    assert str(info.value) == (
        "NAMEDSESSIONS_ENGINE_OPTIONS holds options that sqlalchemy.create_engine()"
        f" does not take for {configuration}: 'pool_sizee', 'foo'"
    )


def test_engine_option_of_the_wrong_type_fails_in_init_app(tmp_path: t.Any) -> None:
    app = Flask(__name__, instance_path=str(tmp_path))
    app.config["NAMEDSESSIONS_ENGINE_OPTIONS"] = {"execution_options": 5}
    with pytest.raises(ValueError) as info:
        NamedSessions(app)
    assert str(info.value) == (
        "NAMEDSESSIONS_ENGINE_OPTIONS holds options that sqlalchemy.create_engine()"
        " does not take for sqlite: sqlalchemy.engine.base.Engine.update_execution_options()"
        " argument after ** must be a mapping, not int"
    )


class _Connecting(Exception):
    """Raised instead of connecting, once the arguments are seen."""


@pytest.mark.parametrize(
    ("uri", "expected", "recycle"),
    [
        ("postgresql+psycopg://postgres@db.invalid/app", {"connect_timeout": 5}, -1),
        ("mysql+pymysql://root@db.invalid/app", {"connect_timeout": 5}, 3600),
        ("mariadb+pymysql://root@db.invalid/app", {"connect_timeout": 5}, 3600),
        ("sqlite:///{tmp}/s.sqlite3", {"timeout": 30, "check_same_thread": False}, -1),
    ],
)
def test_own_engine_gives_up_connecting_and_recycles_mysql_connections(
    tmp_path: t.Any, uri: str, expected: dict[str, t.Any], recycle: int
) -> None:
    """A database server that does not answer fails a request in seconds, not
    minutes; MySQL and MariaDB close idle connections after eight hours."""
    app = Flask(__name__, instance_path=str(tmp_path))
    app.config["NAMEDSESSIONS_DATABASE_URI"] = uri.format(tmp=tmp_path)
    app.config["NAMEDSESSIONS_CREATE_TABLES"] = False  # which would connect
    NamedSessions(app)
    with app.app_context():
        engine = get_state(app).store.engine
    seen: dict[str, t.Any] = {}

    @sa.event.listens_for(engine, "do_connect")
    def connect(dialect: t.Any, record: t.Any, cargs: t.Any, cparams: t.Any) -> None:
        seen.update(cparams)
        raise _Connecting

    with pytest.raises(_Connecting):
        engine.connect()
    assert expected.items() <= seen.items()
    assert engine.pool._recycle == recycle  # no public name for it


@pytest.mark.parametrize(
    ("uri", "create"),
    [
        ("postgresql+psycopg://postgres@db.invalid/app", "INSERT INTO"),
        ("mysql+pymysql://root@db.invalid/app", "INSERT IGNORE INTO"),
        ("mariadb+pymysql://root@db.invalid/app", "INSERT IGNORE INTO"),
        ("sqlite:///{tmp}/s.sqlite3", "INSERT INTO"),
    ],
)
def test_store_writes_each_backends_own_sql(tmp_path: t.Any, uri: str, create: str) -> None:
    app = Flask(__name__, instance_path=str(tmp_path))
    app.config["NAMEDSESSIONS_DATABASE_URI"] = uri.format(tmp=tmp_path)
    NamedSessions(app)
    store = get_state(app).store
    sql = str(store.sql.create().compile(dialect=store.engines.engine.dialect))
    assert sql.startswith(create)
    assert ("ON CONFLICT DO NOTHING" in sql) is (create == "INSERT INTO")


def test_engine_options_are_checked(tmp_path: t.Any) -> None:
    app = Flask(__name__, instance_path=str(tmp_path))
    app.config["NAMEDSESSIONS_ENGINE_OPTIONS"] = {"connect_args": "timeout=3"}
    with pytest.raises(ValueError) as info:
        NamedSessions(app)
    assert str(info.value) == (
        "NAMEDSESSIONS_ENGINE_OPTIONS must be a dict whose connect_args is a dict,"
        " got {'connect_args': 'timeout=3'}"
    )


def test_bind_key_without_db_is_an_error(tmp_path: t.Any) -> None:
    app = Flask(__name__, instance_path=str(tmp_path))
    app.config["NAMEDSESSIONS_BIND_KEY"] = "sessions"
    with pytest.raises(ValueError) as info:
        NamedSessions(app)
    assert str(info.value) == (
        "NAMEDSESSIONS_BIND_KEY is 'sessions', but a bind belongs to Flask-SQLAlchemy:"
        " pass its db to init_app, or leave the key unset"
    )


@pytest.mark.parametrize(
    ("config", "with_db", "created"),
    [
        ({}, False, True),
        ({}, True, False),
        ({"NAMEDSESSIONS_DATABASE_URI": "sqlite:///{tmp}/own.sqlite3"}, True, True),
        ({"NAMEDSESSIONS_CREATE_TABLES": False}, False, False),
        ({"NAMEDSESSIONS_CREATE_TABLES": True}, True, True),
    ],
)
def test_create_tables_defaults_to_whether_the_database_is_our_own(
    tmp_path: t.Any, config: dict[str, t.Any], with_db: bool, created: bool
) -> None:
    from flask_sqlalchemy import SQLAlchemy

    app = Flask(__name__, instance_path=str(tmp_path))
    app.config.update(
        {k: v.format(tmp=tmp_path) if isinstance(v, str) else v for k, v in config.items()}
    )
    app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path / 'app.sqlite3'}"
    db = SQLAlchemy()
    db.init_app(app)
    NamedSessions(app, db if with_db else None)
    assert app.config["NAMEDSESSIONS_CREATE_TABLES"] == config.get("NAMEDSESSIONS_CREATE_TABLES")
    assert get_state(app).settings.create_tables is created
    with app.app_context():
        get_state(app).store.dispose()
        db.engine.dispose()
