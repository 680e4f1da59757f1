"""Copying Flask-Session's SQLAlchemy sessions into the session behind
``flask.session``, under the same IDs, so that nobody is logged out by the
switch.

Flask-Session 0.8 keeps one row per session in its table (``sessions`` by
default): ``session_id`` is its key prefix (``session:``) and the ID of the
cookie, ``data`` the session's dict encoded by msgspec (msgpack by default,
JSON if so configured), ``expiry`` a naive UTC time. Pickled data of older
versions is never unpickled (that would run whatever the row holds): such rows
are reported and skipped, like every row this module cannot read.
"""

from __future__ import annotations

import dataclasses
import datetime
import secrets
import typing as t

import sqlalchemy as sa

from . import ids
from . import serialize
from .binding import user_key
from .clock import minutes_ms
from .exceptions import NamedSessionsError
from .logins import USER_ID
from .rows import SavePlan
from .session import check_key
from .session_interface import PERMANENT

if t.TYPE_CHECKING:
    from .config import Settings
    from .store import Store

__all__ = ["Imported", "import_sessions"]

#: Rows read and written per transaction.
BATCH = 500


@dataclasses.dataclass
class Imported:
    """What an import found, row by row."""

    imported: int = 0
    expired: int = 0
    #: (row's own ``id``, why it was skipped); never the session ID
    skipped: list[tuple[t.Any, str]] = dataclasses.field(default_factory=list)
    #: sessions that exist already under the same ID
    present: int = 0


def _table(name: str) -> sa.TableClause:
    return sa.table(
        name,
        sa.column("id"),
        sa.column("session_id", sa.String),
        sa.column("data", sa.LargeBinary),
        # read as stored: SQLite keeps it as text, which anything may hold
        sa.column("expiry"),
    )


def read_rows(engine: sa.Engine, table: str, key_prefix: str) -> t.Iterator[t.Sequence[t.Any]]:
    """Flask-Session's rows whose ``session_id`` starts with ``key_prefix``,
    in batches."""
    source = _table(table)
    stmt = (
        sa.select(source.c.id, source.c.session_id, source.c.data, source.c.expiry)
        .where(source.c.session_id.startswith(key_prefix, autoescape=True))
        .order_by(source.c.id)
    )
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=BATCH).execute(stmt)
        yield from result.partitions(BATCH)


def decoders() -> list[t.Callable[[bytes], t.Any]]:
    """msgspec's msgpack and JSON decoders, as Flask-Session 0.8 tries them."""
    try:
        import msgspec
    except ImportError:
        raise NamedSessionsError(
            "importing Flask-Session's sessions needs msgspec, which Flask-Session 0.8"
            " installs: pip install msgspec"
        ) from None
    return [msgspec.msgpack.Decoder().decode, msgspec.json.Decoder().decode]


def _decode(data: object, decode: list[t.Callable[[bytes], t.Any]]) -> dict[str, t.Any] | str:
    """The session dict of one row, or why it cannot be read."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        return "it holds no data"
    raw = bytes(data)
    for attempt in decode:
        try:
            value = attempt(raw)
        except (ValueError, RecursionError):  # msgspec.DecodeError is a ValueError
            continue
        if isinstance(value, dict):
            return value
        return "its data is not a dict"
    return "its data is neither msgpack nor JSON (pickled data is never read)"


def plan_import(
    row: t.Any,
    key_prefix: str,
    settings: Settings,
    lifetime: float,
    now: int,
    decode: list[t.Callable[[bytes], t.Any]],
) -> SavePlan | str | None:
    """The session to create for one of Flask-Session's rows; ``None`` if it
    has expired, or why it cannot be imported.

    ``_permanent`` becomes ``session.permanent``; the idle timeout is
    ``lifetime`` for a permanent session and ``NAMEDSESSIONS_EXPIRES`` for
    another, and the session never outlives the row's own expiry.
    """
    name = settings.flask_session
    if name is None:  # pragma: no cover - the command checks it first
        raise NamedSessionsError("NAMEDSESSIONS_FLASK_SESSION is not set")
    old_expiry = _expiry(row.expiry)
    if old_expiry is None:
        return None  # Flask-Session deletes a row without expiry on sight
    if isinstance(old_expiry, str):
        return old_expiry
    if old_expiry <= now:
        return None
    session_id = _session_id(row, key_prefix)
    if session_id is None:
        return "its session ID is not one flask-namedsessions can take"
    decoded = _decode(row.data, decode)
    if isinstance(decoded, str):
        return decoded
    permanent = bool(decoded.pop(PERMANENT, False))
    if len(decoded) > settings.max_vars:
        return f"it holds more than NAMEDSESSIONS_MAX_VARS ({settings.max_vars}) keys"
    upserts: dict[str, str] = {}
    try:
        for key, value in decoded.items():
            check_key(name, key)
            upserts[key] = serialize.dumps(
                value, session=name, var=key, max_bytes=settings.max_value_bytes
            )
    except NamedSessionsError as exc:
        return str(exc)
    if not upserts:
        return "it holds nothing"
    if permanent:
        upserts[PERMANENT] = "true"
    expires = lifetime if permanent else settings.expires
    row_id = secrets.token_hex(16)
    plan = SavePlan(name=name, row_id=row_id, now=now)
    plan.create = {
        "row_id": row_id,
        "name": name,
        "key": ids.lookup_key(name, session_id),
        "created_at": now,
        "touched_at": now,
        "expires_at": min(old_expiry, now + minutes_ms(expires)),
        "expires_min": expires,
        "user_key": _logged_in_user(decoded),
    }
    plan.upserts = dict(sorted(upserts.items()))
    return plan


def _expiry(value: object) -> int | str | None:
    """A row's expiry in milliseconds, ``None`` if it has none, or why it
    cannot be read. Flask-Session writes a naive UTC time; SQLite hands it
    back as text."""
    if isinstance(value, str):
        try:
            value = datetime.datetime.fromisoformat(value)
        except ValueError:
            return "its expiry is not a time"
    if not isinstance(value, datetime.datetime):
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.timezone.utc)
    return int(value.timestamp() * 1000)


def _logged_in_user(decoded: dict[str, t.Any]) -> str | None:
    """The user that Flask-Login logged in to the session (its ``_user_id``),
    bound as a login binds it, so that ending the user's sessions ("log out
    everywhere") ends the imported ones too."""
    value = decoded.get(USER_ID)
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    try:
        return user_key(str(value), "")
    except ValueError:
        return None


def _session_id(row: t.Any, key_prefix: str) -> str | None:
    """The cookie's ID of one of Flask-Session's rows, if it is one that
    flask-namedsessions can take."""
    value = row.session_id
    if not isinstance(value, str) or not value.startswith(key_prefix):
        return None
    session_id = value[len(key_prefix) :]
    return session_id if ids.is_valid_id(session_id) else None


def import_sessions(
    store: Store,
    source: sa.Engine,
    settings: Settings,
    lifetime: float,
    now: int,
    *,
    table: str,
    key_prefix: str,
    dry_run: bool,
) -> Imported:
    """Copy the live sessions of Flask-Session's ``table`` into ``store``,
    one transaction per batch; with ``dry_run``, only count them."""
    decode = decoders()
    found = Imported()
    for rows in read_rows(source, table, key_prefix):
        plans = []
        for row in rows:
            planned = plan_import(row, key_prefix, settings, lifetime, now, decode)
            if planned is None:
                found.expired += 1
            elif isinstance(planned, str):
                found.skipped.append((row.id, planned))
            else:
                plans.append(planned)
        if dry_run:
            found.imported += len(plans)
        elif plans:
            created = store.create_sessions(plans)
            found.imported += created
            found.present += len(plans) - created
    return found
