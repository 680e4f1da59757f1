"""The two tables: one row per session, one row per tracked variable.

A variable is its own row so that a save writes only what changed, and two
requests that change different variables of one session never overwrite each
other. Sessions are keyed internally by ``row_id`` (the column ``sid``), a random
handle that is not the session ID: rotating an ID then rewrites one row, not
every variable.

Times are integer milliseconds since the epoch: exact, cheap to compare and the
same on every database.

A lease row says which process runs the cleanup, and until when: a lock
that every database replicates, Galera included (where ``GET_LOCK`` is not
replicated), and that lapses by itself when its holder dies.

A session bound to a user carries the application's user key (``user_key``,
indexed, so that a user's sessions are found without a scan) and, when the
application asks for them, the device details recorded with it.
"""

from __future__ import annotations

import dataclasses
import typing as t

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

#: Length of the internal ``row_id`` handle (hex characters).
ROW_ID_LENGTH = 32
#: Longest tracked variable name.
VAR_NAME_LENGTH = 128
#: Longest user key, in characters.
USER_KEY_LENGTH = 255
#: Longest recorded user agent; a longer one is cut.
USER_AGENT_LENGTH = 512
#: Longest recorded address: an IPv6 address with an IPv4 tail.
IP_LENGTH = 45

_LONG_TEXT = sa.Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")


def _exact_name(length: int) -> sa.types.TypeEngine[str]:
    """A name compared exactly, case and accents included, on every database.

    MariaDB and MySQL compare text by the table's collation, which ignores
    case and accents (``utf8mb4_general_ci``): ``Total`` and ``total`` would be
    one variable. Their column gets a binary collation, and is ``CHAR``
    rather than ``VARCHAR`` so that Alembic's autogenerate, which does not
    compare collations, sees the change in existing tables. Names hold no
    trailing spaces, which ``CHAR`` would drop.
    """
    exact = mysql.CHAR(length, charset="utf8mb4", collation="utf8mb4_bin")
    return sa.String(length).with_variant(exact, "mysql", "mariadb")


_own_metadata: dict[str, sa.MetaData] = {}


@dataclasses.dataclass(frozen=True)
class Tables:
    """The session tables of one app."""

    sessions: sa.Table
    variables: sa.Table
    #: one row per task that one process at a time may run (the cleanup)
    leases: sa.Table


def _define(metadata: sa.MetaData, prefix: str) -> Tables:
    sessions_name = f"{prefix}sessions"
    variables_name = f"{prefix}variables"
    leases_name = f"{prefix}leases"
    if sessions_name in metadata.tables:
        return Tables(
            metadata.tables[sessions_name],
            metadata.tables[variables_name],
            metadata.tables[leases_name],
        )
    table_kw: dict[str, t.Any] = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}
    sessions = sa.Table(
        sessions_name,
        metadata,
        sa.Column("sid", sa.String(ROW_ID_LENGTH), key="row_id", primary_key=True),
        sa.Column("name", _exact_name(64), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("old_key", sa.String(64), nullable=True),
        sa.Column("old_key_until", sa.BigInteger, nullable=True),
        sa.Column("successor", sa.String(64), nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("touched_at", sa.BigInteger, nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
        sa.Column("expires_min", sa.Double, nullable=False),
        sa.Column("user_key", sa.String(USER_KEY_LENGTH), nullable=True),
        sa.Column("user_agent", sa.String(USER_AGENT_LENGTH), nullable=True),
        sa.Column("ip", sa.String(IP_LENGTH), nullable=True),
        sa.Index(f"ix_{sessions_name}_key", "key", unique=True),
        sa.Index(f"ix_{sessions_name}_old_key", "old_key"),
        sa.Index(f"ix_{sessions_name}_expires_at", "expires_at"),
        sa.Index(f"ix_{sessions_name}_user_key", "user_key"),
        **table_kw,
    )
    variables = sa.Table(
        variables_name,
        metadata,
        sa.Column(
            "sid",
            sa.String(ROW_ID_LENGTH),
            sa.ForeignKey(
                sessions.c.row_id,
                name=f"fk_{variables_name}_sid",
                ondelete="CASCADE",
            ),
            key="row_id",
            primary_key=True,
        ),
        sa.Column("name", _exact_name(VAR_NAME_LENGTH), primary_key=True),
        sa.Column("value", _LONG_TEXT, nullable=False),
        **table_kw,
    )
    leases = sa.Table(
        leases_name,
        metadata,
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("holder", sa.String(64), nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
        **table_kw,
    )
    return Tables(sessions, variables, leases)


def define_tables(metadata: sa.MetaData | None, prefix: str) -> Tables:
    """Declare the tables in ``metadata`` (a Flask-SQLAlchemy one, so that
    migrations see them) or in our own; declaring twice returns the first."""
    if metadata is None:
        metadata = _own_metadata.setdefault(prefix, sa.MetaData())
    return _define(metadata, prefix)
