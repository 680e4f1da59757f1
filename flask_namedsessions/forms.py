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

import collections
import typing as t

from .urls import action_is_ours
from .urls import LinkJudge

__all__ = ["LOOKAHEAD", "Forms"]

#: How far past a form's start tag its fate must be known for it to get the
#: inputs: its ``</form>``, or the end of the page for a form with an ``id``.
LOOKAHEAD = 262144


class _Pending:
    """A form whose inputs wait for what follows it."""

    __slots__ = ("deadline", "form_id", "slot", "text")

    def __init__(self, slot: int, deadline: int, form_id: str | None, text: str) -> None:
        #: where its inputs go, counted from the start of the output
        self.slot = slot
        self.deadline = deadline
        self.form_id = form_id
        #: what goes in its slot; None once decided
        self.text: str | None = text


class Forms:
    """The forms of one document, as its tags are read, and the output that
    waits for them.

    :param inputs: parameter name to the hidden input that carries it.
    :param judge: where URLs go, for the document so far.
    :param out: the output not released yet; forms add to it and hold back
        what follows a waiting form.
    """

    def __init__(self, inputs: t.Mapping[str, str], judge: LinkJudge, out: list[str]) -> None:
        self._inputs = dict(inputs)
        self._longest = max(map(len, self._inputs.values()), default=0)
        self._all = "".join(self._inputs.values())
        self._judge = judge
        self._out = out
        #: pieces of output released so far (slots count from the start)
        self._released = 0
        #: a form is open, so another ``<form>`` is ignored (the browser's
        #: form element pointer is set)
        self.open = False
        #: waiting forms, oldest (and so first to expire) first
        self._waiting: collections.deque[_Pending] = collections.deque()
        #: the waiting form whose end tag has not come: controls are in it
        self._inside: _Pending | None = None
        #: waiting forms by id (lower case)
        self._by_id: dict[str, list[_Pending]] = {}
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
        text = (
            "".join(text for name, text in self._inputs.items() if name not in present)
            if present
            else self._all
        )
        key = None if form_id is None else form_id.lower()
        if text and not (key is not None and (key in self._named or self._any_named)):
            form = _Pending(self._released + len(self._out), at + LOOKAHEAD, key, text)
            self._out.append("")
            self._waiting.append(form)
            self._inside = form
            if key is not None:
                self._by_id.setdefault(key, []).append(form)
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
        self._expire(at)
        if self._inside is not None:
            self._decide(self._inside, False)
        if action is None:
            self._any_named = True
            for form in self._waiting:
                if form.form_id is not None:
                    self._decide(form, False)
        elif form_id is not None:
            key = form_id.lower()
            self._named.add(key)
            for form in self._by_id.pop(key, ()):
                self._decide(form, False)

    def end(self, at: int) -> None:
        """A ``</form>`` at ``at``: the next form is a form again; the form
        it ends gets the inputs unless an ``id`` keeps it waiting."""
        self.open = False
        self._expire(at)
        if self._inside is not None and self._inside.form_id is None:
            self._decide(self._inside, True)
        self._inside = None

    def advance(self, at: int) -> None:
        """Everything before ``at`` has been read."""
        self._expire(at)

    def finish(self, at: int, *, read: bool = True) -> None:
        """The document ends at ``at``; ``read`` is false when the rewriter
        stopped reading it before that, so nothing after is known."""
        self._expire(at)
        for form in self._waiting:
            self._decide(form, read)
        self._waiting.clear()
        self._inside = None

    def release(self) -> str:
        """The output that no form waits for any more, taken out."""
        waiting = self._waiting
        while waiting and waiting[0].text is None:
            waiting.popleft()
        upto = waiting[0].slot - self._released if waiting else len(self._out)
        if not upto:
            return ""
        text = "".join(self._out[:upto])
        del self._out[:upto]
        self._released += upto
        return text

    def _expire(self, at: int) -> None:
        """Forms whose fate is still open ``LOOKAHEAD`` after them get nothing."""
        waiting = self._waiting
        while waiting and (waiting[0].text is None or waiting[0].deadline < at):
            self._decide(waiting.popleft(), False)

    def _decide(self, form: _Pending, inputs: bool) -> None:
        if form.text is not None:
            self._out[form.slot - self._released] = form.text if inputs else ""
            form.text = None

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
                if (
                    not final
                    and len(rest) < self._longest
                    and any(
                        len(rest) < len(text) and text.startswith(rest)
                        for name, text in self._inputs.items()
                        if name not in present
                    )
                ):
                    return None
                break
        return present
