"""Configuration keys, their defaults, and the frozen settings built from them.

``init_app`` applies :data:`DEFAULTS` with ``app.config.setdefault`` and checks
every value once, so a request never reads ``app.config`` and a typo in a key's
value fails at start-up with the key's name in the message.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import sys
import typing as t
import warnings

from .backoff import RetryPolicy
from .rules import DOMAIN_RULE
from .rules import MAX_MINUTES
from .rules import PATH_RULE
from .rules import samesite
from .rules import valid_domain
from .rules import valid_path
from .rules import valid_time

#: Every configuration key with its default. ``docs/config.rst`` documents
#: exactly these keys (a test keeps the two in step). ``CREATE_TABLES`` of
#: ``None`` means "true when the sessions have a database of their own".
DEFAULTS: dict[str, t.Any] = {
    "NAMEDSESSIONS_DATABASE_URI": None,
    "NAMEDSESSIONS_ENGINE_OPTIONS": {},
    "NAMEDSESSIONS_BIND_KEY": None,
    "NAMEDSESSIONS_CREATE_TABLES": None,
    "NAMEDSESSIONS_TABLE_PREFIX": "namedsessions_",
    "NAMEDSESSIONS_EXPIRES": 15,
    "NAMEDSESSIONS_ABSOLUTE_TIMEOUT": None,
    "NAMEDSESSIONS_ROTATE_GRACE": 5,
    "NAMEDSESSIONS_TOUCH_INTERVAL": 60,
    "NAMEDSESSIONS_DEFAULT_TRACKING": "cookie",
    "NAMEDSESSIONS_PARAM_PREFIX": "_session:",
    "NAMEDSESSIONS_LINK_HOSTS": (),
    "NAMEDSESSIONS_MAX_PARAM_BODY": 65536,
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
    "NAMEDSESSIONS_CLEANUP_PAUSE": 0.01,
    "NAMEDSESSIONS_RETRY_ATTEMPTS": 8,
    "NAMEDSESSIONS_RETRY_BACKOFF": 0.01,
    "NAMEDSESSIONS_RETRY_LIMIT": 2.0,
    "NAMEDSESSIONS_STATEMENT_TIMEOUT": 10.0,
    "NAMEDSESSIONS_GALERA_CAUSAL_READS": True,
    "NAMEDSESSIONS_FLASK_SESSION": None,
    "NAMEDSESSIONS_FLASK_SESSION_TRACKING": "cookie",
    "NAMEDSESSIONS_REGENERATE_ON_LOGIN": True,
    "NAMEDSESSIONS_RECORD_USER_AGENT": False,
    "NAMEDSESSIONS_RECORD_IP": None,
    "NAMEDSESSIONS_CACHE_URL": None,
    "NAMEDSESSIONS_CACHE_PREFIX": "namedsessions:",
    "NAMEDSESSIONS_CACHE_TTL": 300,
    "NAMEDSESSIONS_CACHE_TIMEOUT": 0.05,
    "NAMEDSESSIONS_CACHE_RETRY_AFTER": 5,
}

#: How a session's ID travels, as configured or chosen by ``session_start``.
TrackingMode = t.Literal["cookie", "link", "auto", "none"]
TRACKING_MODES: tuple[TrackingMode, ...] = t.get_args(TrackingMode)
#: How much of a device's address is recorded with a session.
RecordIp = t.Literal["full", "truncated"]
_RECORD_IP = (None, *t.get_args(RecordIp))
#: Keys that look like ours: a misspelled one is reported, not ignored.
_OUR_PREFIX = "NAMEDSESSION"
#: How ``flask.session``'s ID may travel (``"none"`` would lose it).
FLASK_SESSION_TRACKING: tuple[TrackingMode, ...] = ("cookie", "auto", "link")
#: The cache URL schemes: redis-py's own, and Cluster and Sentinel as
#: :mod:`.cacheclient` reads them.
CACHE_SCHEMES = ("redis", "rediss", "unix", "redis+cluster", "rediss+cluster", "redis+sentinel")
_PREFIX_RE = re.compile(r"[A-Za-z0-9_.:~-]{0,64}\Z")
_COOKIE_PREFIX_RE = re.compile(r"[A-Za-z0-9_.~-]{0,64}\Z")
_TABLE_PREFIX_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,30}\Z")
_SESSION_NAME_RE = re.compile(r"[A-Za-z0-9_.\-]{1,64}\Z")


def _has_prefix(name: str, prefix: str) -> bool:
    """Browsers match the ``__Host-`` and ``__Secure-`` prefixes in any case."""
    return name[: len(prefix)].lower() == prefix.lower()


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
    #: the tables are created on first use
    create_tables: bool
    table_prefix: str
    expires: float
    absolute_timeout: float | None
    rotate_grace: float
    touch_interval: float
    default_tracking: TrackingMode
    param_prefix: str
    link_hosts: frozenset[str]
    #: the longest form body read for the ID parameter, in bytes
    max_param_body: int
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
    #: the session that serves ``flask.session``, if any
    flask_session: str | None = None
    flask_session_tracking: TrackingMode = "cookie"
    #: its cookie: Flask's ``SESSION_COOKIE_NAME``
    flask_cookie_name: str = "session"
    regenerate_on_login: bool = True
    #: seconds between two cleanup batches
    cleanup_pause: float = 0.0
    retry: RetryPolicy = dataclasses.field(default_factory=RetryPolicy)
    #: seconds a statement on the extension's own engine may run; ``None``: no limit
    statement_timeout: float | None = None
    galera_causal_reads: bool = True
    #: the Redis or Valkey URL of the cache in front of the tables, if any
    cache_url: str | None = dataclasses.field(default=None, repr=False)
    cache_prefix: str = "namedsessions:"
    #: seconds: how long an entry lives, and reads bypass the cache after a
    #: failed cache write
    cache_ttl: float = 300.0
    #: seconds a cache command may take
    cache_timeout: float = 0.05
    #: seconds the cache is left alone after it failed
    cache_retry_after: float = 5.0

    def cookie_name(self, name: str) -> str:
        """The cookie that carries session ``name``'s ID: Flask's own
        ``SESSION_COOKIE_NAME`` for the session behind ``flask.session``."""
        if name == self.flask_session:
            return self.flask_cookie_name
        return f"{self.cookie_prefix}{name}"

    def param_name(self, name: str) -> str:
        """The request parameter that carries session ``name``'s ID."""
        return f"{self.param_prefix}{name}"

    def cookie_options(self, **overrides: t.Any) -> CookieOptions:
        """The configured cookie attributes with ``overrides`` that are not
        ``None``, and what browsers then demand (see :meth:`enforce`)."""
        changes = {k: v for k, v in overrides.items() if v is not None}
        return self.enforce(dataclasses.replace(self.cookie, **changes) if changes else self.cookie)

    def enforce(self, options: CookieOptions, cookie_name: str | None = None) -> CookieOptions:
        """Force what browsers require, or they drop the cookie (and a cookie
        being expired would outlive its session): ``__Host-`` cookies are
        ``Secure`` with ``Path=/`` and no ``Domain``; ``__Secure-``,
        partitioned and ``SameSite=None`` cookies are ``Secure``. The prefix
        is the configured one, or that of ``cookie_name`` where given."""
        prefix = self.cookie_prefix if cookie_name is None else cookie_name
        if _has_prefix(prefix, "__Host-"):
            return dataclasses.replace(options, secure=True, path="/", domain=None)
        samesite_none = options.samesite is not None and options.samesite.lower() == "none"
        if _has_prefix(prefix, "__Secure-") or options.partitioned or samesite_none:
            return dataclasses.replace(options, secure=True)
        return options


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

    def integer(self, key: str, *, zero: bool = False) -> int:
        value = self.config[key]
        if not isinstance(value, int) or isinstance(value, bool) or value < (0 if zero else 1):
            self._fail(key, "an integer >= 0" if zero else "a positive integer")
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

    def samesite(self, key: str) -> str | None:
        return samesite(key, self.config[key])


def warn_unknown_keys(config: t.Mapping[str, t.Any]) -> None:
    """Warn about each key that looks like ours but is none of
    :data:`DEFAULTS`, naming the closest: a misspelled key would otherwise be
    ignored without a word."""
    for key in sorted(k for k in config if isinstance(k, str)):
        if not key.upper().startswith(_OUR_PREFIX) or key in DEFAULTS:
            continue
        # Compared without the prefix, which every key shares.
        known = {k.removeprefix("NAMEDSESSIONS_"): k for k in DEFAULTS}
        typed = re.sub(r"^NAMEDSESSIONS?_?", "", key.upper())
        close = difflib.get_close_matches(typed, known, n=1)
        hint = f"did you mean {known[close[0]]}?" if close else "the docs list every key"
        warnings.warn(
            f"{key} is not a flask-namedsessions setting and is ignored; {hint}",
            stacklevel=_outside_package(),
        )


def _outside_package() -> int:
    """The ``stacklevel`` of the first caller outside this package, so that a
    warning points at the application's ``init_app`` line."""
    level = 2
    frame = sys._getframe(2)
    while frame.f_back is not None and frame.f_globals.get("__name__", "").startswith(
        __name__.partition(".")[0] + "."
    ):
        frame = frame.f_back
        level += 1
    return level


def _check_engine_options(r: _Reader, options: object, own_engine: bool) -> None:
    key = "NAMEDSESSIONS_ENGINE_OPTIONS"
    if not isinstance(options, t.Mapping):
        r._fail(key, "a dict")
    if not isinstance(options.get("connect_args", {}), t.Mapping):
        r._fail(key, "a dict whose connect_args is a dict")
    if options and not own_engine:
        raise ValueError(
            f"{key} applies only to the extension's own engine, but the sessions"
            " use Flask-SQLAlchemy's: set SQLALCHEMY_ENGINE_OPTIONS (or"
            " SQLALCHEMY_BINDS) instead, or give the sessions their own"
            " NAMEDSESSIONS_DATABASE_URI"
        )


def build_settings(config: t.Mapping[str, t.Any], *, with_db: bool = False) -> Settings:
    """Check every ``NAMEDSESSIONS_*`` value and freeze them.

    :param with_db: ``init_app`` was given a Flask-SQLAlchemy ``db``. Its
        engine holds the sessions unless ``NAMEDSESSIONS_DATABASE_URI`` gives
        them their own; only then do the tables default to being created on
        first use (with ``db``, migrations own the schema).
    """
    r = _Reader(config)
    database_uri = r.optional_text("NAMEDSESSIONS_DATABASE_URI")
    bind_key = r.optional_text("NAMEDSESSIONS_BIND_KEY")
    if bind_key is not None and not with_db:
        raise ValueError(
            f"NAMEDSESSIONS_BIND_KEY is {bind_key!r}, but a bind belongs to"
            " Flask-SQLAlchemy: pass its db to init_app, or leave the key unset"
        )
    if bind_key is not None and database_uri is not None:
        raise ValueError(
            "NAMEDSESSIONS_DATABASE_URI and NAMEDSESSIONS_BIND_KEY are both set: the"
            " URI gives the sessions a database of their own, the bind key one of"
            " Flask-SQLAlchemy's; set only one"
        )
    own_engine = not with_db or database_uri is not None
    create_tables = own_engine
    if config["NAMEDSESSIONS_CREATE_TABLES"] is not None:
        create_tables = r.flag("NAMEDSESSIONS_CREATE_TABLES")
    hosts = config["NAMEDSESSIONS_LINK_HOSTS"]
    if not isinstance(hosts, (list, tuple, set, frozenset)) or not all(
        isinstance(h, str) for h in hosts
    ):
        r._fail("NAMEDSESSIONS_LINK_HOSTS", "a list of host names")
    options = config["NAMEDSESSIONS_ENGINE_OPTIONS"]
    _check_engine_options(r, options, own_engine)
    probability = r.number("NAMEDSESSIONS_GC_PROBABILITY", positive=False)
    if probability > 1:
        r._fail("NAMEDSESSIONS_GC_PROBABILITY", "between 0.0 and 1.0")
    cookie_prefix = r.text("NAMEDSESSIONS_COOKIE_PREFIX", _COOKIE_PREFIX_RE)
    host_prefix = _has_prefix(cookie_prefix, "__Host-")
    # Checked even where a __Host- prefix overrides them: a typo stays a typo.
    cookie_path = r.text("NAMEDSESSIONS_COOKIE_PATH")
    if not valid_path(cookie_path):
        r._fail("NAMEDSESSIONS_COOKIE_PATH", PATH_RULE)
    cookie_domain = r.optional_text("NAMEDSESSIONS_COOKIE_DOMAIN")
    if cookie_domain is not None and not valid_domain(cookie_domain):
        r._fail("NAMEDSESSIONS_COOKIE_DOMAIN", DOMAIN_RULE)
    cookie_secure = r.flag("NAMEDSESSIONS_COOKIE_SECURE")
    flask_session = r.optional_text("NAMEDSESSIONS_FLASK_SESSION")
    if flask_session is not None and not _SESSION_NAME_RE.match(flask_session):
        r._fail("NAMEDSESSIONS_FLASK_SESSION", "None or a session name (A-Z a-z 0-9 _ . -)")
    return Settings(
        database_uri=database_uri,
        engine_options=dict(options),
        bind_key=bind_key,
        create_tables=create_tables,
        table_prefix=r.text("NAMEDSESSIONS_TABLE_PREFIX", _TABLE_PREFIX_RE),
        expires=r.number("NAMEDSESSIONS_EXPIRES"),
        absolute_timeout=r.number("NAMEDSESSIONS_ABSOLUTE_TIMEOUT", optional=True),
        rotate_grace=r.number("NAMEDSESSIONS_ROTATE_GRACE", positive=False),
        touch_interval=r.number("NAMEDSESSIONS_TOUCH_INTERVAL", positive=False),
        default_tracking=r.choice("NAMEDSESSIONS_DEFAULT_TRACKING", TRACKING_MODES),
        param_prefix=r.text("NAMEDSESSIONS_PARAM_PREFIX", _PREFIX_RE),
        link_hosts=frozenset(h.lower() for h in hosts),
        max_param_body=r.integer("NAMEDSESSIONS_MAX_PARAM_BODY", zero=True),
        cookie_prefix=cookie_prefix,
        cookie=CookieOptions(
            path="/" if host_prefix else cookie_path,
            domain=None if host_prefix else cookie_domain,
            secure=host_prefix or cookie_secure,
            httponly=r.flag("NAMEDSESSIONS_COOKIE_HTTPONLY"),
            samesite=r.samesite("NAMEDSESSIONS_COOKIE_SAMESITE"),
            partitioned=r.flag("NAMEDSESSIONS_COOKIE_PARTITIONED"),
        ),
        save_on_error=r.flag("NAMEDSESSIONS_SAVE_ON_ERROR"),
        save_empty=r.flag("NAMEDSESSIONS_SAVE_EMPTY"),
        max_value_bytes=r.integer("NAMEDSESSIONS_MAX_VALUE_BYTES"),
        max_vars=r.integer("NAMEDSESSIONS_MAX_VARS"),
        gc_probability=probability,
        gc_batch_size=r.integer("NAMEDSESSIONS_GC_BATCH_SIZE"),
        cleanup_pause=r.number("NAMEDSESSIONS_CLEANUP_PAUSE", positive=False),
        retry=RetryPolicy(
            attempts=r.integer("NAMEDSESSIONS_RETRY_ATTEMPTS"),
            backoff=r.number("NAMEDSESSIONS_RETRY_BACKOFF", positive=False),
            limit=r.number("NAMEDSESSIONS_RETRY_LIMIT", positive=False),
        ),
        statement_timeout=r.number("NAMEDSESSIONS_STATEMENT_TIMEOUT", positive=False, optional=True)
        or None,
        galera_causal_reads=r.flag("NAMEDSESSIONS_GALERA_CAUSAL_READS"),
        flask_session=flask_session,
        flask_session_tracking=r.choice(
            "NAMEDSESSIONS_FLASK_SESSION_TRACKING", FLASK_SESSION_TRACKING
        ),
        flask_cookie_name=_flask_cookie_name(config) if flask_session else "session",
        regenerate_on_login=r.flag("NAMEDSESSIONS_REGENERATE_ON_LOGIN"),
        record_user_agent=r.flag("NAMEDSESSIONS_RECORD_USER_AGENT"),
        record_ip=r.choice("NAMEDSESSIONS_RECORD_IP", _RECORD_IP),
        cache_url=_cache_url(r),
        cache_prefix=r.text("NAMEDSESSIONS_CACHE_PREFIX", _PREFIX_RE),
        cache_ttl=r.number("NAMEDSESSIONS_CACHE_TTL"),
        cache_timeout=r.number("NAMEDSESSIONS_CACHE_TIMEOUT"),
        cache_retry_after=r.number("NAMEDSESSIONS_CACHE_RETRY_AFTER", positive=False),
    )


def _cache_url(r: _Reader) -> str | None:
    """The cache URL, if one is set, with a scheme the cache can use."""
    url = r.optional_text("NAMEDSESSIONS_CACHE_URL")
    if url is not None and url.partition("://")[0].lower() not in CACHE_SCHEMES:
        r._fail("NAMEDSESSIONS_CACHE_URL", "None or a URL of scheme " + ", ".join(CACHE_SCHEMES))
    return url


#: A cookie name as RFC 6265 allows it (an HTTP token).
_COOKIE_NAME_RE = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,128}\Z")


def _flask_cookie_name(config: t.Mapping[str, t.Any]) -> str:
    """Flask's ``SESSION_COOKIE_NAME``, which ``flask.session``'s ID then
    travels in, so that a cookie another session interface issued keeps
    working."""
    name = config.get("SESSION_COOKIE_NAME", "session")
    if not isinstance(name, str) or not _COOKIE_NAME_RE.match(name):
        raise ValueError(
            "SESSION_COOKIE_NAME must be a cookie name (letters, digits and"
            f" !#$%&'*+-.^_`|~), got {name!r}"
        )
    return name
