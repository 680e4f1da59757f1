"""The request's sessions: opened by name, closed once.

One :class:`RequestSessions` lives in ``g._namedsessions`` for each request
that starts a session. Opening a session decides its result (new, load,
expire, rotate) from what the request presents; closing it saves every
started session in one transaction and then sends their IDs on the response,
through the states of :class:`Closing`.
"""

from __future__ import annotations

import dataclasses
import enum
import secrets
import typing as t
import warnings

from flask import current_app
from flask import g
from flask import Request
from flask import request
from flask import Response

from . import ids
from . import saving
from .binding import device_details
from .clock import minutes_ms
from .exceptions import NamedSessionsError
from .exceptions import SessionNotStarted
from .sending import send_ids
from .session import NamedSession
from .session import Record
from .session import Result
from .session import STATE_ATTR
from .tracking import effective_modes
from .tracking import presented_ids

if t.TYPE_CHECKING:
    from .clock import Clock
    from .config import CookieOptions
    from .config import Settings
    from .config import TrackingMode
    from .rows import StoredSession
    from .store import Store
    from .tracking import Offered
    from .tracking import Source

__all__ = ["Closing", "RequestSessions", "begin", "current"]


class Closing(enum.Enum):
    """Where the end of a request stands.

    Flask runs ``after_request`` a second time, for the error response, when
    a save fails and no error handler of the app answers it: that pass finds
    ``SAVE_FAILED`` and only sends (ended sessions' cookies are still
    expired); once ``SENT``, nothing more happens.
    """

    #: the view is running
    OPEN = "open"
    #: the request raised: nothing is saved (unless NAMEDSESSIONS_SAVE_ON_ERROR)
    FAILED = "failed"
    #: the save ran, or had nothing to write
    SAVED = "saved"
    #: the save raised: no new or rotated ID may reach the visitor
    SAVE_FAILED = "save failed"
    #: the IDs are on a response
    SENT = "sent"


@dataclasses.dataclass
class _Presented:
    """An ID the request carried, where it came from, and what it loaded."""

    session_id: str = dataclasses.field(repr=False)
    source: Source
    stored: StoredSession | None


def _this_request() -> Request:
    return t.cast(Request, t.cast(t.Any, request)._get_current_object())


def _g() -> t.Any:
    """``flask.g`` itself: one proxy lookup instead of one per variable."""
    return t.cast(t.Any, g)._get_current_object()


def current() -> RequestSessions | None:
    """This request's sessions, if it started any.

    Flask may reuse an outer app context, so ``g`` can still hold another
    request's state: it is only ours if it names this very request (and
    :func:`begin` replaces it), so no hook has to clear it first.
    """
    found: RequestSessions | None = g.get(STATE_ATTR)
    if found is None or found.request is not _this_request():
        return None
    return found


def begin(settings: Settings, store: Store, clock: Clock) -> RequestSessions:
    """This request's sessions, created on first use."""
    found = current()
    if found is None:
        found = RequestSessions(settings, store, clock, _this_request())
        setattr(g, STATE_ATTR, found)
    return found


class RequestSessions:
    """The sessions of one request."""

    def __init__(self, settings: Settings, store: Store, clock: Clock, request: Request) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock
        #: the request these sessions belong to
        self.request = request
        self.sessions: dict[str, NamedSession] = {}
        self.closing = Closing.OPEN
        self._presented: dict[str, _Presented | None] = {}
        #: a template helper wrote an ID into the response body
        self._id_in_body = False
        #: a :meth:`has` answer depended on the request's cookies
        self._read_cookies = False
        #: closed by the session interface's ``save_session``, after every
        #: ``after_request`` hook, rather than by the extension's own hook
        self.closed_by_interface = False
        #: run just before the save, when there is one (``flask.session``
        #: decides there what its session keeps)
        self._before_save: list[t.Callable[[], None]] = []

    def get(self, name: str) -> NamedSession:
        """The started session ``name``, or :exc:`SessionNotStarted`."""
        session = self.sessions.get(name)
        if session is None:
            raise SessionNotStarted(name)
        return session

    def before_save(self, func: t.Callable[[], None]) -> None:
        """Call ``func`` before this request's sessions are saved (not if
        nothing is saved: a failed request)."""
        self._before_save.append(func)

    def id_in_body(self) -> None:
        """Note that the response body carries an ID (a template helper)."""
        self._id_in_body = True

    # -- opening -------------------------------------------------------------------

    def _load(self, name: str, explicit: str | None, offered: Offered | None) -> _Presented | None:
        """Load what the request (or the developer) presents for ``name``:
        at most one SELECT, none for a malformed or missing ID."""
        candidates: list[tuple[str | None, Source]]
        if explicit is not None:
            candidates = [(explicit, "arg")]
        elif offered is not None:
            candidates = [(offered.cookie, "cookie"), (offered.param, "param")]
        else:
            candidates = []
        for value, source in candidates:
            if value is None or not ids.is_valid_id(value):
                continue
            cached = self._presented.get(name)
            if cached is not None and cached.session_id == value and cached.source == source:
                return cached
            # The developer's own ID is used as is: it never finds a session
            # that was rotated away from it, so that lookup is skipped.
            key = ids.lookup_key(name, value)
            stored = self.store.load(name, key, by_old_key=source != "arg")
            found = _Presented(value, source, stored)
            self._presented[name] = found
            return found
        return None

    def _is_live(self, presented: _Presented | None, now: int) -> bool:
        """Does ``presented`` name a valid, unexpired session?"""
        if presented is None or presented.stored is None:
            return False
        stored = presented.stored
        if stored.by_old_key and not (stored.old_key_until or 0) > now:
            return False
        if stored.expires_at <= now:
            return False
        absolute = self.settings.absolute_timeout
        return absolute is None or stored.created_at + minutes_ms(absolute) > now

    def has(self, name: str) -> bool:
        """Does the request carry a valid, unexpired session ``name``, as
        tracked by default? Creates nothing."""
        session = self.sessions.get(name)
        if session is not None:
            return session.result in ("load", "rotate") and not session.ended
        self._read_cookies = True
        settings = self.settings
        flask_session = name == settings.flask_session
        mode = settings.flask_session_tracking if flask_session else settings.default_tracking
        found = presented_ids(self.request, self.settings, name, mode)
        presented = self._load(name, None, found)
        return self._is_live(presented, self.clock())

    def open(
        self,
        name: str,
        *,
        explicit: str | None,
        expires: float | None,
        mode: TrackingMode,
        with_cookie: bool,
        cookie: CookieOptions,
        cookie_expires: float | None,
        rotate: bool,
        values: dict[str, t.Any] | None = None,
    ) -> NamedSession:
        """Create, load or replace the session ``name`` (see SPEC section 4);
        a session already open is returned as it is, with a new ``expires``.

        :param values: where its variables live, if not in ``g`` (the keys of
            ``flask.session``).
        """
        session = self.sessions.get(name)
        if session is not None:
            if expires is not None:
                session.expires = expires
            return session
        settings = self.settings
        carried = settings.cookie_name(name) in self.request.cookies
        tracking = effective_modes(mode, with_cookie=with_cookie, carried_cookie=carried)
        tossed = False
        if explicit is None:
            offered = presented_ids(self.request, settings, name, mode, with_cookie=with_cookie)
            tossed = offered.tossed
            presented = self._load(name, None, offered)
        else:
            presented = self._load(name, explicit, None)
        now = self.clock()
        stored = presented.stored if presented else None
        result: Result = "new"
        session_id: str | None = None
        replaced = None
        if presented is not None and stored is not None and self._is_live(presented, now):
            result = "load"
            session_id = presented.session_id
            if stored.by_old_key:
                # A request still in flight with a rotated ID: carry on under
                # the current one, which only the old ID can unseal.
                session_id = ids.open_successor(
                    name, stored.row_id, presented.session_id, stored.successor or ""
                )
                if session_id is None:
                    stored, result = None, "new"
        elif stored is not None and not stored.by_old_key:
            result = "expire"
            replaced = stored.row_id
        if result != "load" or session_id is None:
            stored = None
            session_id = explicit if explicit is not None else ids.new_id()
        if expires is None:
            expires = stored.expires_min if stored is not None else settings.expires
        if stored is not None and presented is not None and session_id == presented.session_id:
            key = stored.key  # loaded by this very ID: its key is known
        else:
            key = ids.lookup_key(name, session_id)
        record = Record(
            row_id=stored.row_id if stored is not None else secrets.token_hex(16),
            key=key,
            cookie=cookie,
            cookie_expires=cookie_expires,
            source=presented.source if presented else None,
            stored=stored,
            namespace=_g() if values is None else values,
            replaces_row=replaced,
            tossed=tossed,
            user=stored.user_key if stored is not None else None,
            device=device_details(self.request, settings),
        )
        session = NamedSession(
            self.store, name, session_id, result, expires, tracking, settings.max_vars, record
        )
        self.sessions[name] = session
        if stored is not None:
            session._restore()
            if rotate and explicit is None and not stored.by_old_key:
                session._rotate()
        return session

    def end(self, name: str, *, secure: bool | None, httponly: bool | None) -> None:
        """End the started session ``name``, expiring its cookie with these
        attributes where given."""
        session = self.get(name)
        record = session._record
        if secure is not None or httponly is not None:
            changed = dataclasses.replace(
                record.cookie,
                secure=record.cookie.secure if secure is None else secure,
                httponly=record.cookie.httponly if httponly is None else httponly,
            )
            session._set_cookie(self.settings.enforce(changed))
        session.end()

    # -- sessions of a user ---------------------------------------------------------

    def stored_rows(self) -> frozenset[str]:
        """The handles of the stored sessions this request started."""
        return frozenset(
            session._record.row_id
            for session in self.sessions.values()
            if session._record.stored is not None and not session.ended
        )

    def ended_elsewhere(self, row_ids: t.Collection[str]) -> None:
        """Sessions of this request that a revocation deleted: they save
        nothing, and their cookies are expired."""
        for session in self.sessions.values():
            if session._record.stored is not None and session._record.row_id in row_ids:
                session._ended_elsewhere()

    # -- closing ------------------------------------------------------------------

    def failed(self) -> None:
        """The request raised: save nothing (unless configured to)."""
        if self.closing is Closing.OPEN:
            self.closing = Closing.FAILED

    def close(self, response: Response) -> Response:
        """Save the started sessions, then send their IDs on ``response``.

        A failed save is answered like an error of the view: by the app's
        handler for it (a 503 for :exc:`SessionStoreError`, say), else
        re-raised to Flask, which logs it and answers 500 (and runs this once
        more, for that response).
        """
        if self.closing is Closing.SENT:
            return response
        if self.closing is Closing.OPEN or (
            self.closing is Closing.FAILED and self.settings.save_on_error
        ):
            if current_app.debug:
                _warn_shared_vars(self.sessions.values())
            try:
                for func in self._before_save:
                    func()
                self._save()
            except NamedSessionsError as exc:
                self.closing = Closing.SAVE_FAILED
                response = current_app.make_response(current_app.handle_user_exception(exc))
            else:
                self.closing = Closing.SAVED
        saved = self.closing is Closing.SAVED
        self.closing = Closing.SENT
        send_ids(
            response,
            self.request,
            self.settings,
            self.sessions.values(),
            saved=saved,
            read_cookies=self._read_cookies,
            id_in_body=self._id_in_body,
        )
        return response

    def _save(self) -> None:
        """Write every started session in one transaction (nothing if nothing
        changed), then let each session know how it went."""
        plans = saving.plans(self.sessions.values(), self.settings, self.clock())
        if not plans:
            return
        outcomes = self.store.save(plans)
        for plan in plans:
            self.sessions[plan.name]._saved(outcomes[plan.name])


def _warn_shared_vars(sessions: t.Iterable[NamedSession]) -> None:
    """Warn when two sessions about to be saved track one variable: both
    store the one value the request left in ``g`` (debug mode only)."""
    tracked_by: dict[str, str] = {}
    for session in sessions:
        if session.aborted or session.ended:
            continue
        for var in session:
            first = tracked_by.setdefault(var, session.name)
            if first != session.name:
                warnings.warn(
                    f"sessions {first!r} and {session.name!r} both track the variable"
                    f" {var!r} in this request; tracked variables are attributes of"
                    f" flask.g, so both store the one value of g.{var}",
                    stacklevel=2,
                )
