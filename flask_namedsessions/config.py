"""Configuration keys, their defaults, and the frozen settings built from them.

``init_app`` applies :data:`DEFAULTS` with ``app.config.setdefault`` and checks
every value once, so a request never reads ``app.config`` and a typo in a key's
value fails at start-up with the key's name in the message.
"""

from __future__ import annotations

import dataclasses
import re
import typing as t

#: Every configuration key with its default. ``docs/config.rst`` documents
#: exactly these keys (a test keeps the two in step).
DEFAULTS: dict[str, t.Any] = {
    "NAMEDSESSIONS_DATABASE_URI": None,
    "NAMEDSESSIONS_ENGINE_OPTIONS": {},
    "NAMEDSESSIONS_BIND_KEY": None,
    "NAMEDSESSIONS_CREATE_TABLES": True,
    "NAMEDSESSIONS_TABLE_PREFIX": "namedsessions_",
    "NAMEDSESSIONS_EXPIRES": 15,
    "NAMEDSESSIONS_ABSOLUTE_TIMEOUT": None,
    "NAMEDSESSIONS_ROTATE_GRACE": 5,
    "NAMEDSESSIONS_TOUCH_INTERVAL": 60,
    "NAMEDSESSIONS_DEFAULT_TRACKING": "cookie",
    "NAMEDSESSIONS_PARAM_PREFIX": "_session:",
    "NAMEDSESSIONS_LINK_HOSTS": (),
    "NAMEDSESSIONS_COOKIE_PREFIX": "session_",
    "NAMEDSESSIONS_COOKIE_PATH": "/",
    "NAMEDSESSIONS_COOKIE_DOMAIN": None,
    "NAMEDSESSIONS_COOKIE_SECURE": False,
    "NAMEDSESSIONS_COOKIE_HTTPONLY": True,
    "NAMEDSESSIONS_COOKIE_SAMESITE": "Lax",
    "NAMEDSESSIONS_COOKIE_PARTITIONED": False,
    "NAMEDSESSIONS_SAVE_ON_ERROR": False,
    "NAMEDSESSIONS_SAVE_EMPTY": False,
    "NAMEDSESSIONS_MAX_VALUE_BYTES": 65536,
    "NAMEDSESSIONS_MAX_VARS": 100,
    "NAMEDSESSIONS_GC_PROBABILITY": 0.0,
    "NAMEDSESSIONS_GC_BATCH_SIZE": 1000,
    "NAMEDSESSIONS_RECORD_USER_AGENT": False,
    "NAMEDSESSIONS_RECORD_IP": None,
}

#: How a session's ID travels, as configured or chosen by ``session_start``.
TrackingMode = t.Literal["cookie", "link", "auto", "none"]
TRACKING_MODES: tuple[TrackingMode, ...] = t.get_args(TrackingMode)
#: How much of a device's address is recorded with a session.
RecordIp = t.Literal["full", "truncated"]
_RECORD_IP = (None, *t.get_args(RecordIp))
_SAMESITE = (None, "Lax", "Strict", "None")
_PREFIX_RE = re.compile(r"[A-Za-z0-9_.:~-]{0,64}\Z")
_COOKIE_PREFIX_RE = re.compile(r"[A-Za-z0-9_.~-]{0,64}\Z")
_TABLE_PREFIX_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,30}\Z")


@dataclasses.dataclass(frozen=True)
class CookieOptions:
    """The attributes a session's cookie is set, and later expired, with."""

    domain: str | None
    path: str
    secure: bool
    httponly: bool
    samesite: str | None
    partitioned: bool


@dataclasses.dataclass(frozen=True)
class Settings:
    """The checked configuration of one app, built once by ``init_app``."""

    database_uri: str | None
    engine_options: t.Mapping[str, t.Any]
    bind_key: str | None
    create_tables: bool
    table_prefix: str
    expires: float
    absolute_timeout: float | None
    rotate_grace: float
    touch_interval: float
    default_tracking: TrackingMode
    param_prefix: str
    link_hosts: frozenset[str]
    cookie_prefix: str
    #: the cookie attributes from config, with the prefix's rules applied
    cookie: CookieOptions
    save_on_error: bool
    save_empty: bool
    max_value_bytes: int
    max_vars: int
    gc_probability: float
    gc_batch_size: int
    record_user_agent: bool
    record_ip: RecordIp | None

    def cookie_name(self, name: str) -> str:
        """The cookie that carries session ``name``'s ID."""
        return f"{self.cookie_prefix}{name}"

    def param_name(self, name: str) -> str:
        """The request parameter that carries session ``name``'s ID."""
        return f"{self.param_prefix}{name}"

    def cookie_options(self, **overrides: t.Any) -> CookieOptions:
        """The configured cookie attributes with ``overrides`` that are not
        ``None``, and what browsers then demand (see :meth:`enforce`)."""
        changes = {k: v for k, v in overrides.items() if v is not None}
        return self.enforce(dataclasses.replace(self.cookie, **changes) if changes else self.cookie)

    def enforce(self, options: CookieOptions) -> CookieOptions:
        """Force what browsers require, or they drop the cookie (and a cookie
        being expired would outlive its session): ``__Host-`` cookies are
        ``Secure`` with ``Path=/`` and no ``Domain``; ``__Secure-`` and
        partitioned cookies are ``Secure``."""
        prefix = self.cookie_prefix
        if prefix.startswith("__Host-"):
            return dataclasses.replace(options, secure=True, path="/", domain=None)
        if prefix.startswith("__Secure-") or options.partitioned:
            return dataclasses.replace(options, secure=True)
        return options


#: The longest timeout in minutes (about 190 years); also caps the seconds
#: keys, so that every time stays a finite number of milliseconds.
MAX_MINUTES = 100_000_000


def valid_time(value: object, *, zero: bool = False) -> bool:
    """Is ``value`` a time in minutes or seconds that every database can
    store: a number above 0 (or ``zero`` itself), up to :data:`MAX_MINUTES`?"""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return (value >= 0 if zero else value > 0) and value <= MAX_MINUTES


class _Reader:
    """Reads and checks keys, naming the key in every error."""

    def __init__(self, config: t.Mapping[str, t.Any]) -> None:
        self.config = config

    def _fail(self, key: str, expected: str) -> t.NoReturn:
        raise ValueError(f"{key} must be {expected}, got {self.config[key]!r}")

    def flag(self, key: str) -> bool:
        value = self.config[key]
        if not isinstance(value, bool):
            self._fail(key, "True or False")
        return value

    def number(self, key: str, *, positive: bool = True, optional: bool = False) -> t.Any:
        value = self.config[key]
        if value is None and optional:
            return None
        if not valid_time(value, zero=not positive):
            low = "a positive number" if positive else "a number >= 0"
            self._fail(key, f"{low} up to {MAX_MINUTES:,}")
        return float(value)

    def integer(self, key: str) -> int:
        value = self.config[key]
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            self._fail(key, "a positive integer")
        return value

    def text(self, key: str, pattern: re.Pattern[str] | None = None) -> str:
        value = self.config[key]
        if not isinstance(value, str) or (pattern and not pattern.match(value)):
            self._fail(key, "a string" + (f" matching {pattern.pattern}" if pattern else ""))
        return value

    def optional_text(self, key: str) -> str | None:
        return None if self.config[key] is None else self.text(key)

    def choice(self, key: str, choices: t.Sequence[t.Any]) -> t.Any:
        if self.config[key] not in choices:
            self._fail(key, "one of " + ", ".join(map(repr, choices)))
        return self.config[key]


def build_settings(config: t.Mapping[str, t.Any]) -> Settings:
    """Check every ``NAMEDSESSIONS_*`` value and freeze them."""
    r = _Reader(config)
    hosts = config["NAMEDSESSIONS_LINK_HOSTS"]
    if not isinstance(hosts, (list, tuple, set, frozenset)) or not all(
        isinstance(h, str) for h in hosts
    ):
        r._fail("NAMEDSESSIONS_LINK_HOSTS", "a list of host names")
    options = config["NAMEDSESSIONS_ENGINE_OPTIONS"]
    if not isinstance(options, t.Mapping):
        r._fail("NAMEDSESSIONS_ENGINE_OPTIONS", "a dict")
    probability = r.number("NAMEDSESSIONS_GC_PROBABILITY", positive=False)
    if probability > 1:
        r._fail("NAMEDSESSIONS_GC_PROBABILITY", "between 0.0 and 1.0")
    cookie_prefix = r.text("NAMEDSESSIONS_COOKIE_PREFIX", _COOKIE_PREFIX_RE)
    host_prefix = cookie_prefix.startswith("__Host-")
    # Checked even where a __Host- prefix overrides them: a typo stays a typo.
    cookie_path = r.text("NAMEDSESSIONS_COOKIE_PATH")
    cookie_domain = r.optional_text("NAMEDSESSIONS_COOKIE_DOMAIN")
    cookie_secure = r.flag("NAMEDSESSIONS_COOKIE_SECURE")
    return Settings(
        database_uri=r.optional_text("NAMEDSESSIONS_DATABASE_URI"),
        engine_options=dict(options),
        bind_key=r.optional_text("NAMEDSESSIONS_BIND_KEY"),
        create_tables=r.flag("NAMEDSESSIONS_CREATE_TABLES"),
        table_prefix=r.text("NAMEDSESSIONS_TABLE_PREFIX", _TABLE_PREFIX_RE),
        expires=r.number("NAMEDSESSIONS_EXPIRES"),
        absolute_timeout=r.number("NAMEDSESSIONS_ABSOLUTE_TIMEOUT", optional=True),
        rotate_grace=r.number("NAMEDSESSIONS_ROTATE_GRACE", positive=False),
        touch_interval=r.number("NAMEDSESSIONS_TOUCH_INTERVAL", positive=False),
        default_tracking=r.choice("NAMEDSESSIONS_DEFAULT_TRACKING", TRACKING_MODES),
        param_prefix=r.text("NAMEDSESSIONS_PARAM_PREFIX", _PREFIX_RE),
        link_hosts=frozenset(h.lower() for h in hosts),
        cookie_prefix=cookie_prefix,
        cookie=CookieOptions(
            path="/" if host_prefix else cookie_path,
            domain=None if host_prefix else cookie_domain,
            secure=host_prefix or cookie_secure,
            httponly=r.flag("NAMEDSESSIONS_COOKIE_HTTPONLY"),
            samesite=r.choice("NAMEDSESSIONS_COOKIE_SAMESITE", _SAMESITE),
            partitioned=r.flag("NAMEDSESSIONS_COOKIE_PARTITIONED"),
        ),
        save_on_error=r.flag("NAMEDSESSIONS_SAVE_ON_ERROR"),
        save_empty=r.flag("NAMEDSESSIONS_SAVE_EMPTY"),
        max_value_bytes=r.integer("NAMEDSESSIONS_MAX_VALUE_BYTES"),
        max_vars=r.integer("NAMEDSESSIONS_MAX_VARS"),
        gc_probability=probability,
        gc_batch_size=r.integer("NAMEDSESSIONS_GC_BATCH_SIZE"),
        record_user_agent=r.flag("NAMEDSESSIONS_RECORD_USER_AGENT"),
        record_ip=r.choice("NAMEDSESSIONS_RECORD_IP", _RECORD_IP),
    )
