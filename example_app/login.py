"""The login / continue / logout demo: the simple face of sessions.

``has_session`` checks without creating anything; the login gives the session a
fresh ID, so an ID seen before logging in is worthless afterwards, binds it to
the name typed in (see :mod:`example_app.devices`), and answers with a
redirect, so that reloading the page sends nothing twice.
"""

from __future__ import annotations

from flask import Blueprint
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from werkzeug import Response

from flask_namedsessions import get_session
from flask_namedsessions import has_session
from flask_namedsessions import session_start

bp = Blueprint("login", __name__, url_prefix="/demos/sessions")


@bp.route("/login")
def login_form() -> str:
    return render_template("login.html")


@bp.post("/start")
def start() -> Response:
    typed = "".join(c for c in request.form.get("name", "") if c.isprintable())
    name = typed.strip()[:80] or "stranger"
    session = session_start("login", expires=30)
    session.regenerate_id()
    session["name"] = name
    session.bind_user(name)
    return redirect(url_for("login.welcome"))


@bp.route("/welcome")
def welcome() -> str:
    if has_session("login"):
        return _message(f"hello {session_start('login')['name']} you have logged in")
    return _message("you are not logged in")


@bp.route("/continue")
def continue_() -> str:
    if has_session("login"):
        return _message(f"hello {session_start('login')['name']} you are logged in")
    return _message("you are not logged in")


@bp.route("/logout")
def logout() -> Response:
    if has_session("login"):
        session_start("login")
        get_session("login").end()
    return redirect(url_for("login.logged_out"))


@bp.route("/logged-out")
def logged_out() -> str:
    return _message("You have been logged out")


def _message(message: str) -> str:
    return render_template("login_message.html", message=message)
