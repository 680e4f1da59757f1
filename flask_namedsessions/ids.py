"""Session IDs: new ones from :mod:`secrets`, a cheap format check, a one-way hash.

The database never sees an ID, only :func:`lookup_key` of it, so a leaked table
does not hand out live sessions. A malformed ID is rejected here, before any
query is sent.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets

#: 32 random bytes, URL-safe base64 without padding: 43 characters, 256 bits.
ID_BYTES = 32

_ID_RE = re.compile(r"[A-Za-z0-9\-_.~]{1,128}\Z")
_NAME_RE = re.compile(r"[A-Za-z0-9_.\-]{1,64}\Z")


def new_id() -> str:
    """Return a fresh, unguessable session ID."""
    return secrets.token_urlsafe(ID_BYTES)


def is_valid_id(value: object) -> bool:
    """Is ``value`` a string that could be a session ID? Costs no query."""
    return isinstance(value, str) and _ID_RE.match(value) is not None


def is_valid_name(value: object) -> bool:
    """Is ``value`` a valid session name?"""
    return isinstance(value, str) and _NAME_RE.match(value) is not None


def check_name(name: object) -> None:
    """Raise :exc:`ValueError` explaining the allowed form unless ``name`` is
    a valid session name."""
    if not is_valid_name(name):
        raise ValueError(
            f"invalid session name {name!r}: use 1 to 64 characters from A-Z a-z 0-9 _ . -"
        )


def lookup_key(name: str, session_id: str) -> str:
    """The stored, one-way form of an ID: it also depends on the session name,
    so one explicit ID may serve several named sessions."""
    return hashlib.sha256(f"{name}/{session_id}".encode("ascii")).hexdigest()


def _keystream(name: str, sid: str, old_id: str) -> bytes:
    """A pad only the old ID gives, for one session row: the ``:`` that
    neither names nor IDs may hold keeps it apart from every lookup key."""
    return hashlib.sha256(f"rotate:{name}:{sid}:{old_id}".encode("ascii")).digest()


def seal_successor(name: str, sid: str, old_id: str, new: str) -> str:
    """Encrypt a rotated session's new ID so that only a holder of the old ID
    can read it back during the grace period. ``new`` is a generated ID."""
    raw = _decode(new)
    return bytes(a ^ b for a, b in zip(raw, _keystream(name, sid, old_id), strict=True)).hex()


def open_successor(name: str, sid: str, old_id: str, sealed: str) -> str | None:
    """Return the ID sealed by :func:`seal_successor`, or ``None``."""
    try:
        raw = bytes.fromhex(sealed)
    except ValueError:
        return None
    if len(raw) != ID_BYTES:
        return None
    plain = bytes(a ^ b for a, b in zip(raw, _keystream(name, sid, old_id), strict=True))
    return base64.urlsafe_b64encode(plain).rstrip(b"=").decode("ascii")


def _decode(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
