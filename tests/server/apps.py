"""The app that the server tests run under gunicorn."""

from __future__ import annotations

import os

from flask import Flask
from flask import g
from flask import jsonify
from flask import request
from flask.typing import ResponseReturnValue

from flask_namedsessions import end_user_sessions
from flask_namedsessions import get_session
from flask_namedsessions import NamedSession
from flask_namedsessions import NamedSessions
from flask_namedsessions import session_delete_expired
from flask_namedsessions import session_start
from flask_namedsessions import SessionStoreError
from flask_namedsessions import user_sessions


def create_app() -> Flask:
    app = Flask(__name__)
    app.config["NAMEDSESSIONS_DATABASE_URI"] = os.environ["NAMEDSESSIONS_DATABASE_URI"]
    app.config["NAMEDSESSIONS_ROTATE_GRACE"] = float(os.environ.get("TEST_ROTATE_GRACE", "5"))
    app.config["NAMEDSESSIONS_CACHE_URL"] = os.environ.get("TEST_CACHE_URL")
    # A test's own settings: FLASK_NAMEDSESSIONS_TOUCH_INTERVAL=0, say.
    app.config.from_prefixed_env()
    NamedSessions(app)

    def start() -> NamedSession:
        return session_start(
            "shared",
            id=request.args.get("sid"),
            use_none=True,
            expires=float(request.args.get("expires", "15")),
        )

    @app.route("/ready")
    def ready() -> str:
        return "ok"

    @app.route("/incr/<var>")
    def incr(var: str) -> str:
        session = start()
        session[var] = (session.get(var) or 0) + 1
        return str(getattr(g, var))

    @app.route("/set/<var>/<value>")
    def set_(var: str, value: str) -> str:
        start()[var] = value
        return value

    @app.route("/get")
    def get() -> ResponseReturnValue:
        session = start()
        return jsonify(result=session.result, values=dict(session.items()))

    @app.route("/cookie")
    def cookie() -> ResponseReturnValue:
        session = session_start("c", rotate=request.args.get("rotate") == "1")
        if request.args.get("read") != "1":
            session["n"] = (session.get("n") or 0) + 1
        return jsonify(result=session.result, n=session["n"])

    @app.route("/visit/<var>", defaults={"value": None})
    @app.route("/visit/<var>/<int:value>")
    def visit(var: str, value: int | None) -> ResponseReturnValue:
        """A tab of a visitor's browser: its own variable of the cookie
        session "visit", written when ``value`` is given, and read back."""
        session = session_start("visit")
        if value is not None:
            session[var] = value
        return jsonify(result=session.result, value=session.get(var))

    @app.route("/end")
    def end() -> str:
        start().end()
        return "ended"

    @app.route("/gc")
    def gc() -> str:
        return str(session_delete_expired())

    @app.errorhandler(SessionStoreError)
    def unavailable(error: SessionStoreError) -> ResponseReturnValue:
        return str(error), 503

    return app


def create_flask_session_app() -> Flask:
    """flask.session on the named session "main", with Flask-WTF's CSRF."""
    from flask import session
    from flask_wtf.csrf import CSRFProtect
    from flask_wtf.csrf import generate_csrf

    app = Flask(__name__)
    app.config["SECRET_KEY"] = "server tests"
    app.config["NAMEDSESSIONS_DATABASE_URI"] = os.environ["NAMEDSESSIONS_DATABASE_URI"]
    app.config["NAMEDSESSIONS_FLASK_SESSION"] = "main"
    app.config["NAMEDSESSIONS_CACHE_URL"] = os.environ.get("TEST_CACHE_URL")
    NamedSessions(app)
    CSRFProtect(app)

    @app.route("/ready")
    def ready() -> str:
        return "ok"

    @app.route("/token")
    def token() -> str:
        return generate_csrf()

    @app.route("/incr/<key>", methods=["POST"])
    def incr(key: str) -> str:
        session[key] = session.get(key, 0) + 1
        return str(session[key])

    @app.route("/cart/<item>", methods=["POST"])
    def cart(item: str) -> str:
        session.setdefault("cart", []).append(item)
        return str(len(session["cart"]))

    @app.route("/dump")
    def dump() -> ResponseReturnValue:
        return jsonify(dict(session))

    @app.route("/bind/<user>")
    def bind(user: str) -> str:
        get_session("main").bind_user(user)
        return ""

    @app.route("/revoke/<user>")
    def revoke(user: str) -> str:
        """Log ``user`` out everywhere, from a request of no session of theirs."""
        return str(end_user_sessions(user))

    @app.route("/sessions/<user>")
    def sessions(user: str) -> str:
        return str(len(user_sessions(user)))

    return app
