"""Jinja globals: the ID, a hidden input, and a URL that carries sessions.

For pages that track the ID themselves, or whose forms the link rewriter does
not reach (forms built by JavaScript, for instance).
"""

from __future__ import annotations

import typing as t

from markupsafe import Markup

from .api import get_session
from .api import request_sessions
from .api import session_id
from .rewrite import hidden_input
from .rewrite import url_with_params
from .state import get_state
from .tracking import param_name


def _template_session_id(name: str) -> str:
    """:func:`~flask_namedsessions.session_id`, for a page that shows it."""
    found = session_id(name)
    request_sessions().id_in_body = True
    return found


def session_hidden_input(name: str) -> Markup:
    """``<input type="hidden">`` carrying session ``name``'s ID."""
    request_sessions().id_in_body = True
    session = get_session(name)
    return Markup(hidden_input(param_name(get_state().settings, name), session.id))


def session_url(url: str, *names: str) -> str:
    """``url`` with the parameter of each named session, or of every
    link-tracked session when no name is given."""
    settings = get_state().settings
    if names:
        sessions = [get_session(n) for n in names]
    else:
        sessions = [
            r.session
            for r in request_sessions().records.values()
            if "link" in r.session.tracking and not r.session.ended
        ]
    params = {param_name(settings, s.name): s.id for s in sessions}
    if params:
        request_sessions().id_in_body = True
    return str(url_with_params(url, params))


def template_globals() -> dict[str, t.Callable[..., t.Any]]:
    return {
        "session_id": _template_session_id,
        "session_hidden_input": session_hidden_input,
        "session_url": session_url,
    }
