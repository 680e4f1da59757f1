"""The links of one document: which get the parameters, written how (internal).

A link's URL is judged against the document's ``<base>``, the first HTML one
with an ``href``; a ``<base>`` that a browser may or may not take as HTML is
taken as one that cannot be read, so that relative URLs count as foreign
whichever way the browser reads it. Decisions are cached by the attribute
value as written: pages repeat their URLs.
"""

from __future__ import annotations

from .urls import link_params
from .urls import LinkJudge
from .urls import ParamPairs

__all__ = ["Links"]


class Links:
    """Decide the link attributes of one document.

    :param pairs: the parameters, with their query text.
    :param judge: where URLs go, for this document.
    """

    def __init__(self, pairs: ParamPairs, judge: LinkJudge) -> None:
        self._pairs = pairs
        self._judge = judge
        self._base_seen = False
        #: URL as written (quotes included) -> what to write instead (read it
        #: before calling :meth:`rewrite`, which fills it)
        self.decided: dict[str, str] = {}
        #: what a simple path ("/p/1/shoes") gets; "" once relative URLs are not ours
        self.simple = "?" + "&".join(text for _, text in pairs)

    def base(self, href: str | None, html: bool | None) -> None:
        """A ``<base href>`` (``href`` ``None``: one too long to read).

        :param html: whether a browser reads it as an HTML element: ``False``
            (an SVG or MathML one) changes nothing, ``None`` (it may go
            either way) is taken as an unreadable base.
        """
        if self._base_seen or html is False:
            return
        self._base_seen = True
        self._judge.set_base(href if html else None)
        self.decided.clear()
        if not self._judge.relative_ours:
            self.simple = ""

    def rewrite(self, token: str) -> str:
        """The attribute value ``token`` (as written, quotes included) with
        the params in its URL, or ``token`` itself when it stays."""
        new = self.decided.get(token)
        if new is not None:
            return new
        quote = token[:1]
        if quote == '"' or quote == "'":
            raw = token[1:-1]
        else:
            quote, raw = "", token
        at, text = link_params(raw, self._judge, self._pairs)
        new = token
        if text:
            if not quote:  # the query needs quotes around it, if they fit
                quote = '"' if '"' not in raw else "'" if "'" not in raw else ""
            new = f"{quote}{raw[:at]}{text}{raw[at:]}{quote}"
        if len(self.decided) >= 4096:
            self.decided.clear()
        self.decided[token] = new
        return new
