"""Which forms of a page get the session's hidden inputs (internal).

A form gets them right after its start tag when it submits to this site and is
a form at all: browsers ignore a ``<form>`` inside an open one (its fields
belong to the outer form). A form that already starts with them (from
``session_hidden_input``, or a rewrite before) gets only the missing ones.

A submit control can send its form elsewhere: ``<button formaction>`` or
``<input formaction>`` inside the form, or anywhere in the page with
``form="<the form's id>"``. So a form gets no inputs if any button or input
with a ``formaction`` on another origin is inside it (up to ``</form>``), or
names its ``id`` anywhere in the page. Its output is held back until that is
known: its end tag, or for a form with an ``id`` the end of the page. If that
takes more than :data:`LOOKAHEAD` characters, the form gets no inputs.
"""

from __future__ import annotations

import typing as t

from .urls import action_is_ours
from .urls import LinkJudge

__all__ = ["LOOKAHEAD", "Forms"]

#: How far past a form's start tag its fate must be known for it to get the
#: inputs: its ``</form>``, or the end of the page for a form with an ``id``.
LOOKAHEAD = 262144


class _Pending:
    """A form whose inputs wait for what follows it."""

    __slots__ = ("deadline", "form_id", "inside", "slot", "text")

    def __init__(self, slot: int, deadline: int, form_id: str | None, text: str) -> None:
        self.slot = slot
        self.deadline = deadline
        self.form_id = form_id
        self.text = text
        #: before its </form>: every control read belongs to it
        self.inside = True


class Forms:
    """The forms of one document, as its tags are read, and the output that
    waits for them.

    :param inputs: parameter name to the hidden input that carries it.
    :param judge: where URLs go, for the document so far.
    :param out: the output so far; forms add to it and hold back its end.
    """

    def __init__(self, inputs: t.Mapping[str, str], judge: LinkJudge, out: list[str]) -> None:
        self._inputs = dict(inputs)
        self._longest = max(map(len, self._inputs.values()), default=0)
        self._judge = judge
        self._out = out
        #: a form is open, so another ``<form>`` is ignored (the browser's
        #: form element pointer is set)
        self.open = False
        self._pending: list[_Pending] = []
        #: ids named by a control with a formaction elsewhere (lower case)
        self._named: set[str] = set()
        #: a control whose attributes could not be read may name any form
        self._any_named = False

    def start(
        self,
        buf: str,
        pos: int,
        end: int,
        action: str | None,
        form_id: str | None,
        html: bool | None,
        at: int,
        final: bool,
    ) -> bool:
        """The form start tag ``buf[pos:end]`` (ending at ``at`` in the
        document): add it to the output, and a place for the inputs;
        ``False`` (and nothing added) when ``buf`` ends too early to see which
        inputs follow already.

        :param action: its ``action`` as written, without quotes; ``None``
            without one.
        :param form_id: its ``id``, as the browser reads it; ``None``
            without one.
        :param html: whether a browser reads it as an HTML form: ``False``
            (an SVG or MathML element) changes nothing; ``None`` (it may, or
            the tag is too long to read) gets no inputs but counts as open.
        """
        if html is False:
            self._out.append(buf[pos:end])
            return True
        if html is None:
            self.open = True
        if self.open:
            self._out.append(buf[pos:end])
            return True
        present = self._present(buf, end, final)
        if present is None:
            return False
        self.open = True
        self._out.append(buf[pos:end])
        if action is not None and not action_is_ours(action, self._judge):
            return True
        text = "".join(text for name, text in self._inputs.items() if name not in present)
        key = None if form_id is None else form_id.lower()
        if text and not (key is not None and (key in self._named or self._any_named)):
            self._pending.append(_Pending(len(self._out), at + LOOKAHEAD, key, text))
            self._out.append("")
        return True

    def unreadable(self) -> None:
        """A form start tag too long to read: it gets nothing."""
        self.open = True

    def control(self, at: int, action: str | None, form_id: str | None) -> None:
        """A button or input at ``at`` with a ``formaction``: if that is on
        another origin, no form it may submit gets the inputs.

        :param action: its ``formaction`` as the browser reads it; ``None``
            for a control too long to read, which may name any form.
        :param form_id: its ``form`` attribute, as the browser reads it.
        """
        if action is not None and action_is_ours(action, self._judge):
            return
        readable = action is not None
        self._expire(at)
        if not readable:
            self._any_named = True
        elif form_id is not None:
            self._named.add(form_id.lower())
        for form in self._pending:
            if form.inside or not readable or form.form_id == (form_id or "").lower():
                self._decide(form, False)
        self._drop_decided()

    def end(self, at: int) -> None:
        """A ``</form>`` at ``at``: the next form is a form again; the form
        it ends gets the inputs unless an ``id`` keeps it waiting."""
        self.open = False
        self._expire(at)
        for form in self._pending:
            if form.inside:
                form.inside = False
                if form.form_id is None:
                    self._decide(form, True)
        self._drop_decided()

    def advance(self, at: int) -> None:
        """Everything before ``at`` has been read."""
        self._expire(at)
        self._drop_decided()

    def finish(self, at: int, *, read: bool = True) -> None:
        """The document ends at ``at``; ``read`` is false when the rewriter
        stopped reading it before that, so nothing after is known."""
        self._expire(at)
        for form in self._pending:
            self._decide(form, read)
        self._pending.clear()

    def release(self) -> str:
        """The output that no form waits for any more, taken out."""
        upto = self._pending[0].slot if self._pending else len(self._out)
        text = "".join(self._out[:upto])
        del self._out[:upto]
        for form in self._pending:
            form.slot -= upto
        return text

    def _expire(self, at: int) -> None:
        for form in self._pending:
            if form.deadline < at:
                self._decide(form, False)

    def _decide(self, form: _Pending, inputs: bool) -> None:
        if form.slot >= 0:
            self._out[form.slot] = form.text if inputs else ""
            form.slot = -1

    def _drop_decided(self) -> None:
        self._pending = [form for form in self._pending if form.slot >= 0]

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
