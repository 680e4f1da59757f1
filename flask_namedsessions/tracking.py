"""Incoming: how a session is tracked, and where its ID comes from.

Everything read here comes from the visitor, so nothing here raises: a missing,
repeated, oversized or undecodable value is simply "no ID".
"""

from __future__ import annotations

import typing as t

from flask import Request
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import RequestEntityTooLarge

from . import ids

if t.TYPE_CHECKING:
    from .config import Settings
    from .config import TrackingMode

__all__ = [
    "Channel",
    "Source",
    "chosen_mode",
    "cookie_id",
    "effective_modes",
    "param_id",
    "presented_ids",
    "reads_param",
]

#: Where a presented ID came from: the developer's ``id=``, the cookie, or
#: the request parameter.
Source = t.Literal["arg", "cookie", "param"]
#: What carries a session's ID out: its cookie, or its links and forms.
Channel = t.Literal["cookie", "link"]

_COOKIE: frozenset[Channel] = frozenset({"cookie"})
_LINK: frozenset[Channel] = frozenset({"link"})
_BOTH: frozenset[Channel] = frozenset({"cookie", "link"})
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def chosen_mode(
    settings: Settings,
    *,
    use_cookie: bool | None,
    use_link: bool | None,
    use_none: bool | None,
    use_auto: bool | None,
) -> tuple[TrackingMode, bool]:
    """The tracking the arguments (or the config) ask for, and whether a
    link-tracked session wants the cookie as well."""
    if use_none:
        return "none", False
    if use_auto:
        return "auto", False
    if use_link:
        return "link", bool(use_cookie)
    if use_cookie is not None:
        return ("cookie" if use_cookie else "none"), False
    return settings.default_tracking, False


def effective_modes(
    mode: TrackingMode, *, with_cookie: bool, carried_cookie: bool
) -> frozenset[Channel]:
    """The channels one session's ID travels by in this request."""
    if mode == "auto":
        return _COOKIE if carried_cookie else _BOTH
    if mode == "none":
        return frozenset()
    if mode == "link":
        return _BOTH if with_cookie else _LINK
    return _COOKIE


def reads_param(mode: TrackingMode, request: Request) -> bool:
    """Is an ID in the request parameter taken for a session tracked so?

    A session tracked by cookie alone takes it only from a request the
    browser says did not come from another site (``Sec-Fetch-Site``): a link
    or a form on another site could otherwise plant someone else's session in
    the visitor's cookie.
    """
    if mode != "cookie":
        return True
    return request.headers.get("Sec-Fetch-Site", "none") in ("same-origin", "none")


def cookie_id(request: Request, settings: Settings, name: str) -> str | None:
    """The ID in this session's cookie, if it looks like one."""
    value = request.cookies.get(settings.cookie_name(name))
    return value if ids.is_valid_id(value) else None


def param_id(request: Request, settings: Settings, name: str) -> str | None:
    """The ID in the query string or form body, if it looks like one.

    A URL-encoded body is cached as it is read, so the application can still
    read it raw (to check a webhook's signature, say). A body too large for
    the app's limits is the app's 413, as when the view reads the form.
    """
    key = settings.param_name(name)
    try:
        values = request.args.getlist(key)
        if request.method != "GET" and request.mimetype in _FORM_TYPES:
            if request.mimetype == _FORM_TYPES[0]:
                request.get_data(cache=True, parse_form_data=False)
            values += request.form.getlist(key)
    except RequestEntityTooLarge:
        raise
    except HTTPException:  # a broken body or a client gone: no ID
        return None
    for value in values:
        if ids.is_valid_id(value):
            return value
    return None


def presented_ids(
    request: Request, settings: Settings, name: str, mode: TrackingMode
) -> tuple[str | None, str | None]:
    """The IDs in the cookie and, where ``mode`` takes one, the parameter;
    the body is read only when there is no cookie."""
    from_cookie = cookie_id(request, settings, name)
    if from_cookie is not None or not reads_param(mode, request):
        return from_cookie, None
    return None, param_id(request, settings, name)
