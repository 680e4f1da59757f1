"""Creating the tables while another process (another Galera node, another
worker) creates them too."""

from __future__ import annotations

import typing as t

import pytest
import sqlalchemy as sa
from flask import Flask

from flask_namedsessions.extension import get_state


@pytest.mark.parametrize("table", ["leases", "sessions"])
def test_a_table_created_elsewhere_meanwhile_is_no_error(
    make_app: t.Callable[..., Flask], table: str
) -> None:
    app = make_app(NAMEDSESSIONS_CREATE_TABLES=False, NAMEDSESSIONS_TABLE_PREFIX="race_")
    store = get_state(app).store
    tables = store.tables
    engine = store.engines.engine
    every = [tables.sessions, tables.variables, tables.leases]
    tables.sessions.metadata.drop_all(engine, tables=every)
    other = sa.create_engine(engine.url)
    created = []

    def meanwhile(target: sa.Table, connection: t.Any, **kw: t.Any) -> None:
        # between this process's check and its CREATE, another one creates it
        with other.begin() as conn:
            target.create(conn)
        created.append(target.name)

    target = getattr(tables, table)
    sa.event.listen(target, "before_create", meanwhile, once=True)
    try:
        store.create_tables()
        assert created == [target.name]
        inspector = sa.inspect(engine)
        assert all(inspector.has_table(t.name) for t in every)
    finally:
        sa.event.remove(target, "before_create", meanwhile)
        tables.sessions.metadata.drop_all(engine, tables=every)
        other.dispose()
