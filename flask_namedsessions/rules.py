"""The rules for values a developer passes, in the configuration or in a
call: times, cookie domains and paths, ``SameSite``. Shared by :mod:`.config`
and :mod:`.api`, so that a key and an argument are judged alike.
"""

from __future__ import annotations

import re

__all__ = [
    "DOMAIN_RULE",
    "MAX_MINUTES",
    "PATH_RULE",
    "samesite",
    "valid_domain",
    "valid_path",
    "valid_time",
]

_SAMESITE = ("Lax", "Strict", "None")

#: A host name (any letters, for IDNA), maybe with a leading dot or a port:
#: nothing that would end the attribute or start another.
_DOMAIN_RE = re.compile(r"\.?[\w-]+(?:\.[\w-]+)*\.?(?::[0-9]{1,5})?\Z")
DOMAIN_RULE = 'a host name such as example.com, without ";", spaces or control characters'
PATH_RULE = 'a path that starts with "/", without ";", spaces or control characters'


def valid_domain(value: str) -> bool:
    """Can ``value`` be a cookie's ``Domain`` without adding attributes?"""
    return _DOMAIN_RE.match(value) is not None


def valid_path(value: str) -> bool:
    """Can ``value`` be a cookie's ``Path`` without adding attributes?"""
    return value[:1] == "/" and value.isprintable() and " " not in value and ";" not in value


#: The longest timeout in minutes (about 190 years); also caps the seconds
#: keys, so that every time stays a finite number of milliseconds.
MAX_MINUTES = 100_000_000


def valid_time(value: object, *, zero: bool = False) -> bool:
    """Is ``value`` a time in minutes or seconds that every database can
    store: a number above 0 (or ``zero`` itself), up to :data:`MAX_MINUTES`?"""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return (value >= 0 if zero else value > 0) and value <= MAX_MINUTES


def samesite(key: str, value: object) -> str | None:
    """A ``SameSite`` value in any case, as Flask and Werkzeug take it, in
    their spelling; ``ValueError`` naming ``key`` for anything else."""
    if value is None:
        return None
    if not isinstance(value, str) or value.title() not in _SAMESITE:
        raise ValueError(
            f"{key} must be 'Lax', 'Strict', 'None' (in any case) or None, got {value!r}"
        )
    return value.title()
