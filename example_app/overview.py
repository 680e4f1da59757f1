"""Which sessions this visitor holds: their results, IDs and variables."""

from __future__ import annotations

from flask import Blueprint
from flask import render_template
from flask import request

from flask_namedsessions import has_session
from flask_namedsessions import session_start

bp = Blueprint("overview", __name__)

#: The session names this example app uses, with how each one is tracked:
#: the cart follows a visitor without cookies here too.
KNOWN = {
    "sessions_example": {},
    "login": {},
    "cart": {"use_auto": True},
    "rotating": {},
    "visits": {},
}


@bp.route("/sessions")
def sessions() -> str:
    visits = session_start("visits", expires=60 * 24)
    visits["count"] = (visits.get("count") or 0) + 1
    held = []
    for name, tracking in KNOWN.items():
        if name == "visits" or has_session(name):
            session = session_start(name, **tracking)
            held.append(
                {
                    "name": name,
                    "result": session.result,
                    "id": session.id,
                    "expires": session.expires,
                    "tracking": ", ".join(sorted(session.tracking)) or "none",
                    "vars": {var: session[var] for var in session},
                }
            )
    cookies = sorted(c for c in request.cookies if c.startswith("session_"))
    return render_template("sessions.html", held=held, cookies=cookies)
