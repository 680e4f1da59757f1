"""init_app: defaults, checks, registration."""

from __future__ import annotations

import typing as t

import pytest
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
        ("NAMEDSESSIONS_COOKIE_SAMESITE", "lax", "NAMEDSESSIONS_COOKIE_SAMESITE must be one of"),
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
