"""Link tracking applied to a Flask response: body, ``Location`` and headers.

The HTML is handled as latin-1 text, which maps every byte to one character and
back, so whatever is not rewritten leaves byte for byte, in any ASCII-based
encoding. Streamed bodies are rewritten chunk by chunk after the view returned,
with the IDs and hosts captured now.
"""

from __future__ import annotations

import typing as t

from flask import Response

from .rewrite import HTMLRewriter
from .rewrite import Origin
from .rewrite import rewrite_html
from .rewrite import rewrite_location

_HTML_TYPES = ("text/html", "application/xhtml+xml")


def _stream(
    chunks: t.Iterable[bytes | str], rewriter: HTMLRewriter, charset: str
) -> t.Iterator[bytes]:
    try:
        for chunk in chunks:
            if isinstance(chunk, str):
                chunk = chunk.encode(charset)
            out = rewriter.feed(chunk.decode("latin-1"))
            if out:
                yield out.encode("latin-1")
        tail = rewriter.close()
        if tail:
            yield tail.encode("latin-1")
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()


def apply_links(response: Response, params: dict[str, str], origin: Origin) -> None:
    """Add the session parameters to same-origin links, forms and redirects,
    and keep responses that carry an ID out of shared caches and referrers."""
    carries = False
    location = response.headers.get("Location")
    if location:
        changed = rewrite_location(location, params, origin)
        if changed != location:
            response.headers["Location"] = changed
            carries = True
    if response.mimetype in _HTML_TYPES and not response.direct_passthrough:
        if response.is_streamed:
            # What the body will carry is not known yet: assume the ID.
            carries = True
            response.response = _stream(response.response, HTMLRewriter(params, origin), "utf-8")
            response.headers.pop("Content-Length", None)
        else:
            html = response.get_data().decode("latin-1")
            rewritten = rewrite_html(html, params, origin)
            if rewritten != html:
                response.set_data(rewritten.encode("latin-1"))
                carries = True
    if carries:
        response.headers["Cache-Control"] = "private, no-store"
        response.headers.setdefault("Referrer-Policy", "same-origin")
