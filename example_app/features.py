"""The rest of the toolbox: explicit IDs, rotation, template helpers, abort.

A counter session whose ID the application carries itself (``use_none`` with
``id=``), one that rotates its ID on every request, and the template helpers
that put an ID into a form or a URL by hand.
"""

from __future__ import annotations

import re

from flask import Blueprint
from flask import render_template
from flask import request

from flask_namedsessions import session_start

bp = Blueprint("features", __name__, url_prefix="/features")

#: what a team name may hold: an ``id=`` allows these characters only
TEAM = re.compile(r"[A-Za-z0-9_.~-]{1,40}")
#: the board keeps this many notes, the latest ones
NOTES = 50


@bp.route("/", methods=["GET", "POST"])
def features() -> str:
    # Tracked by the application: the ID is the one typed into the form.
    team = request.values.get("team", "").strip()[:40]
    board = None
    if TEAM.fullmatch(team):
        board = session_start("board", id=f"team-{team}", use_none=True, expires=60)
        if request.method == "POST" and request.form.get("note"):
            notes = [*(board.get("notes") or []), request.form["note"][:200]]
            board["notes"] = notes[-NOTES:]
        elif "notes" not in board:
            board["notes"] = []
    # A new ID on every request; the old one keeps working for a few seconds.
    rotating = session_start("rotating", rotate=True)
    rotating["hits"] = (rotating.get("hits") or 0) + 1
    # Carried by hand: session_hidden_input / session_url in the template.
    manual = session_start("manual", use_none=True)
    manual["seen"] = (manual.get("seen") or 0) + 1
    if request.args.get("abort") == "1":
        manual.abort()  # this request's change is not saved
    return render_template(
        "features.html", team=team, board=board, rotating=rotating, manual=manual
    )
