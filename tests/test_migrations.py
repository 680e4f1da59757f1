"""Flask-Migrate sees the session tables, and finds nothing left to do after
upgrading."""

from __future__ import annotations

import logging
import typing as t
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask_migrate import init
from flask_migrate import Migrate
from flask_migrate import migrate
from flask_migrate import upgrade
from flask_sqlalchemy import SQLAlchemy

from flask_namedsessions import NamedSessions
from flask_namedsessions.extension import get_state

PREFIX = "mig_"


@pytest.fixture(autouse=True)
def _keep_loggers() -> t.Iterator[None]:
    """Alembic's env.py runs ``logging.config.fileConfig``, which disables
    every logger that exists by then: later tests that read an app's log
    (caplog) would find it silent."""
    loggers = [
        lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger)
    ]
    enabled = [lg for lg in loggers if not lg.disabled]
    yield
    for logger in enabled:
        logger.disabled = False


@pytest.fixture
def migrating_app(database_url: str, tmp_path: Path) -> t.Iterator[tuple[Flask, SQLAlchemy]]:
    db = SQLAlchemy()
    app = Flask(__name__, instance_path=str(tmp_path))
    app.config.update(
        SQLALCHEMY_DATABASE_URI=database_url,
        NAMEDSESSIONS_TABLE_PREFIX=PREFIX,
    )
    db.init_app(app)
    NamedSessions(app, db=db)
    Migrate(
        app,
        db,
        directory=str(tmp_path / "migrations"),
        # The test database holds other tests' tables: leave them alone.
        include_name=lambda name, kind, _parent: kind != "table" or name.startswith(PREFIX),
    )
    yield app, db
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
        get_state(app).store.tables.sessions.metadata.drop_all(
            db.engine, tables=list(get_state(app).store.tables.__dict__.values())
        )
        db.engine.dispose()


def ours(diffs: list[t.Any]) -> list[t.Any]:
    """Differences that concern the session tables (the test database holds
    other tables too)."""
    return [d for d in diffs if PREFIX in repr(d)]


# Flask-Migrate's generated env.py still calls db.get_engine() first.
@pytest.mark.filterwarnings("ignore:'get_engine' is deprecated:DeprecationWarning")
def test_autogenerate_picks_up_tables_then_finds_no_difference(
    migrating_app: tuple[Flask, SQLAlchemy], tmp_path: Path
) -> None:
    app, db = migrating_app
    directory = str(tmp_path / "migrations")
    with app.app_context():
        init(directory)
        migrate(directory, message="sessions")
        scripts = list((tmp_path / "migrations" / "versions").glob("*.py"))
        assert len(scripts) == 1
        text = scripts[0].read_text().split("def downgrade", 1)[0]
        assert "op.drop_table" not in text
        assert f"op.create_table('{PREFIX}sessions'" in text
        assert f"op.create_table('{PREFIX}variables'" in text
        upgrade(directory)
        inspector = sa.inspect(db.engine)
        assert inspector.has_table(f"{PREFIX}sessions")
        assert inspector.has_table(f"{PREFIX}variables")
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert ours(compare_metadata(context, db.metadata)) == []
