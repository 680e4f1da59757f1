"""Sending each session's ID on the response: cookies, links, headers."""

from __future__ import annotations

import typing as t

from flask import Request
from flask import Response
from werkzeug.exceptions import SecurityError

from .linking import apply_links
from .linking import mark_private
from .rewrite import Origin
from .tracking import cookie_name
from .tracking import expire_cookie
from .tracking import param_name
from .tracking import set_cookie

if t.TYPE_CHECKING:
    from .lifecycle import RequestSessions


def send_ids(response: Response, sessions: RequestSessions, request: Request) -> None:
    """Set, refresh or expire cookies and rewrite links, per started session.

    After a failed request nothing was saved, so only the cookies of sessions
    that were ended (deleted at once) are expired.
    """
    settings = sessions.settings
    params: dict[str, str] = {}
    vary = sessions.read_cookies
    for name, record in sessions.records.items():
        session = record.session
        cookie = cookie_name(settings, name)
        carried = request.cookies.get(cookie)
        if record.source != "arg":
            vary = True
        if session.ended:
            if carried is not None or "cookie" in session.tracking:
                expire_cookie(response, cookie, record.cookie)
            continue
        if sessions.save_failed or (sessions.failed and not settings.save_on_error):
            continue  # nothing was saved
        if session.aborted or record.gone:
            continue
        if "cookie" in session.tracking and (
            carried != session.id or record.cookie_expires is not None
        ):
            set_cookie(response, cookie, session.id, record.cookie, record.cookie_expires)
        if "link" in session.tracking:
            params[param_name(settings, name)] = session.id
    if vary:
        response.vary.add("Cookie")
    if sessions.id_in_body or any(r.source == "param" for r in sessions.records.values()):
        # The ID is in the page, or in its own URL, which a shared cache
        # would keep and the Referer of its links would carry.
        mark_private(response)
    if params:
        try:
            host = request.host
        except SecurityError:
            return  # a host the app does not trust: it answers 400 anyway
        apply_links(response, params, Origin(request.scheme, host, settings.link_hosts))
