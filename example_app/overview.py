"""Which sessions this visitor holds: their results, IDs and variables."""

from __future__ import annotations

from flask import Blueprint
from flask import render_template
from flask import request

from flask_namedsessions import get_session
from flask_namedsessions import has_session
from flask_namedsessions import session_start

from .carry import SESSIONS

bp = Blueprint("overview", __name__)


@bp.route("/sessions")
def sessions() -> str:
    visits = session_start("visits", expires=60 * 24)
    visits["count"] = (visits.get("count") or 0) + 1
    # Every session the request carries was started by example_app.carry.
    held = [get_session(name) for name in SESSIONS if has_session(name) or name == "visits"]
    cookies = sorted(c for c in request.cookies if c.startswith("session_"))
    return render_template("sessions.html", held=held, cookies=cookies)
