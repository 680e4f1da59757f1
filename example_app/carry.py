"""Keep a visitor in their sessions on every page, with or without cookies.

The app tracks every session in ``auto`` mode (``NAMEDSESSIONS_DEFAULT_TRACKING``):
a browser that sends the session's cookie is followed by it; one that blocks
cookies by the ``_session:<name>`` parameter that the extension adds to the
links, forms and redirects of each page that started the session. So that such
a visitor keeps a session across pages that have nothing to do with it (the
home page, the other demos), every request starts the sessions it carries.

The extension takes an ID from the address only on a request that a page of
this site started, so a link from another site, mail or a bookmark hands over
no session. What is left here is a tidy address: a GET whose URL carries an
ID that this request does not use (its cookie came back, so the browser takes
cookies; or the extension did not take it) is redirected to the same URL
without it.
"""

from __future__ import annotations

import typing as t
from urllib.parse import urlencode

from flask import Blueprint
from flask import current_app
from flask import redirect
from flask import request
from werkzeug import Response

from flask_namedsessions import get_session
from flask_namedsessions import has_session
from flask_namedsessions import NamedSession
from flask_namedsessions import session_start
from flask_namedsessions import SessionNotStarted

bp = Blueprint("carry", __name__)

#: The session that serves ``flask.session`` (the account area).
FLASK_SESSION = "main"

#: The sessions a visitor may hold, with what ``session_start`` needs to
#: carry each one from page to page.
SESSIONS: dict[str, dict[str, t.Any]] = {
    "sessions_example": {},
    "login": {},
    "cart": {"use_auto": True},
    "rotating": {"rotate": True},
    "visits": {},
}


def _unused_params() -> set[str]:
    """The session parameters of this request's URL that it does not use."""
    prefix = current_app.config["NAMEDSESSIONS_PARAM_PREFIX"]
    cookie_prefix = current_app.config["NAMEDSESSIONS_COOKIE_PREFIX"]
    unused = set()
    for key in request.args:
        name = key[len(prefix) :]
        if not key.startswith(prefix) or (name not in SESSIONS and name != FLASK_SESSION):
            continue
        if cookie_prefix + name in request.cookies or not has_session(name):
            unused.add(key)
    return unused


@bp.before_app_request
def carry_sessions() -> Response | None:
    """Drop unused IDs from the address, then start every session the
    request carries, so that this page's links carry it on."""
    if request.endpoint == "static":
        return None
    if request.method in ("GET", "HEAD"):
        unused = _unused_params()
        if unused:
            # Hooks that run after this one may still read flask.session
            # (Flask-Login's does): it must not put the ID back into the
            # redirect's address.
            get_session(FLASK_SESSION).abort()
            kept = [(k, v) for k, v in request.args.items(multi=True) if k not in unused]
            query = urlencode(kept)
            # Absolute, so that a path such as //host/ cannot lead elsewhere.
            return redirect(request.base_url + (f"?{query}" if query else ""))
    for name, options in SESSIONS.items():
        if has_session(name):
            session_start(name, **options)
    if has_session(FLASK_SESSION):
        get_session(FLASK_SESSION)  # opens flask.session: links carry it on
    return None


def carried_in_links() -> list[str]:
    """The names of the sessions whose IDs this page's links carry."""
    names = []
    for name in [*SESSIONS, FLASK_SESSION]:
        try:
            session: NamedSession = get_session(name)
        except SessionNotStarted:
            continue
        if "link" in session.tracking and not session.ended and len(session):
            names.append(name)
    return names
