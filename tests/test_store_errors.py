"""A store that cannot be reached, as the application sees it."""

from __future__ import annotations

import typing as t
from pathlib import Path

from flask import Flask

from flask_namedsessions import NamedSessions
from flask_namedsessions import session_start
from flask_namedsessions import SessionStoreError


def unreachable_app(tmp_path: Path, *, handler: bool = True) -> Flask:
    """An app whose session database cannot be opened (its path is a folder)."""
    app = Flask(__name__, instance_path=str(tmp_path / "instance"))
    app.config["NAMEDSESSIONS_DATABASE_URI"] = f"sqlite:///{tmp_path}"
    NamedSessions(app)

    if handler:

        @app.errorhandler(SessionStoreError)
        def unavailable(exc: SessionStoreError) -> tuple[str, int]:
            return "sessions are unavailable", 503

    @app.route("/new")
    def new() -> str:
        session_start("cart")["item"] = "apple"  # nothing read: the save fails
        return "should not be sent"

    @app.route("/load")
    def load() -> str:
        session_start("cart")
        return "should not be sent"

    return app


def test_store_error_on_load_or_save_reaches_the_apps_handler(tmp_path: Path) -> None:
    client = unreachable_app(tmp_path).test_client(use_cookies=False)
    for path, headers in [("/new", {}), ("/load", {"Cookie": f"session_cart={'a' * 43}"})]:
        response = client.get(path, headers=headers)
        assert (response.status_code, response.text) == (503, "sessions are unavailable")
        assert "Set-Cookie" not in response.headers


def test_store_error_without_a_handler_is_a_500(tmp_path: Path, caplog: t.Any) -> None:
    app = unreachable_app(tmp_path, handler=False)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = app.test_client().get("/new")
    assert response.status_code == 500
    assert (
        "flask_namedsessions.exceptions.SessionStoreError: creating the session tables"
        f" failed: no connection to the SQLite database '{tmp_path}'"
        " (OperationalError: unable to open database file)\n"
    ) in caplog.text
