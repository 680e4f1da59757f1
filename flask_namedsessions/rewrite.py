"""Adding session IDs to the links and forms of outgoing HTML, chunk by chunk.

The document is read once, as a browser reads it (:mod:`.scanner`), and
copied to the output except where a link or a form gets the parameters. So
malformed input costs no more than a clean page, streaming holds back at most
about ``2 * MAX_TAG`` characters (plus up to :data:`.forms.LOOKAHEAD` while a
form waits for what follows it), and any split into chunks gives the same
output as rewriting the whole text at once.
"""

from __future__ import annotations

import html
import typing as t

from .scanner import Scanner
from .urls import Origin
from .urls import param_pairs

__all__ = ["HTMLRewriter", "hidden_input", "rewrite_html"]


class HTMLRewriter:
    """Rewrite one HTML document fed in chunks of text.

    :param params: parameter name (``"_session:cart"``) to session ID.
    :param origin: the scheme and hosts that count as this site.
    """

    def __init__(self, params: t.Mapping[str, str], origin: Origin) -> None:
        self._params = dict(params)
        inputs = {name: hidden_input(name, value) for name, value in self._params.items()}
        self._scanner = Scanner(param_pairs(self._params), inputs, origin)
        self._buf = ""
        #: where self._buf starts in the document
        self._offset = 0
        self._chunks: list[str] = []
        self._pending = 0
        #: gather this many more characters before trying again
        self._wait = 0

    def feed(self, chunk: str) -> str:
        """Return the output that is final so far; hold back only what may
        still change (an incomplete tag, the few characters that may begin an
        end marker, and what follows a form until it is known whether it
        gets the inputs)."""
        if not self._params:
            return chunk
        self._chunks.append(chunk)
        self._pending += len(chunk)
        if self._pending < self._wait:
            return ""
        return self._process(final=False)

    def close(self) -> str:
        """Return everything held back; an incomplete tag stays as it is."""
        if not self._params:
            return ""
        return self._process(final=True)

    def _process(self, *, final: bool) -> str:
        buf = self._buf + "".join(self._chunks)
        self._chunks.clear()
        self._pending = 0
        pos = self._scanner.run(buf, self._offset, final)
        self._buf = buf[pos:]
        self._offset += pos
        # what is left is markup that needs more text: try again once its
        # length has doubled, so retries cost linear time in all
        self._wait = len(self._buf) if self._scanner.in_markup else 0
        return self._scanner.output(self._offset + (len(self._buf) if final else 0), final)


def hidden_input(name: str, value: str) -> str:
    """The hidden input that carries one session's ID in a form; the
    template helper writes the same text, so the rewriter sees it is there."""
    return f'<input type="hidden" name="{html.escape(name)}" value="{html.escape(value)}">'


def rewrite_html(html_text: str, params: t.Mapping[str, str], origin: Origin) -> str:
    """Rewrite a whole document; the same as feeding it in any chunks.

    :param html_text: the document, decoded (latin-1 keeps every byte).
    :param params: parameter name to session ID; empty changes nothing.
    :param origin: the scheme and hosts that count as this site.
    """
    rewriter = HTMLRewriter(params, origin)
    return rewriter.feed(html_text) + rewriter.close()
