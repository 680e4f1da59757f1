"""Logins and logouts through Flask-Login's signals, for the session behind
``flask.session``.

Flask-Login keeps the session's ID across a login, so an ID that someone
planted or saw before it would open the logged-in session. Here every login
(by form, or by the remember-me cookie) and every logout gives the session a
fresh ID; the old one stops working at once (``NAMEDSESSIONS_REGENERATE_ON_LOGIN``).
"""

from __future__ import annotations

import typing as t

from flask import Flask

from .session_interface import named_flask_session

__all__ = ["connect"]


def connect(app: Flask) -> None:
    """Listen to Flask-Login's signals for ``app``, if Flask-Login is installed."""
    try:
        from flask_login import signals
    except ImportError:
        return
    signals.user_logged_in.connect(_logged_in, app, weak=False)
    signals.user_loaded_from_cookie.connect(_logged_in, app, weak=False)
    signals.user_logged_out.connect(_logged_out, app, weak=False)


def _logged_in(sender: Flask, user: t.Any = None, **extra: t.Any) -> None:
    """A user logged in: what this session holds is now theirs.

    The one place where a login changes the session: a fresh ID here, and the
    tie to the user (``bind_user``) once sessions of a user exist.
    """
    session = named_flask_session()
    session.regenerate_id()


def _logged_out(sender: Flask, user: t.Any = None, **extra: t.Any) -> None:
    """A user logged out: whoever holds the old ID holds nothing of theirs."""
    named_flask_session().regenerate_id()
