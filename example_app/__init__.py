"""An example app that shows every feature of flask-namedsessions.

Run it on the embedded SQLite default with ``flask --app example_app run``.
"""

from __future__ import annotations

import os
import typing as t

from flask import Flask
from flask import render_template

from flask_namedsessions import NamedSessions
from flask_namedsessions import SessionStoreError

named_sessions = NamedSessions()


def create_app(config: t.Mapping[str, t.Any] | None = None) -> Flask:
    """Build the example app; ``config`` overrides for tests."""
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=os.environ.get("EXAMPLE_SECRET_KEY", "dev"),
        NAMEDSESSIONS_DATABASE_URI=os.environ.get("NAMEDSESSIONS_DATABASE_URI"),
    )
    app.config.update(config or {})
    named_sessions.init_app(app)

    from . import features
    from . import login
    from . import overview
    from . import prefs

    app.register_blueprint(features.bp)
    app.register_blueprint(prefs.bp)
    app.register_blueprint(login.bp)
    app.register_blueprint(overview.bp)
    try:
        from . import shop
    except ImportError:  # pragma: no cover - the shop is optional
        pass
    else:
        app.register_blueprint(shop.bp)

    @app.route("/")
    def index() -> str:
        return render_template("index.html", has_shop="shop" in app.blueprints)

    @app.errorhandler(SessionStoreError)
    def store_down(error: SessionStoreError) -> tuple[str, int]:
        # The database is unreachable: log why, and tell the visitor only
        # that it is, with a 503 instead of a bare 500.
        app.logger.warning("%s", error)
        return render_template("unavailable.html"), 503

    return app
