"""Creating the session tables, and bringing tables of an earlier version up
to date.

Where the extension owns the schema (``NAMEDSESSIONS_CREATE_TABLES``, and
``flask namedsessions create-tables``), a table created by an earlier version
gains the tables, columns and indexes added since: each is nullable, so adding it is
cheap on every database and old rows need nothing. With migrations, Alembic's
autogenerate finds the same difference.
"""

from __future__ import annotations

import typing as t

import sqlalchemy as sa

if t.TYPE_CHECKING:
    from .models import Tables

__all__ = ["create_tables"]


def create_tables(engine: sa.Engine, tables: Tables) -> None:
    """Create the tables that are missing, and the columns and indexes that
    an existing sessions table lacks."""
    every = [tables.sessions, tables.variables, tables.leases]
    for attempt in range(len(every)):
        try:
            tables.sessions.metadata.create_all(engine, tables=every)
            break
        except sa.exc.DBAPIError:
            # Another process (a worker, another Galera node) created one
            # between the check and the CREATE: check again, and create
            # what is still missing.
            inspector = sa.inspect(engine)
            if all(inspector.has_table(table.name) for table in every):
                break
            if attempt == len(every) - 1:
                raise
    try:
        _add_missing(engine, tables.sessions)
    except sa.exc.DBAPIError:
        # Another process added them meanwhile.
        if _missing(engine, tables.sessions):
            raise


def _missing(engine: sa.Engine, table: sa.Table) -> list[sa.Column[t.Any]]:
    present = {column["name"] for column in sa.inspect(engine).get_columns(table.name)}
    return [column for column in table.columns if column.name not in present]


def _add_missing(engine: sa.Engine, table: sa.Table) -> None:
    missing = _missing(engine, table)
    if not missing:
        return
    preparer = engine.dialect.identifier_preparer
    with engine.begin() as conn:
        for column in missing:
            spec = sa.schema.CreateColumn(column).compile(dialect=engine.dialect)
            conn.exec_driver_sql(f"ALTER TABLE {preparer.format_table(table)} ADD COLUMN {spec}")
        for index in table.indexes:
            if any(column in missing for column in index.columns):
                index.create(conn)
