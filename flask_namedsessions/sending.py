"""Outgoing: each started session's ID on the response.

Cookies are set, refreshed or expired with the attributes they were set with;
link-tracked IDs go into the HTML body, streamed or whole, and into a
same-origin redirect's ``Location``; and a response that carries an ID is kept
out of shared caches and other sites' ``Referer``.

The HTML is handled as latin-1 text, which maps every byte to one character and
back, so whatever is not rewritten leaves byte for byte, in any ASCII-based
encoding. Streamed bodies are rewritten chunk by chunk after the view returned,
with the IDs and hosts captured now.
"""

from __future__ import annotations

import typing as t

from flask import Request
from flask import Response
from werkzeug.exceptions import SecurityError
from werkzeug.wsgi import ClosingIterator

from . import ids
from .rewrite import HTMLRewriter
from .rewrite import rewrite_html
from .urls import Origin
from .urls import rewrite_location

if t.TYPE_CHECKING:
    from .config import CookieOptions
    from .config import Settings
    from .session import NamedSession

__all__ = [
    "apply_links",
    "expire_cookie",
    "guard_url",
    "keep_from_caches",
    "keep_from_referrers",
    "mark_private",
    "send_ids",
    "set_cookie",
    "url_carries_id",
]


def send_ids(
    response: Response,
    request: Request,
    settings: Settings,
    sessions: t.Iterable[NamedSession],
    *,
    saved: bool,
    read_cookies: bool,
    id_in_body: bool,
) -> None:
    """Set, refresh or expire cookies and rewrite links, per started session.

    :param saved: the sessions were saved; if not, only the cookies of
        sessions that were ended (deleted at once) are expired.
    :param read_cookies: an answer of the request depended on its cookies.
    :param id_in_body: a template helper wrote an ID into the body.
    """
    params: dict[str, str] = {}
    vary = read_cookies
    # An ID in the page's body or its own URL: a shared cache would keep the
    # page, and the Referer of its links would carry the URL.
    exposed = id_in_body or url_carries_id(request, settings)
    no_store = exposed
    for session in sessions:
        record = session._record
        cookie = settings.cookie_name(session.name)
        carried = request.cookies.get(cookie)
        if record.source != "arg":
            vary = True
        if record.source == "param":
            exposed = no_store = True
        if record.tossed:
            continue  # the visitor's own cookie is neither replaced nor expired
        if session.ended:
            if carried is not None or "cookie" in session.tracking:
                expire_cookie(response, cookie, record.cookie)
            continue
        if not saved or session.aborted or record.gone or not session._kept(settings.save_empty):
            continue
        resend = record.resend_cookie
        if resend is None:
            resend = record.cookie_expires is not None
        if "cookie" in session.tracking and (carried != session.id or resend):
            set_cookie(response, cookie, session.id, record.cookie, record.cookie_expires)
            no_store = True  # a shared cache would hand this ID to everyone
        if "link" in session.tracking:
            params[settings.param_name(session.name)] = session.id
    if vary:
        if "Vary" in response.headers:
            response.vary.add("Cookie")
        else:
            response.headers["Vary"] = "Cookie"  # nothing to parse and merge
    if no_store:
        keep_from_caches(response)
    if exposed:
        keep_from_referrers(response)
    if params:
        try:
            host = request.host
        except SecurityError:
            return  # a host the app does not trust: it answers 400 anyway
        apply_links(response, params, Origin(request.scheme, host, settings.link_hosts))


def url_carries_id(request: Request, settings: Settings) -> bool:
    """Does the request's URL carry a session parameter, used or not? Its
    page must then stay out of shared caches and other sites' ``Referer``,
    even when it starts no session."""
    if not request.query_string:
        return False
    prefix = settings.param_prefix
    return any(
        key.startswith(prefix) and ids.is_valid_name(key[len(prefix) :]) for key in request.args
    )


def guard_url(response: Response, request: Request, settings: Settings) -> None:
    """For a request that started no session: keep a page whose URL
    carries an ID private all the same."""
    if url_carries_id(request, settings):
        mark_private(response)


def set_cookie(
    response: Response,
    name: str,
    session_id: str,
    options: CookieOptions,
    expires_minutes: float | None,
) -> None:
    max_age = None if expires_minutes is None else int(expires_minutes * 60)
    response.set_cookie(
        name,
        session_id,
        max_age=max_age,
        path=options.path,
        domain=options.domain,
        secure=options.secure,
        httponly=options.httponly,
        samesite=options.samesite,
        partitioned=options.partitioned,
    )


def expire_cookie(response: Response, name: str, options: CookieOptions) -> None:
    """Expire the cookie with the attributes it was set with, or a
    ``Secure``/``__Host-`` cookie would outlive its session."""
    response.delete_cookie(
        name,
        path=options.path,
        domain=options.domain,
        secure=options.secure,
        httponly=options.httponly,
        samesite=options.samesite,
        partitioned=options.partitioned,
    )


def keep_from_caches(response: Response) -> None:
    """Keep a response that carries an ID out of shared caches, whatever
    the view said (``public``, ``max-age``)."""
    response.headers["Cache-Control"] = "private, no-store"


#: Policies that send no query of a page to another origin.
_STRICT_REFERRERS = frozenset({"no-referrer", "same-origin", "strict-origin"})
_REFERRER_POLICIES = _STRICT_REFERRERS | {
    "no-referrer-when-downgrade",
    "origin",
    "origin-when-cross-origin",
    "strict-origin-when-cross-origin",
    "unsafe-url",
}


def keep_from_referrers(response: Response) -> None:
    """Keep the URL of a page that carries an ID out of other sites'
    ``Referer``: ``same-origin``, unless the view chose a policy at least
    as strict. A browser follows the last policy it knows in the list."""
    chosen = response.headers.get("Referrer-Policy", "")
    known = [p for p in (v.strip().lower() for v in chosen.split(",")) if p in _REFERRER_POLICIES]
    if not known or known[-1] not in _STRICT_REFERRERS:
        response.headers["Referrer-Policy"] = "same-origin"


def mark_private(response: Response) -> None:
    """Keep a response that carries an ID out of shared caches, and its URL
    out of other sites' ``Referer``."""
    keep_from_caches(response)
    keep_from_referrers(response)


def _stream(chunks: t.Iterable[bytes | str], rewriter: HTMLRewriter) -> t.Iterator[bytes]:
    for chunk in chunks:
        if isinstance(chunk, str):
            chunk = chunk.encode()  # as Werkzeug sends text chunks
        out = rewriter.feed(chunk.decode("latin-1"))
        if out:
            yield out.encode("latin-1")
    tail = rewriter.close()
    if tail:
        yield tail.encode("latin-1")


def _rewritable(response: Response) -> bool:
    """Is the body HTML text we may change? Not XHTML (XML would need
    self-closed inputs and escaped ``&``), not compressed bytes, not one range
    of a document (``Content-Range`` would no longer match), and not a file
    sent as it is."""
    encoding = response.headers.get("Content-Encoding", "identity")
    return (
        response.mimetype == "text/html"
        and encoding.strip().lower() == "identity"
        and response.status_code != 206
        and not response.direct_passthrough
    )


def apply_links(response: Response, params: dict[str, str], origin: Origin) -> None:
    """Add the session parameters to same-origin links, forms and redirects,
    and keep responses that carry an ID out of shared caches and referrers."""
    carries = False
    location = response.headers.get("Location")
    if location and 300 <= response.status_code < 400:
        changed = rewrite_location(location, params, origin)
        if changed != location:
            response.headers["Location"] = changed
            carries = True
    if _rewritable(response):
        if response.is_streamed:
            # What the body will carry is not known yet: assume the ID.
            carries = True
            app_iter = response.response
            stream = _stream(app_iter, HTMLRewriter(params, origin))
            # The app's iterable is closed even if the stream never starts (a
            # HEAD request, a client gone before the first chunk).
            close = getattr(app_iter, "close", None)
            response.response = ClosingIterator(stream, close) if close else stream
            response.headers.pop("Content-Length", None)
        else:
            html = response.get_data().decode("latin-1")
            rewritten = rewrite_html(html, params, origin)
            if rewritten != html:
                response.set_data(rewritten.encode("latin-1"))
                carries = True
    if carries:
        mark_private(response)
