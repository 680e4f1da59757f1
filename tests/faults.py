"""Real database errors on demand: triggers that fail the first N writes to a
session table the way a deadlock or a Galera certification conflict does.

The count of failures still to come lives where a rollback does not undo it
(a PostgreSQL sequence, a MyISAM table on MariaDB), so each failed attempt
uses one up.
"""

from __future__ import annotations

import sqlalchemy as sa


class Faults:
    """Fail the next ``count`` writes (``event`` on ``table``) with SQLSTATE
    40001 (PostgreSQL) or error 1213 (MariaDB), as a serialization failure,
    a deadlock or a certification conflict would."""

    def __init__(self, url: str) -> None:
        self.engine = sa.create_engine(url)
        self.dialect = self.engine.dialect.name
        self.installed: list[tuple[str, str]] = []
        with self.engine.begin() as conn:
            if self.dialect == "postgresql":
                conn.exec_driver_sql("DROP SEQUENCE IF EXISTS test_faults_used")
                conn.exec_driver_sql("DROP TABLE IF EXISTS test_faults")
                conn.exec_driver_sql("CREATE SEQUENCE test_faults_used")
                conn.exec_driver_sql("CREATE TABLE test_faults (planned integer NOT NULL)")
                conn.exec_driver_sql("INSERT INTO test_faults VALUES (0)")
                conn.exec_driver_sql(
                    "CREATE OR REPLACE FUNCTION test_fault() RETURNS trigger AS $$"
                    " BEGIN"
                    " IF (SELECT planned FROM test_faults) > 0"
                    " AND nextval('test_faults_used') <= (SELECT planned FROM test_faults) THEN"
                    " RAISE EXCEPTION 'injected conflict' USING ERRCODE = '40001';"
                    " END IF;"
                    " RETURN NULL;"
                    " END $$ LANGUAGE plpgsql"
                )
            else:
                conn.exec_driver_sql("DROP TABLE IF EXISTS test_faults")
                conn.exec_driver_sql(
                    "CREATE TABLE test_faults (planned integer NOT NULL, used integer NOT NULL)"
                    " ENGINE=MyISAM"
                )
                conn.exec_driver_sql("INSERT INTO test_faults VALUES (0, 0)")

    def on(self, table: str, event: str) -> None:
        """Put the fault on ``event`` of ``table``."""
        name = f"test_fault_{table}_{event}".lower()
        with self.engine.begin() as conn:
            if self.dialect == "postgresql":
                conn.exec_driver_sql(
                    f"CREATE TRIGGER {name} BEFORE {event} ON {table}"
                    " FOR EACH STATEMENT EXECUTE FUNCTION test_fault()"
                )
            else:
                conn.exec_driver_sql(
                    f"CREATE TRIGGER {name} BEFORE {event} ON {table} FOR EACH ROW"
                    " BEGIN"
                    " IF (SELECT used < planned FROM test_faults) THEN"
                    " UPDATE test_faults SET used = used + 1;"
                    " SIGNAL SQLSTATE '40001' SET MYSQL_ERRNO = 1213,"
                    " MESSAGE_TEXT = 'injected conflict';"
                    " END IF;"
                    " END"
                )
        self.installed.append((name, table))

    def plan(self, count: int) -> None:
        """The next ``count`` writes the faults are on fail."""
        with self.engine.begin() as conn:
            if self.dialect == "postgresql":
                conn.exec_driver_sql("SELECT setval('test_faults_used', 1, false)")
                conn.execute(sa.text("UPDATE test_faults SET planned = :n"), {"n": count})
            else:
                conn.execute(sa.text("UPDATE test_faults SET planned = :n, used = 0"), {"n": count})

    @property
    def used(self) -> int:
        """How many writes have failed since :meth:`plan`."""
        with self.engine.connect() as conn:
            if self.dialect == "postgresql":
                # last_value is the last number handed out, once one was
                row = conn.exec_driver_sql(
                    "SELECT last_value, is_called FROM test_faults_used"
                ).one()
                planned = conn.exec_driver_sql("SELECT planned FROM test_faults").scalar_one()
                return min(int(row[0]) if row[1] else 0, int(planned))
            return int(conn.exec_driver_sql("SELECT used FROM test_faults").scalar_one())

    def remove(self) -> None:
        with self.engine.begin() as conn:
            for name, table in self.installed:
                if self.dialect == "postgresql":
                    conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name} ON {table}")
                else:
                    conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
            conn.exec_driver_sql("DROP TABLE IF EXISTS test_faults")
            if self.dialect == "postgresql":
                conn.exec_driver_sql("DROP SEQUENCE IF EXISTS test_faults_used")
                conn.exec_driver_sql("DROP FUNCTION IF EXISTS test_fault()")
        self.engine.dispose()
