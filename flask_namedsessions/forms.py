"""Which forms of a page get the session's hidden inputs (internal).

A form gets them right after its start tag when it submits to this site and is
a form at all: browsers ignore a ``<form>`` inside an open one (its fields
belong to the outer form). A form that already starts with them (from
``session_hidden_input``, or a rewrite before) gets only the missing ones.
"""

from __future__ import annotations

import typing as t

from .urls import action_is_ours
from .urls import LinkJudge

__all__ = ["Forms"]


class Forms:
    """The forms of one document, as its start and end tags are read.

    :param inputs: parameter name to the hidden input that carries it.
    :param judge: where URLs go, for the document so far.
    """

    def __init__(self, inputs: t.Mapping[str, str], judge: LinkJudge) -> None:
        self._inputs = dict(inputs)
        self._longest = max(map(len, self._inputs.values()), default=0)
        self._judge = judge
        #: a form is open, so another ``<form>`` is ignored (the browser's
        #: form element pointer is set)
        self.open = False

    def start(self, buf: str, end: int, action: str | None, final: bool) -> str | None:
        """A form start tag ends at ``end``: what to insert there, or ``None``
        when ``buf`` ends too early to see which inputs follow.

        :param action: its ``action`` as written, without quotes; ``None``
            without one.
        """
        if self.open:
            return ""
        present = self._present(buf, end, final)
        if present is None:
            return None
        self.open = True
        if action is not None and not action_is_ours(action, self._judge):
            return ""
        return "".join(text for name, text in self._inputs.items() if name not in present)

    def unreadable(self) -> None:
        """A form start tag too long to read: it gets nothing."""
        self.open = True

    def end(self) -> None:
        """A ``</form>``: the next form is a form again."""
        self.open = False

    def _present(self, buf: str, pos: int, final: bool) -> set[str] | None:
        """The params whose inputs follow at ``pos``, or ``None`` if ``buf``
        ends before that is certain."""
        present: set[str] = set()
        while buf.startswith("<input", pos) or (
            not final and len(buf) - pos < 6 and "<input".startswith(buf[pos:])
        ):
            rest = buf[pos : pos + self._longest]
            for name, text in self._inputs.items():
                if name not in present and buf.startswith(text, pos):
                    present.add(name)
                    pos += len(text)
                    break
            else:
                if not final and any(
                    len(rest) < len(text) and text.startswith(rest)
                    for name, text in self._inputs.items()
                    if name not in present
                ):
                    return None
                break
        return present
