"""The login / continue / logout demo: the simple face of sessions.

``has_session`` checks without creating anything; the login gives the session a
fresh ID, so an ID seen before logging in is worthless afterwards, binds it to
the name typed in (see :mod:`example_app.devices`), and answers with a
redirect, so that reloading the page sends nothing twice.

The login form carries a CSRF token (Flask-WTF), so that another site cannot
log a visitor in as someone else. Flask-WTF's ``CSRFProtect`` keeps the token's
secret in ``flask.session``, a cookie, which a browser that blocks cookies never
sends back; here the secret lives in the ``login`` session itself, which
travels by cookie or by link, so the form works either way.
"""

from __future__ import annotations

import typing as t
from datetime import timedelta

from flask import abort
from flask import Blueprint
from flask import current_app
from flask import redirect
from flask import render_template
from flask import url_for
from flask_wtf import FlaskForm
from werkzeug import Response
from wtforms import StringField
from wtforms.csrf.session import SessionCSRF
from wtforms.validators import ValidationError

from flask_namedsessions import get_session
from flask_namedsessions import has_session
from flask_namedsessions import NamedSession
from flask_namedsessions import session_start

bp = Blueprint("login", __name__, url_prefix="/demos/sessions")


def _login_session() -> NamedSession:
    return session_start("login", expires=30)


class _LoginSessionCSRF(SessionCSRF):
    """WTForms' session CSRF, where a session without a secret (another
    site's request, which carries none of the visitor's) fails validation
    instead of raising."""

    def validate_csrf_token(self, form: t.Any, field: t.Any) -> None:
        if "csrf" not in self.session:
            raise ValidationError("CSRF token missing.")
        super().validate_csrf_token(form, field)


class LoginForm(FlaskForm):
    name = StringField("Name")

    class Meta:
        csrf_class = _LoginSessionCSRF
        csrf_time_limit = timedelta(minutes=30)

        @property
        def csrf_secret(self) -> bytes:
            return str(current_app.secret_key).encode()

        @property
        def csrf_context(self) -> NamedSession:
            return _login_session()


@bp.route("/login")
def login_form() -> str:
    return render_template("login.html", form=LoginForm())


@bp.post("/start")
def start() -> Response:
    form = LoginForm()
    if not form.validate():
        # A request that is not the visitor's own keeps nothing: no session
        # made for it, no cookie over the visitor's.
        _login_session().abort()
        abort(400, "This login form has expired or came from another site: reload it and log in.")
    session = _login_session()
    session.regenerate_id()
    typed = "".join(c for c in form.name.data or "" if c.isprintable())
    session["name"] = typed.strip()[:80] or "stranger"
    session.bind_user(session["name"])
    return redirect(url_for("login.welcome"))


def _logged_in() -> str | None:
    """The name of the visitor who logged in, if any."""
    if not has_session("login"):
        return None
    name: str | None = session_start("login").get("name")
    return name


@bp.route("/welcome")
def welcome() -> str:
    name = _logged_in()
    if name is not None:
        return _message(f"hello {name} you have logged in")
    return _message("you are not logged in")


@bp.route("/continue")
def continue_() -> str:
    name = _logged_in()
    if name is not None:
        return _message(f"hello {name} you are logged in")
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
