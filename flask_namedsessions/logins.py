"""Logins and logouts through Flask-Login's signals, for the session behind
``flask.session``.

Flask-Login keeps the session's ID across a login, so an ID that someone
planted or saw before it would open the logged-in session. Here every login
(by form, or by the remember-me cookie) and every logout gives the session a
fresh ID; the old one stops working at once (``NAMEDSESSIONS_REGENERATE_ON_LOGIN``),
and a login replaces Flask-WTF's CSRF secret too.
A login also binds the session to the user, so that the user's devices can be
listed and logged out; a logout unbinds it, and so does Flask-Login's strong
session protection when it drops the login.
"""

from __future__ import annotations

import typing as t

from flask import Flask
from flask import g
from flask import session as flask_session

from .session_interface import named_flask_session

if t.TYPE_CHECKING:
    from .session import NamedSession

__all__ = ["USER_ID", "connect"]

#: Flask-Login's key for the ID of the user logged in to the session.
USER_ID = "_user_id"


def connect(app: Flask, *, regenerate: bool) -> None:
    """Listen to Flask-Login's signals for ``app``, if Flask-Login is installed;
    ``regenerate`` gives the session a fresh ID at each login and logout."""
    try:
        from flask_login import signals
    except ImportError:
        return
    logged_in = _logged_in if regenerate else _bound
    logged_out = _logged_out if regenerate else _unbound
    signals.user_logged_in.connect(logged_in, app, weak=False)
    signals.user_loaded_from_cookie.connect(logged_in, app, weak=False)
    signals.user_logged_out.connect(logged_out, app, weak=False)

    def protected(sender: Flask, **extra: t.Any) -> None:
        """Flask-Login's strong session protection dropped a login, without
        ``user_logged_out``: that is a logout all the same. (The signal also
        comes for sessions that nobody logged in to, and for logins that
        basic protection only marks as not fresh: those stay as they are.)"""
        if USER_ID not in flask_session and named_flask_session().user is not None:
            logged_out(sender)

    signals.session_protected.connect(protected, app, weak=False)


def _bound(sender: Flask, user: t.Any = None, **extra: t.Any) -> NamedSession:
    """The session is the user's now: ``user_sessions`` lists it."""
    session = named_flask_session()
    user_id = None if user is None else user.get_id()
    session.bind_user(None if user_id is None else str(user_id))
    return session


def _unbound(sender: Flask, user: t.Any = None, **extra: t.Any) -> NamedSession:
    """The session is nobody's: "log out everywhere" leaves it alone."""
    session = named_flask_session()
    session.bind_user(None)
    return session


def _logged_in(sender: Flask, user: t.Any = None, **extra: t.Any) -> None:
    """A user logged in: what this session holds is now theirs, under a
    fresh ID, and with a fresh CSRF secret (Flask-WTF's, which Django too
    replaces at login): whoever planted the session, and took a token from
    a form of it, could otherwise still forge the user's forms."""
    _bound(sender, user).regenerate_id()
    field = sender.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    flask_session.pop(field, None)
    g.pop(field, None)  # the token Flask-WTF keeps for this request


def _logged_out(sender: Flask, user: t.Any = None, **extra: t.Any) -> None:
    """A user logged out: whoever holds the old ID holds nothing of theirs."""
    _unbound(sender, user).regenerate_id()
