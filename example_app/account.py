"""An account area on ``flask.session``: Flask-Login, Flask-WTF and flash().

The app names ``"main"`` in ``NAMEDSESSIONS_FLASK_SESSION``, so ``flask.session``
is a named session kept in SQL, tracked like every session here in ``auto``
mode: Flask-Login's user, Flask-WTF's CSRF token and the flashed messages
follow a visitor who blocks cookies through the links and forms of each page.
Logging in and out gives the session a new ID (Flask-Login's signals).

It needs Flask-Login and Flask-WTF (``pip install flask-login flask-wtf``);
without them the app runs without this area.
"""

from __future__ import annotations

import typing as t

from flask import Blueprint
from flask import flash
from flask import Flask
from flask import redirect
from flask import render_template
from flask import session
from flask import url_for
from flask_login import current_user
from flask_login import login_required
from flask_login import login_user
from flask_login import LoginManager
from flask_login import logout_user
from flask_login import UserMixin
from flask_wtf import FlaskForm
from werkzeug import Response
from wtforms import BooleanField
from wtforms import StringField
from wtforms import SubmitField
from wtforms.validators import DataRequired
from wtforms.validators import Length

from flask_namedsessions import get_session

bp = Blueprint("account", __name__, url_prefix="/account")

#: At most this many notes are kept, newest first.
MAX_NOTES = 10


class User(UserMixin):
    """Anyone may sign in under any name: a demo, not an authentication."""

    def __init__(self, name: str) -> None:
        self.id = name


class LoginForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=40)])
    remember = BooleanField("Remember me on this device")
    submit = SubmitField("Sign in")


class NoteForm(FlaskForm):
    note = StringField("Note", validators=[DataRequired(), Length(max=80)])
    submit = SubmitField("Save note")


class LogoutForm(FlaskForm):
    submit = SubmitField("Sign out")


def init_app(app: Flask) -> None:
    """Register the area and Flask-Login. Each FlaskForm checks its own CSRF
    token (the other demos' forms predate it, so no CSRFProtect)."""
    manager = LoginManager(app)
    manager.login_view = "account.login"
    manager.login_message = "Sign in to see your account."
    manager.user_loader(User)
    app.register_blueprint(bp)


def _session_id_start() -> str:
    """The first characters of flask.session's ID, to watch it change."""
    return get_session("main").id[:8]


@bp.route("/login", methods=["GET", "POST"])
def login() -> t.Any:
    form = LoginForm()
    if form.validate_on_submit():
        before = _session_id_start()
        login_user(User(form.name.data or ""), remember=bool(form.remember.data))
        flash(f"Signed in. The session ID changed from {before}… to {_session_id_start()}….")
        return redirect(url_for("account.home"))
    return render_template("account/login.html", form=form)


@bp.route("/", methods=["GET", "POST"])
@login_required
def home() -> t.Any:
    form = NoteForm()
    if form.validate_on_submit():
        notes = session.setdefault("notes", [])
        notes.insert(0, form.note.data)
        del notes[MAX_NOTES:]  # changed in place: saved all the same
        flash("Note saved.")
        return redirect(url_for("account.home"))
    return render_template(
        "account/home.html",
        form=form,
        logout=LogoutForm(),
        notes=session.get("notes", []),
        user=current_user,
    )


@bp.post("/logout")
def logout() -> Response:
    if LogoutForm().validate_on_submit():
        logout_user()
        session.clear()  # the notes go too
        flash("Signed out.")
    return redirect(url_for("account.login"))
