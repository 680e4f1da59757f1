"""``NamedSession``: one started session, and a mapping over its variables.

The values themselves live in :data:`flask.g` (Lasso's "thread variables"), so
templates and views read them as ``g.name``; the mapping is the simple face of
the same data for code that prefers ``session["name"]``. Everything else the
extension knows of the session is its :class:`Record`, which only this module
writes.
"""

from __future__ import annotations

import dataclasses
import typing as t
from collections.abc import MutableMapping
from datetime import datetime
from uuid import UUID

from flask import current_app
from markupsafe import Markup

from . import ids
from . import serialize
from .binding import user_key
from .exceptions import SessionValueError
from .models import VAR_NAME_LENGTH

if t.TYPE_CHECKING:
    from .config import CookieOptions
    from .rows import SaveOutcome
    from .rows import StoredSession
    from .store import Store
    from .tracking import Source

__all__ = ["STATE_ATTR", "NamedSession", "Record", "Result", "check_key", "check_var"]

#: Our own slot in ``flask.g``; it cannot be tracked.
STATE_ATTR = "_namedsessions"

#: What starting a session found (SPEC section 4).
Result = t.Literal["new", "load", "expire", "rotate"]

#: Types whose values cannot change in place: a variable that still holds the
#: very object loaded from the store still has its stored form.
_IMMUTABLE = frozenset({str, int, float, bool, type(None), bytes, datetime, UUID, Markup})
#: Containers, which may change in place: the save compares them with a
#: second copy decoded at load time (:func:`.serialize.same`).
_CONTAINERS = frozenset({list, dict, tuple})


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


def check_key(session: str, key: object) -> None:
    """Raise :exc:`SessionValueError` unless ``key`` may name a variable of a
    session whose values live in a dict (``flask.session``'s) rather than in
    ``g``: any ``str`` the tables can hold, so no identifier rule.

    MariaDB and MySQL drop a name's trailing spaces and compare names as if
    padded with spaces, so ``"cart "`` would come back as ``"cart"`` and
    overwrite it there: such a key is refused on every database alike.
    """
    if (
        isinstance(key, str)
        and len(key) <= VAR_NAME_LENGTH
        and "\x00" not in key
        and not key.endswith(" ")
    ):
        try:
            key.encode("utf-8")
        except UnicodeEncodeError:
            pass
        else:
            return
    raise SessionValueError(
        f"cannot use key {key!r} in session {session!r}: a key must be a str of"
        f" at most {VAR_NAME_LENGTH} characters that UTF-8 can encode, without NUL"
        " or a trailing space",
        session=session,
        var=str(key),
    )


@dataclasses.dataclass
class Record:
    """What the extension knows of one started session beyond its public
    face: read by the modules that save and send it, written only here."""

    #: the session row's handle (not the ID), new or as loaded
    row_id: str
    #: the lookup key of the session's current ID
    key: str = dataclasses.field(repr=False)
    cookie: CookieOptions
    cookie_expires: float | None
    #: where the ID came from: the developer, the cookie or the parameter
    source: Source | None
    #: the row as loaded; ``None`` for a session this request creates
    stored: StoredSession | None
    #: where the variables' values live: this request's ``flask.g``, or a
    #: dict of the session's own (``flask.session``'s keys never touch ``g``)
    namespace: t.Any = dataclasses.field(repr=False, default=None)
    #: an expired session that this one replaces
    replaces_row: str | None = None
    #: the ID a rotation replaced (``None`` after ``regenerate_id``)
    rotated_from: str | None = dataclasses.field(default=None, repr=False)
    regenerated: bool = False
    #: the row vanished before the save (ended elsewhere): nothing to send
    gone: bool = False
    #: the request carried the cookie twice with different values, one maybe
    #: tossed by a sibling subdomain: this session is neither stored nor sent,
    #: and the visitor's own cookie is left as it is
    tossed: bool = False
    #: tracked variable -> its stored text (``None`` if not stored yet)
    vars: dict[str, str | None] = dataclasses.field(default_factory=dict)
    #: untracked variables that are stored, with their stored text
    removed: dict[str, str] = dataclasses.field(default_factory=dict)
    #: immutable values as loaded; still the same object means unchanged
    loaded: dict[str, t.Any] = dataclasses.field(default_factory=dict)
    #: containers as loaded, a copy of their own that the view never sees
    snapshots: dict[str, t.Any] = dataclasses.field(default_factory=dict, repr=False)
    #: send the cookie even when the request carried this very ID; ``None``:
    #: whenever it has a lifetime (which then slides)
    resend_cookie: bool | None = None

    @property
    def keys_on_g(self) -> bool:
        """Are the variables ``g`` attributes (else keys of a dict)?"""
        return type(self.namespace) is not dict

    def read(self, var: str) -> t.Any:
        """The current value of ``var`` (``None`` if it has none)."""
        namespace = self.namespace
        if type(namespace) is dict:
            return namespace.get(var)
        return getattr(namespace, var, None)

    def write(self, var: str, value: t.Any) -> None:
        namespace = self.namespace
        if type(namespace) is dict:
            namespace[var] = value
        else:
            setattr(namespace, var, value)

    #: the user the session is bound to now (as loaded, until bind_user)
    user: str | None = None
    #: this request's device details, as configured to be recorded
    device: dict[str, str | None] = dataclasses.field(default_factory=dict, repr=False)


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
        store: Store,
        name: str,
        session_id: str,
        result: Result,
        expires: float,
        tracking: frozenset[str],
        max_vars: int,
        record: Record,
    ) -> None:
        self._store = store
        self.name = name
        self.id = session_id
        self.result: Result = result
        self.expires = expires
        self.tracking = tracking
        self._max_vars = max_vars
        self._record = record
        self.aborted = False
        self.ended = False

    def __repr__(self) -> str:
        state = "ended" if self.ended else "aborted" if self.aborted else self.result
        return f"<NamedSession {self.name!r} {state} vars={sorted(self._record.vars)}>"

    # -- tracking ----------------------------------------------------------------

    def _check(self, var: object) -> None:
        if self._record.keys_on_g:
            check_var(self.name, var)
        else:
            check_key(self.name, var)

    def add_var(self, var: str) -> None:
        """Track ``g.<var>``: its value is saved at the end of every request
        that starts this session, and restored by the next."""
        self._check(var)
        tracked = self._record.vars
        if var in tracked:
            return
        if len(tracked) >= self._max_vars:
            raise SessionValueError(
                f"cannot track variable {var!r} in session {self.name!r}: the"
                f" session already tracks NAMEDSESSIONS_MAX_VARS ({self._max_vars})"
                " variables",
                session=self.name,
                var=var,
            )
        tracked[var] = self._record.removed.pop(var, None)

    def remove_var(self, var: str) -> None:
        """Stop tracking ``var``; ``g.<var>`` keeps its value for this request."""
        self._check(var)
        record = self._record
        tracked = record.vars
        if var in tracked:
            stored = tracked.pop(var)
            if stored is not None:
                record.removed[var] = stored
            if not record.keys_on_g:
                record.namespace.pop(var, None)

    def end(self) -> None:
        """Delete the stored session now and expire its cookie."""
        record = self._record
        if record.stored is not None and not self.ended:
            keys = dict.fromkeys((record.stored.key, record.key))
            self._store.delete(self.name, record.row_id, tuple(keys), guard=record.stored.key)
        if record.replaces_row is not None:
            self._store.delete(self.name, record.replaces_row)
            record.replaces_row = None
        self.ended = True

    def abort(self) -> None:
        """Do not save this session at the end of this request."""
        self.aborted = True

    @property
    def user(self) -> str | None:
        """The user key this session is bound to, as text, or ``None``.

        .. versionadded:: 0.1
        """
        return self._record.user

    def bind_user(self, user: str | int | None) -> None:
        """Bind the session to the application's user key, so that
        :func:`~flask_namedsessions.user_sessions` finds it and
        :func:`~flask_namedsessions.end_user_sessions` can end it; ``None``
        unbinds it. Saved with the session, at the cost of a write only when
        the user changes; the configured device details are recorded then.

        :param user: an ``int`` or a ``str`` of 1 to 255 characters, stored as
            text: ``42`` and ``"42"`` are the same user.

        .. versionadded:: 0.1
        """
        if user is not None:
            user = user_key(user, f"cannot bind session {self.name!r} to a user")
        self._record.user = user

    def regenerate_id(self) -> None:
        """Give the session a fresh ID now; the old one stops working at once.

        Call it when a visitor logs in or gains privileges, so that an ID an
        attacker planted or saw before is worthless afterwards.
        """
        self._new_id(grace=False)

    # -- the extension's side ----------------------------------------------------

    def _restore(self) -> None:
        """Assign the stored variables to the namespace (``flask.g``)."""
        record = self._record
        if record.stored is None:
            return
        tracked = record.vars
        loaded = record.loaded
        snapshots = record.snapshots
        for var, text in record.stored.values.items():
            tracked[var] = text
            value = serialize.loads(text)
            record.write(var, value)
            kind = type(value)
            if kind in _IMMUTABLE:
                loaded[var] = value
            elif kind in _CONTAINERS:
                snapshots[var] = serialize.loads(text)

    def _kept(self, save_empty: bool) -> bool:
        """Does the session exist once this request is saved: loaded, or new
        and tracking a variable (or every new session, with ``save_empty``)?
        Only a kept session's ID goes out; one the request could not tell
        from a tossed cookie is never kept."""
        record = self._record
        if record.tossed:
            return False
        return record.stored is not None or bool(record.vars) or save_empty

    def _new_id(self, *, grace: bool) -> None:
        """A fresh ID: with ``grace`` a rotation, whose old ID finds the
        session a little longer; without, ``regenerate_id``."""
        record = self._record
        old_id = self.id
        self.id = ids.new_id()
        record.key = ids.lookup_key(self.name, self.id)
        if record.stored is not None:
            record.rotated_from = old_id if grace else None
            record.regenerated = True

    def _rotate(self) -> None:
        self._new_id(grace=True)
        self.result = "rotate"

    def _ended_elsewhere(self) -> None:
        """The stored session was deleted by a revocation: save nothing,
        expire the cookie."""
        self.ended = True

    def _set_cookie(self, cookie: CookieOptions) -> None:
        self._record.cookie = cookie

    def _set_lifetime(self, expires: float, cookie_expires: float | None, resend: bool) -> None:
        """The idle timeout, the cookie's lifetime (``None``: the browser
        session) and whether the cookie goes out again even unchanged."""
        self.expires = expires
        self._record.cookie_expires = cookie_expires
        self._record.resend_cookie = resend

    def _saved(self, outcome: SaveOutcome) -> None:
        """Take in how the save went: the row vanished, or another request's
        rotation gave the session the ID it now has."""
        if outcome.gone:
            self._record.gone = True
        elif outcome.new_id is not None:
            self.id = outcome.new_id

    # -- the mapping -------------------------------------------------------------

    def __getitem__(self, var: str) -> t.Any:
        record = self._record
        if var not in record.vars:
            raise KeyError(var)
        namespace = record.namespace  # Record.read, without a call per value
        if type(namespace) is dict:
            return namespace.get(var)
        return getattr(namespace, var, None)

    def get(self, var: str, default: t.Any = None) -> t.Any:
        """``g.<var>`` if ``var`` is tracked, else ``default``."""
        return self[var] if var in self._record.vars else default

    def __setitem__(self, var: str, value: t.Any) -> None:
        self.add_var(var)
        self._record.write(var, value)

    def __delitem__(self, var: str) -> None:
        if var not in self._record.vars:
            raise KeyError(var)
        self.remove_var(var)

    def __contains__(self, var: object) -> bool:
        return var in self._record.vars

    def __iter__(self) -> t.Iterator[str]:
        return iter(list(self._record.vars))

    def __len__(self) -> int:
        return len(self._record.vars)
