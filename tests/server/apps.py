"""The app that the server tests run under gunicorn."""

from __future__ import annotations

import os

from flask import Flask
from flask import g
from flask import jsonify
from flask import request
from flask.typing import ResponseReturnValue

from flask_namedsessions import NamedSession
from flask_namedsessions import NamedSessions
from flask_namedsessions import session_delete_expired
from flask_namedsessions import session_start
from flask_namedsessions import SessionStoreError


def create_app() -> Flask:
    app = Flask(__name__)
    app.config["NAMEDSESSIONS_DATABASE_URI"] = os.environ["NAMEDSESSIONS_DATABASE_URI"]
    app.config["NAMEDSESSIONS_ROTATE_GRACE"] = float(os.environ.get("TEST_ROTATE_GRACE", "5"))
    app.config["NAMEDSESSIONS_CACHE_URL"] = os.environ.get("TEST_CACHE_URL")
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

    return app
