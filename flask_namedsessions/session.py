"""``NamedSession``: one started session, and a mapping over its variables.

The values themselves live in :data:`flask.g` (Lasso's "thread variables"), so
templates and views read them as ``g.name``; the mapping is the simple face of
the same data for code that prefers ``session["name"]``.
"""

from __future__ import annotations

import typing as t
from collections.abc import MutableMapping

from flask import current_app
from flask import g

from .exceptions import SessionValueError
from .models import VAR_NAME_LENGTH

if t.TYPE_CHECKING:
    from .lifecycle import RequestSessions

#: Our own slot in ``flask.g``; it cannot be tracked.
STATE_ATTR = "_namedsessions"


def check_var(session: str, var: object) -> None:
    """Raise :exc:`SessionValueError` saying what is allowed unless ``var``
    may be tracked.

    A name that ``g`` itself has (``get``, ``pop``, ``__dict__``) would hide
    or break it, for the application and for the extension alike.
    """
    if (
        not isinstance(var, str)
        or not var.isidentifier()
        or len(var) > VAR_NAME_LENGTH
        or var == STATE_ATTR
        or (var.startswith("__") and var.endswith("__"))
        or hasattr(current_app.app_ctx_globals_class, var)
    ):
        raise SessionValueError(
            f"cannot track variable {var!r} in session {session!r}: a variable"
            f" name must be a Python identifier of at most {VAR_NAME_LENGTH}"
            f" characters, not {STATE_ATTR!r}, a dunder name, or the name of an"
            " attribute of flask.g such as 'get' or 'pop'",
            session=session,
            var=str(var),
        )


class NamedSession(MutableMapping[str, t.Any]):
    """A session started in this request.

    Returned by :func:`~flask_namedsessions.session_start`. As a mapping it
    covers the tracked variables: ``s["k"] = v`` sets ``g.k`` and tracks ``k``,
    ``del s["k"]`` stops tracking it (``g.k`` is left alone).

    .. attribute:: name

        The session's name.

    .. attribute:: id

        The session ID. Treat it as a secret: it is never shown in ``repr``.

    .. attribute:: result

        ``"new"``, ``"load"``, ``"expire"`` or ``"rotate"``.

    .. attribute:: expires

        The idle timeout in minutes.

    .. attribute:: tracking

        The effective tracking modes, a frozenset of ``"cookie"`` and
        ``"link"`` (empty when the application tracks the ID itself).

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        owner: RequestSessions,
        name: str,
        session_id: str,
        result: str,
        expires: float,
        tracking: frozenset[str],
        max_vars: int,
    ) -> None:
        self._owner = owner
        self.name = name
        self.id = session_id
        self.result = result
        self.expires = expires
        self.tracking = tracking
        self._max_vars = max_vars
        #: tracked variable -> its stored text (``None`` if not stored yet)
        self._vars: dict[str, str | None] = {}
        #: untracked variables that are stored, with their stored text
        self._removed: dict[str, str] = {}
        self.aborted = False
        self.ended = False

    def __repr__(self) -> str:
        state = "ended" if self.ended else "aborted" if self.aborted else self.result
        return f"<NamedSession {self.name!r} {state} vars={sorted(self._vars)}>"

    # -- tracking ----------------------------------------------------------------

    def add_var(self, var: str) -> None:
        """Track ``g.<var>``: its value is saved at the end of every request
        that starts this session, and restored by the next."""
        check_var(self.name, var)
        if var in self._vars:
            return
        if len(self._vars) >= self._max_vars:
            raise SessionValueError(
                f"cannot track variable {var!r} in session {self.name!r}: the"
                f" session already tracks NAMEDSESSIONS_MAX_VARS ({self._max_vars})"
                " variables",
                session=self.name,
                var=var,
            )
        self._vars[var] = self._removed.pop(var, None)

    def remove_var(self, var: str) -> None:
        """Stop tracking ``var``; ``g.<var>`` keeps its value for this request."""
        check_var(self.name, var)
        if var in self._vars:
            stored = self._vars.pop(var)
            if stored is not None:
                self._removed[var] = stored

    def end(self) -> None:
        """Delete the stored session now and expire its cookie."""
        self._owner.end(self)

    def abort(self) -> None:
        """Do not save this session at the end of this request."""
        self.aborted = True

    def regenerate_id(self) -> None:
        """Give the session a fresh ID now; the old one stops working at once.

        Call it when a visitor logs in or gains privileges, so that an ID an
        attacker planted or saw before is worthless afterwards.
        """
        self._owner.regenerate(self)

    # -- the mapping -------------------------------------------------------------

    def __getitem__(self, var: str) -> t.Any:
        if var not in self._vars:
            raise KeyError(var)
        return getattr(g, var, None)

    def get(self, var: str, default: t.Any = None) -> t.Any:
        """``g.<var>`` if ``var`` is tracked, else ``default``."""
        return self[var] if var in self._vars else default

    def __setitem__(self, var: str, value: t.Any) -> None:
        self.add_var(var)
        setattr(g, var, value)

    def __delitem__(self, var: str) -> None:
        if var not in self._vars:
            raise KeyError(var)
        self.remove_var(var)

    def __contains__(self, var: object) -> bool:
        return var in self._vars

    def __iter__(self) -> t.Iterator[str]:
        return iter(list(self._vars))

    def __len__(self) -> int:
        return len(self._vars)
