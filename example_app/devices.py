"""Your devices: the sessions of the logged-in user, one per browser.

The login demo binds its session to the name typed in (``bind_user``), and
the app records each device's browser and network
(``NAMEDSESSIONS_RECORD_USER_AGENT``, ``NAMEDSESSIONS_RECORD_IP``). This page
lists them with ``user_sessions``, marks this device (``current``), and ends
one (``end_user_session``) or all the others
(``end_user_sessions(keep_current=True)``).

The forms change state, so a POST is refused unless a page of this site sent
it: its ``Origin`` (or, from a browser that sends none, its ``Referer``)
names this site. The demo has no passwords: whoever logs in with a name is
that user.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask import abort
from flask import Blueprint
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from werkzeug import Response

from flask_namedsessions import end_user_session
from flask_namedsessions import end_user_sessions
from flask_namedsessions import has_session
from flask_namedsessions import session_start
from flask_namedsessions import user_sessions

bp = Blueprint("devices", __name__, url_prefix="/demos/devices")

#: (token in the User-Agent, what people call it), first match wins
BROWSERS = (
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)
SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)


def browser(agent: str | None) -> str:
    """What people call the browser of a ``User-Agent``: "Chrome on Android"."""
    if not agent:
        return "Unknown browser"
    name = next((label for token, label in BROWSERS if token in agent), "A browser")
    system = next((label for token, label in SYSTEMS if token in agent), None)
    return f"{name} on {system}" if system else name


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def _check_origin() -> None:
    """Refuse a form that another site (or no page at all) sent."""
    sender = request.headers.get("Origin") or request.referrer
    if sender is None or _origin(sender) != _origin(request.host_url):
        abort(400, "This form must be sent from a page of this site.")


def _user() -> str | None:
    """The user the visitor is logged in as, if any."""
    if not has_session("login"):
        return None
    return session_start("login").user


@bp.get("/")
def devices() -> str:
    user = _user()
    found = user_sessions(user, name="login") if user is not None else []
    ended = request.args.get("ended", "")
    return render_template(
        "devices.html",
        user=user,
        devices=found,
        browser=browser,
        ended=int(ended) if re.fullmatch(r"[0-9]{1,6}", ended) else None,
    )


@bp.post("/end")
def end_one() -> Response:
    _check_origin()
    user = _user()
    ended = 0
    if user is not None:
        ended = int(end_user_session(user, request.form.get("handle", "")))
    return redirect(url_for("devices.devices", ended=ended))


@bp.post("/others")
def end_others() -> Response:
    _check_origin()
    user = _user()
    ended = 0
    if user is not None:
        ended = end_user_sessions(user, name="login", keep_current=True)
    return redirect(url_for("devices.devices", ended=ended))
