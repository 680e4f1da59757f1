"""Tying a session to a user: the user key as stored, and the device details
recorded with it.

The user key is the application's own (a user ID, a name), stored as text so
that ``42`` and ``"42"`` are one user. Device details are recorded only where
the configuration asks for them, and never checked against a later request:
a phone changes its address on every network and its user agent with every
update, so tying a session to either would log people out for nothing.
"""

from __future__ import annotations

import ipaddress
import typing as t

from .models import IP_LENGTH
from .models import USER_AGENT_LENGTH
from .models import USER_KEY_LENGTH

if t.TYPE_CHECKING:
    from flask import Request

    from .config import Settings

__all__ = ["device_details", "recorded_address", "user_key"]

#: What a user key may be, for error messages.
_RULE = f"a user key is an int or a str of 1 to {USER_KEY_LENGTH} characters (no NUL, valid UTF-8)"


def _described(value: object) -> str:
    """What ``value`` is, without showing it: a user key may be an e-mail
    address, which has no place in a log."""
    if isinstance(value, str):
        return f"a str of {len(value)} characters"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"an int of {len(str(abs(value)))} digits"
    return f"a {type(value).__name__}"


def user_key(value: object, what: str) -> str:
    """``value`` as the text it is stored as, or :exc:`TypeError` /
    :exc:`ValueError` saying what a user key may be; ``what`` opens the
    message (``"cannot bind session 'cart' to a user"``)."""
    if isinstance(value, int) and not isinstance(value, bool):
        text = str(value)
    elif isinstance(value, str):
        text = value
    else:
        raise TypeError(f"{what}: {_RULE}, got {_described(value)}")
    if not 0 < len(text) <= USER_KEY_LENGTH or "\x00" in text or not _encodes(text):
        raise ValueError(f"{what}: {_RULE}, got {_described(value)}")
    return text


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def device_details(request: Request, settings: Settings) -> dict[str, str | None]:
    """The columns that the configuration records of this request's device,
    with their values (none when nothing is recorded)."""
    details: dict[str, str | None] = {}
    if settings.record_user_agent:
        agent = "".join(c for c in request.headers.get("User-Agent", "") if c.isprintable())
        details["user_agent"] = agent.strip()[:USER_AGENT_LENGTH] or None
    if settings.record_ip is not None:
        details["ip"] = recorded_address(request.remote_addr, settings.record_ip)
    return details


def recorded_address(remote: str | None, mode: str) -> str | None:
    """``remote`` as recorded: in full, or (``"truncated"``) the network
    address of its IPv4 /24 or IPv6 /48 (/40 for a 6to4 address, whose /48
    would be the whole IPv4 address it stands for), without a prefix length. Anything
    that is not an IP address (a Unix socket's peer) records nothing."""
    if not remote:
        return None
    try:
        address = ipaddress.ip_address(remote.partition("%")[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if mode == "truncated":
        prefix = 24 if address.version == 4 else 48
        if isinstance(address, ipaddress.IPv6Address) and address.sixtofour is not None:
            prefix = 40  # a 6to4 /48 holds the whole IPv4 address: keep its /24
        address = ipaddress.ip_network((address, prefix), strict=False).network_address
    return str(address)[:IP_LENGTH]
