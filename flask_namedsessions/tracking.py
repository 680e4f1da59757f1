"""Where an ID comes from, and the cookies that carry it.

Everything read here comes from the visitor, so nothing here raises: a missing,
repeated, oversized or undecodable value is simply "no ID".
"""

from __future__ import annotations

import typing as t

from flask import Request
from flask import Response
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import RequestEntityTooLarge

from . import ids

if t.TYPE_CHECKING:
    from .config import Settings

_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def chosen_mode(
    settings: Settings,
    *,
    use_cookie: bool | None,
    use_link: bool | None,
    use_none: bool | None,
    use_auto: bool | None,
) -> str:
    """The tracking the arguments (or the config) ask for: ``"cookie"``,
    ``"link"``, ``"link+cookie"``, ``"auto"`` or ``"none"``."""
    if use_none:
        return "none"
    if use_auto:
        return "auto"
    if use_link:
        return "link+cookie" if use_cookie else "link"
    if use_cookie is not None:
        return "cookie" if use_cookie else "none"
    return settings.default_tracking


def resolve_modes(mode: str, *, carried_cookie: bool) -> frozenset[str]:
    """The effective tracking modes of one session in this request."""
    if mode == "auto":
        return frozenset({"cookie"} if carried_cookie else {"cookie", "link"})
    if mode == "link+cookie":
        return frozenset({"link", "cookie"})
    return frozenset() if mode == "none" else frozenset({mode})


def reads_param(mode: str, request: Request) -> bool:
    """Is an ID in the request parameter taken for a session tracked so?

    A session tracked by cookie alone takes it only from a request the
    browser says did not come from another site (``Sec-Fetch-Site``): a link
    or a form on another site could otherwise plant someone else's session in
    the visitor's cookie.
    """
    if mode != "cookie":
        return True
    return request.headers.get("Sec-Fetch-Site", "none") in ("same-origin", "none")


def cookie_name(settings: Settings, name: str) -> str:
    return f"{settings.cookie_prefix}{name}"


def param_name(settings: Settings, name: str) -> str:
    return f"{settings.param_prefix}{name}"


def cookie_id(request: Request, settings: Settings, name: str) -> str | None:
    """The ID in this session's cookie, if it looks like one."""
    value = request.cookies.get(cookie_name(settings, name))
    return value if ids.is_valid_id(value) else None


def param_id(request: Request, settings: Settings, name: str) -> str | None:
    """The ID in the query string or form body, if it looks like one.

    A URL-encoded body is cached as it is read, so the application can still
    read it raw (to check a webhook's signature, say). A body too large for
    the app's limits is the app's 413, as when the view reads the form.
    """
    key = param_name(settings, name)
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


def cookie_options(
    settings: Settings,
    *,
    domain: str | None,
    path: str | None,
    secure: bool | None,
    httponly: bool | None,
    samesite: str | None,
) -> dict[str, t.Any]:
    """The cookie attributes: arguments first, then config, then what the
    browser demands (see :func:`enforce_cookie_rules`)."""
    options = {
        "domain": domain if domain is not None else settings.cookie_domain,
        "path": path if path is not None else settings.cookie_path,
        "secure": secure if secure is not None else settings.cookie_secure,
        "httponly": httponly if httponly is not None else settings.cookie_httponly,
        "samesite": samesite if samesite is not None else settings.cookie_samesite,
        "partitioned": settings.cookie_partitioned,
    }
    enforce_cookie_rules(settings, options)
    return options


def enforce_cookie_rules(settings: Settings, options: dict[str, t.Any]) -> None:
    """Force what browsers require, or they drop the cookie (and a cookie
    being expired would outlive its session): ``__Host-`` cookies are
    ``Secure`` with ``Path=/`` and no ``Domain``; ``__Secure-`` and
    partitioned cookies are ``Secure``."""
    prefix = settings.cookie_prefix
    if prefix.startswith("__Host-"):
        options.update(secure=True, path="/", domain=None)
    if prefix.startswith("__Secure-") or options["partitioned"]:
        options["secure"] = True


def set_cookie(
    response: Response,
    name: str,
    session_id: str,
    options: dict[str, t.Any],
    expires_minutes: float | None,
) -> None:
    max_age = None if expires_minutes is None else int(expires_minutes * 60)
    response.set_cookie(name, session_id, max_age=max_age, **options)


def expire_cookie(response: Response, name: str, options: dict[str, t.Any]) -> None:
    """Expire the cookie with the attributes it was set with, or a
    ``Secure``/``__Host-`` cookie would outlive its session."""
    response.delete_cookie(name, **options)
