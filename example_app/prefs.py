"""The preferences form of Lasso's sessions chapter, in Flask.

Every field is a tracked variable of the ``sessions_example`` session: its value
lives in ``g`` during the request and is saved at the end of it.
"""

from __future__ import annotations

from flask import Blueprint
from flask import g
from flask import render_template
from flask import request

from flask_namedsessions import session_add_var
from flask_namedsessions import session_result
from flask_namedsessions import session_start

bp = Blueprint("prefs", __name__)

NAME = "sessions_example"
TRAVEL = {
    "hyperDrive": "Hyper Drive",
    "warpDrive": "Warp Drive",
    "wormHole": "Worm Hole",
    "improbabilityDrive": "Improbability Drive",
    "spaceFold": "Space Fold",
    "jumpGate": "Jump Gate",
}
COLORS = ("blue", "red", "green")
FIELDS = ("realName", "emailAddress", "favoriteColor", *TRAVEL)


@bp.route("/prefs", methods=["GET", "POST"])
def preferences() -> str:
    session_start(NAME)
    if session_result(NAME) != "load":
        # A new session: track the variables and give them empty values.
        for field in FIELDS:
            session_add_var(NAME, field)
            setattr(g, field, "")
    elif request.form.get("submit"):
        g.realName = request.form.get("realName", "")[:200]
        g.emailAddress = request.form.get("emailAddress", "")[:200]
        color = request.form.get("favoriteColor", "")
        g.favoriteColor = color if color in COLORS else ""
        for field in TRAVEL:
            setattr(g, field, field.lower() in request.form)
    return render_template("prefs.html", travel=TRAVEL, colors=COLORS, result=session_result(NAME))
