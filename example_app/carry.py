"""Keep a visitor in their sessions on every page, with or without cookies.

The app tracks every session in ``auto`` mode (``NAMEDSESSIONS_DEFAULT_TRACKING``):
a browser that sends the session's cookie is followed by it; one that blocks
cookies by the ``_session:<name>`` parameter that the extension adds to the
links, forms and redirects of each page that started the session. So that such
a visitor keeps a session across pages that have nothing to do with it (the
home page, the other demos), every request starts the sessions it carries.

Before that, a GET whose URL carries an ID that the request must not use is
redirected to the same URL without it:

- an ID whose cookie came back: the browser takes cookies, and the ID was put
  into the link by a first page that could not know that yet;
- an ID from another site, or from a link opened from mail, a bookmark or the
  address bar (``Sec-Fetch-Site`` other than ``same-origin``, or, from a
  browser that does not send it, no ``Referer`` from this site): someone else's
  session must not be handed to a visitor that way. A POST that carries one is
  refused.
"""

from __future__ import annotations

import typing as t
from urllib.parse import urlencode
from urllib.parse import urlsplit

from flask import abort
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


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def _from_this_site() -> bool:
    """Did a page of this site start this request?"""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site == "same-origin"
    referrer = request.referrer
    return referrer is not None and _origin(referrer) == _origin(request.host_url)


def _unusable_params() -> set[str]:
    """The session parameters of this request that it must not use."""
    prefix = current_app.config["NAMEDSESSIONS_PARAM_PREFIX"]
    cookie_prefix = current_app.config["NAMEDSESSIONS_COOKIE_PREFIX"]
    carried = {key for key in request.args if key.startswith(prefix)}
    if request.method not in ("GET", "HEAD"):
        carried |= {key for key in request.form if key.startswith(prefix)}
    if not _from_this_site():
        return carried
    return {key for key in carried if cookie_prefix + key[len(prefix) :] in request.cookies}


@bp.before_app_request
def carry_sessions() -> Response | None:
    """Drop unusable IDs from the URL, then start every session the request
    carries, so that this page's links carry it on."""
    if request.endpoint == "static":
        return None
    unusable = _unusable_params()
    if unusable:
        if request.method not in ("GET", "HEAD"):
            if not _from_this_site():
                abort(400, "This form came from another site with a session ID.")
        else:
            # Hooks that run after this one may still read flask.session
            # (Flask-Login's does): it must not put the ID back into the
            # redirect's address.
            get_session(FLASK_SESSION).abort()
            kept = [(k, v) for k, v in request.args.items(multi=True) if k not in unusable]
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
