"""Values as Flask's tagged JSON, refusing anything it cannot bring back.

Flask's serializer hands unknown types to the app's JSON provider, which would
quietly store a ``Decimal`` as a string. Here the tagged form goes through the
standard library's encoder, so an unsupported type fails loudly instead.
"""

from __future__ import annotations

import json
import json.scanner
import re
import typing as t
from datetime import datetime
from uuid import UUID

from flask.json.tag import JSONTag
from flask.json.tag import TaggedJSONSerializer
from markupsafe import Markup

from .exceptions import SessionValueError


class _TagPreciseDateTime(JSONTag):
    """Datetimes with microseconds and their time zone (Flask's own tag keeps
    whole seconds in UTC only)."""

    __slots__ = ()
    key = " dt"

    def check(self, value: t.Any) -> bool:
        return isinstance(value, datetime)

    def to_json(self, value: t.Any) -> t.Any:
        return value.isoformat()

    def to_python(self, value: t.Any) -> t.Any:
        return datetime.fromisoformat(value)


_serializer = TaggedJSONSerializer()
_serializer.register(_TagPreciseDateTime, index=0)
_encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, check_circular=True)
# One decoder for all: ``json.loads`` with a hook builds a new one per call.
_decoder = json.JSONDecoder(object_hook=_serializer.untag)


def dumps(value: t.Any, *, session: str, var: str, max_bytes: int) -> str:
    """Serialize one variable's value or raise :exc:`SessionValueError`."""
    try:
        tagged = _serializer.tag(value)
        if isinstance(tagged, (dict, list)):
            _check_keys(tagged)
        text = _encoder.encode(tagged)
    except (TypeError, ValueError, RecursionError) as exc:
        raise SessionValueError(
            f"cannot store variable {var!r} of session {session!r}: {_reason(value, exc)}",
            session=session,
            var=var,
        ) from exc
    if not text.isascii():
        try:
            size = len(text.encode("utf-8"))
        except UnicodeEncodeError as exc:
            raise SessionValueError(
                f"cannot store variable {var!r} of session {session!r}: it holds text"
                f" that is not valid Unicode (a lone surrogate, {_surrogate(text, exc)}),"
                " which no database can store as UTF-8",
                session=session,
                var=var,
            ) from None
    else:
        size = len(text)
    if size > max_bytes:
        raise SessionValueError(
            f"cannot store variable {var!r} of session {session!r}: its stored"
            f" form is larger than NAMEDSESSIONS_MAX_VALUE_BYTES ({max_bytes} bytes)",
            session=session,
            var=var,
        )
    return text


def _check_keys(tagged: dict[t.Any, t.Any] | list[t.Any]) -> None:
    """Refuse dict keys that are not strings: JSON would turn ``1`` and
    ``True`` into ``"1"`` and bring back another value."""
    pending: list[t.Any] = [tagged]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            for key, inner in item.items():
                if not isinstance(key, str):
                    raise TypeError(f"dict keys must be strings, not {type(key).__name__}")
                if isinstance(inner, (dict, list)):
                    pending.append(inner)
        else:
            pending.extend(inner for inner in item if isinstance(inner, (dict, list)))


def _surrogate(text: str, exc: UnicodeEncodeError) -> str:
    """The first lone surrogate, written as Python escapes it."""
    return repr(text[exc.start])[1:-1]


_UNSUPPORTED = re.compile(r"^Object of type (\w+) is not JSON serializable$")


def _reason(value: t.Any, exc: Exception) -> str:
    """Why ``value`` cannot be stored, naming the type that is at fault
    wherever it is nested."""
    if isinstance(exc, RecursionError) or "Circular reference" in str(exc):
        return "it is nested too deeply or contains itself"
    message = str(exc)
    if message.startswith("dict keys must be strings"):
        return message
    found = _UNSUPPORTED.match(message)
    kind = found.group(1) if found else type(value).__name__
    return (
        f"{kind} values are not supported (use dict with str keys, list, tuple,"
        " str, bytes, numbers, bool, None, datetime, UUID or Markup)"
    )


#: Whole texts that :func:`dumps` writes for these values.
_CONSTANTS = {"true": True, "false": False, "null": None}
#: The decoder's own scanner, what ``decode`` runs after skipping the
#: whitespace that :func:`dumps` never writes.
_scan = json.scanner.make_scanner(_decoder)  # type: ignore[arg-type]  # duck-typed


def loads(text: str) -> t.Any:
    """Bring back a value stored by :func:`dumps`."""
    first = text[:1]
    if first == '"' and "\\" not in text:
        # A string without escapes, the commonest value: its characters as
        # they are stored.
        return text[1:-1]
    if first != "0" and text.isdigit() and text.isascii():
        return int(text)
    constant = _CONSTANTS.get(text, _CONSTANTS)
    if constant is not _CONSTANTS:
        return constant
    try:
        value, end = _scan(text, 0)
    except StopIteration:
        end = -1
    if end != len(text):
        return _decoder.decode(text)  # raises, saying where the text is wrong
    return value


#: Types whose equal values are always stored alike (``float`` is not: ``0.0``
#: and ``-0.0`` are equal, and ``nan`` equals nothing).
_PLAIN = frozenset({str, int, bool, type(None), bytes, UUID, Markup})


def same(value: t.Any, snapshot: t.Any) -> bool:
    """Is ``value`` certain to be stored as ``snapshot`` is? ``snapshot`` is
    a value as :func:`loads` brought it back.

    Exact where encoding again would be: types must match exactly (``1``,
    ``1.0`` and ``True``; a tuple and a list; a ``str`` and a ``Markup``),
    floats compare as written, dicts in the same key order. Anything else
    answers ``False``, and the caller encodes the value to find out.
    """
    kind = type(value)
    if kind is not type(snapshot):
        return False
    if kind in _PLAIN:
        return bool(value == snapshot)
    if kind is float:
        return repr(value) == repr(snapshot)
    if kind is list or kind is tuple:
        return len(value) == len(snapshot) and all(map(same, value, snapshot))
    if kind is dict:
        return len(value) == len(snapshot) and all(
            type(key) is str and key == other and same(item, other_item)
            for (key, item), (other, other_item) in zip(
                value.items(), snapshot.items(), strict=True
            )
        )
    if kind is datetime:
        return bool(value.isoformat() == snapshot.isoformat())
    return False
