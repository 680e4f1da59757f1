"""Link tracking applied to a Flask response: body, ``Location`` and headers.

The HTML is handled as latin-1 text, which maps every byte to one character and
back, so whatever is not rewritten leaves byte for byte, in any ASCII-based
encoding. Streamed bodies are rewritten chunk by chunk after the view returned,
with the IDs and hosts captured now.
"""

from __future__ import annotations

import typing as t

from flask import Response
from werkzeug.wsgi import ClosingIterator

from .rewrite import HTMLRewriter
from .rewrite import Origin
from .rewrite import rewrite_html
from .rewrite import rewrite_location


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


def mark_private(response: Response) -> None:
    """Keep a response that carries an ID out of shared caches, and its URL
    out of other sites' ``Referer``."""
    response.headers["Cache-Control"] = "private, no-store"
    response.headers.setdefault("Referrer-Policy", "same-origin")
