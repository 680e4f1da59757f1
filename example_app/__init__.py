"""An example app that shows every feature of flask-namedsessions.

Run it on the embedded SQLite default with ``flask --app example_app run``
(``pip install -e . --group example`` first: the login form uses Flask-WTF).
Every demo works with cookies blocked too: see :mod:`example_app.carry`.
"""

from __future__ import annotations

import os
import typing as t

from flask import Flask
from flask import render_template
from werkzeug.exceptions import HTTPException

from flask_namedsessions import NamedSessions
from flask_namedsessions import SessionStoreError

from . import carry

try:  # the account area needs Flask-Login and Flask-WTF
    from . import account
except ImportError:
    account = None  # type: ignore[assignment]

named_sessions = NamedSessions()


def create_app(config: t.Mapping[str, t.Any] | None = None) -> Flask:
    """Build the example app; ``config`` overrides for tests."""
    app = Flask(__name__)
    app.config.update(
        # The CSRF tokens of the login form and of the account area's forms
        # are signed with it. "dev" is for a checkout only: elsewhere set
        # FLASK_SECRET_KEY, read just below.
        SECRET_KEY="dev",
        NAMEDSESSIONS_DATABASE_URI=os.environ.get("NAMEDSESSIONS_DATABASE_URI"),
        # Cookies where the browser takes them, links where it does not.
        NAMEDSESSIONS_DEFAULT_TRACKING="auto",
        # flask.session is the named session "main", tracked the same way;
        # its cookie is named like the others' (session_<name>).
        NAMEDSESSIONS_FLASK_SESSION=carry.FLASK_SESSION,
        NAMEDSESSIONS_FLASK_SESSION_TRACKING="auto",
        SESSION_COOKIE_NAME="session_" + carry.FLASK_SESSION,
        # For the "your devices" page: the browser and the network of each.
        NAMEDSESSIONS_RECORD_USER_AGENT=True,
        NAMEDSESSIONS_RECORD_IP="truncated",
    )
    app.config.from_prefixed_env()
    app.config.update(config or {})
    named_sessions.init_app(app)

    from . import devices
    from . import features
    from . import login
    from . import overview
    from . import prefs
    from . import shop

    for module in (carry, prefs, login, devices, shop, features, overview):
        app.register_blueprint(module.bp)
    if account is not None:
        account.init_app(app)

    @app.route("/")
    def index() -> str:
        return render_template("index.html")

    # For clients that ask for it without reading the page's <link rel="icon">.
    app.add_url_rule("/favicon.ico", "favicon", redirect_to="/static/favicon.svg")

    @app.context_processor
    def in_links() -> dict[str, t.Any]:
        return {"carried_in_links": carry.carried_in_links, "has_account": account is not None}

    @app.template_filter("minutes")
    def minutes(value: float) -> str:
        """An idle timeout as people write it: "15 min", "24 h"."""
        if value >= 60 and value % 60 == 0:
            return f"{value / 60:g} h"
        return f"{value:g} min"

    @app.errorhandler(SessionStoreError)
    def store_down(error: SessionStoreError) -> tuple[str, int]:
        # The database is unreachable: log why, and tell the visitor only
        # that it is, with a 503 instead of a bare 500.
        app.logger.warning("%s", error)
        return render_template("unavailable.html"), 503

    @app.errorhandler(400)
    @app.errorhandler(404)
    def client_error(error: HTTPException) -> tuple[str, int]:
        return render_template("error.html", error=error), t.cast(int, error.code)

    return app
