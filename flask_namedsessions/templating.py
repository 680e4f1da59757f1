"""Jinja globals: the ID, a hidden input, and a URL that carries sessions.

For pages that track the ID themselves, or whose forms the link rewriter does
not reach (forms built by JavaScript, for instance).
"""

from __future__ import annotations

import typing as t

from flask import request
from markupsafe import Markup

from . import context
from .exceptions import SessionNotStarted
from .ids import check_name
from .rewrite import hidden_input
from .session import NamedSession
from .session_interface import named_flask_session
from .urls import is_same_origin
from .urls import Origin
from .urls import url_with_params

__all__ = ["session_hidden_input", "session_url", "template_globals"]


def _started(name: str) -> tuple[context.RequestSessions, NamedSession]:
    """This request's sessions and the started session ``name``; the one
    behind ``flask.session`` is opened on demand, as a page may carry its ID
    without the view having touched ``flask.session``."""
    check_name(name)
    found = context.current()
    if found is None:
        raise SessionNotStarted(name)
    if name == found.settings.flask_session and name not in found.sessions:
        return found, named_flask_session()
    return found, found.get(name)


def _template_session_id(name: str) -> str:
    """:func:`~flask_namedsessions.session_id`, for a page that shows it."""
    sessions, session = _started(name)
    sessions.id_in_body()
    return session.id


def session_hidden_input(name: str) -> Markup:
    """``<input type="hidden">`` carrying session ``name``'s ID.

    It cannot see where its form goes: put it only in forms that submit to
    this site (an ``action`` on another site, or a ``formaction`` of a
    button, would send the ID there).
    """
    sessions, session = _started(name)
    sessions.id_in_body()
    return Markup(hidden_input(sessions.settings.param_name(name), session.id))


def session_url(url: str, *names: str) -> str:
    """``url`` with the parameter of each named session, or of every
    link-tracked session when no name is given.

    A URL that a browser would send to another site (judged as the link
    rewriter judges links, ``NAMEDSESSIONS_LINK_HOSTS`` included) comes back
    unchanged: the ID must not leave the site.
    """
    chosen = [_started(n)[1] for n in names]
    sessions = context.current()
    if sessions is None:
        return url
    if not names:
        chosen = [s for s in sessions.sessions.values() if "link" in s.tracking and not s.ended]
    params = {sessions.settings.param_name(s.name): s.id for s in chosen}
    if not params:
        return url
    origin = Origin(request.scheme, request.host, sessions.settings.link_hosts)
    if not is_same_origin(url, origin):
        return url
    sessions.id_in_body()
    return str(url_with_params(url, params))


def template_globals() -> dict[str, t.Callable[..., t.Any]]:
    return {
        "session_id": _template_session_id,
        "session_hidden_input": session_hidden_input,
        "session_url": session_url,
    }
