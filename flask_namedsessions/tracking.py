"""Incoming: how a session is tracked, and where its ID comes from.

Everything read here comes from the visitor, so nothing here raises: a missing,
oversized or undecodable value is simply "no ID". Two rules keep a visitor from
being handed someone else's session: a session tracked by cookie alone never
takes its ID from a link or a form, and the others take it only from requests
that a page of this site started (SPEC section 4). A cookie sent twice with
different values (one tossed by a sibling subdomain) loads nothing.
"""

from __future__ import annotations

import dataclasses
import typing as t
from urllib.parse import urlsplit

from flask import Request
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.exceptions import SecurityError

from . import ids
from .urls import is_same_origin
from .urls import Origin

if t.TYPE_CHECKING:
    from .config import Settings
    from .config import TrackingMode

__all__ = [
    "Channel",
    "Offered",
    "Source",
    "chosen_mode",
    "effective_modes",
    "from_this_site",
    "presented_ids",
    "reads_cookie",
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
#: Pairs of ``session_start`` arguments that ask for different things.
_CONTRADICTIONS = (
    ("use_cookie", True, "use_none", True),
    ("use_link", True, "use_none", True),
    ("use_auto", True, "use_none", True),
    ("use_auto", True, "use_cookie", False),
    ("use_auto", True, "use_link", True),
    ("use_auto", True, "use_link", False),
)


def chosen_mode(
    settings: Settings,
    name: str,
    *,
    use_cookie: bool | None,
    use_link: bool | None,
    use_none: bool | None,
    use_auto: bool | None,
) -> tuple[TrackingMode, bool]:
    """The tracking the arguments (or the config) ask for, and whether a
    link-tracked session wants the cookie as well.

    :raises ValueError: for arguments that contradict each other, which
        would otherwise quietly track by neither.
    """
    given = {"use_cookie": use_cookie, "use_link": use_link, "use_none": use_none}
    given["use_auto"] = use_auto
    for first, first_value, second, second_value in _CONTRADICTIONS:
        if given[first] is first_value and given[second] is second_value:
            raise ValueError(
                f"contradictory tracking for session {name!r}: {first}={first_value}"
                f" with {second}={second_value}; choose one mode"
            )
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


def _referrer_origin(request: Request, settings: Settings) -> bool:
    """Is the ``Referer`` a page of this site (or of a link host), on this
    request's scheme?"""
    referrer = request.headers.get("Referer", "")
    try:
        scheme = urlsplit(referrer).scheme.lower()
        host = request.host
    except (ValueError, SecurityError):
        return False
    if scheme != request.scheme:
        return False
    return is_same_origin(referrer, Origin(scheme, host, settings.link_hosts))


def from_this_site(request: Request, settings: Settings) -> bool:
    """Did a page of this site start this request?

    The browser says so in ``Sec-Fetch-Site``; ``same-site`` counts only for
    a page on a ``NAMEDSESSIONS_LINK_HOSTS`` host, which its ``Referer``
    names. A browser without Fetch Metadata is judged by its ``Referer``
    alone. A link opened from mail, a bookmark or the address bar
    (``none``, or no ``Referer``) was not started here.
    """
    site = request.headers.get("Sec-Fetch-Site")
    if site == "same-origin":
        return True
    if site is None or (site == "same-site" and settings.link_hosts):
        return _referrer_origin(request, settings)
    return False


def reads_param(mode: TrackingMode, request: Request, settings: Settings) -> bool:
    """Is an ID in the request parameter taken for a session tracked so?

    Never for a session tracked by cookie alone (an ID in a link could only
    plant someone else's session in the visitor's cookie); for the others,
    only on a request that a page of this site started.
    """
    return mode != "cookie" and from_this_site(request, settings)


@dataclasses.dataclass(frozen=True)
class Offered:
    """What the request presents for one session."""

    cookie: str | None = dataclasses.field(default=None, repr=False)
    param: str | None = dataclasses.field(default=None, repr=False)
    #: the cookie came more than once, with different values: a sibling
    #: subdomain may have tossed one, so none of them is used
    tossed: bool = False


def _cookie_id(request: Request, settings: Settings, name: str) -> Offered:
    """The ID in this session's cookie, if it looks like one and came once
    (or every copy says the same)."""
    values = set(request.cookies.getlist(settings.cookie_name(name)))
    if len(values) > 1:
        return Offered(tossed=True)
    value = values.pop() if values else None
    return Offered(cookie=value if ids.is_valid_id(value) else None)


def _body_readable(request: Request, limit: int) -> bool:
    """Is the body a form small enough to read for the parameter? A body of
    unknown length (chunked) or longer than ``limit`` is left for the view."""
    length = request.content_length
    return (
        request.method not in ("GET", "HEAD")
        and request.mimetype in _FORM_TYPES
        and length is not None
        and length <= limit
    )


def _param_id(request: Request, settings: Settings, name: str) -> str | None:
    """The ID in the query string or a small form body, if it looks like one.

    The body is cached as it is read, so the view can still read it, raw
    (``request.get_data()``, to check a webhook's signature, say) or as a
    form. A body too large for the app's limits is the app's 413, as when
    the view reads the form.
    """
    key = settings.param_name(name)
    try:
        values = request.args.getlist(key)
        if _body_readable(request, settings.max_param_body):
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


def reads_cookie(mode: TrackingMode, *, with_cookie: bool) -> bool:
    """Is the cookie read for a session tracked so? Only where it is one of
    the session's channels: a session tracked by link (without
    ``use_cookie=True``) or by none never sets one, so a cookie of its name
    can only have been put there by someone else (a sibling subdomain)."""
    return mode in ("cookie", "auto") or (mode == "link" and with_cookie)


def presented_ids(
    request: Request,
    settings: Settings,
    name: str,
    mode: TrackingMode,
    *,
    with_cookie: bool = False,
) -> Offered:
    """The IDs in the cookie, where the session is tracked by one, and, where
    ``mode`` takes one, the parameter; the parameter is looked for only when
    there is no cookie."""
    if reads_cookie(mode, with_cookie=with_cookie):
        found = _cookie_id(request, settings, name)
    else:
        found = Offered()
    if found.cookie is not None or found.tossed or not reads_param(mode, request, settings):
        return found
    return Offered(param=_param_id(request, settings, name))
