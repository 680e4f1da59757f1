"""Flask-Migrate sees the session tables, and finds nothing left to do after
upgrading."""

from __future__ import annotations

import re
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
from flask_namedsessions import session_start
from flask_namedsessions import user_sessions
from flask_namedsessions.extension import get_state

PREFIX = "mig_"


@pytest.fixture
def migrating_app(database_url: str, tmp_path: Path) -> t.Iterator[tuple[Flask, SQLAlchemy]]:
    db = SQLAlchemy()
    app = Flask(__name__, instance_path=str(tmp_path))
    app.config.update(
        SQLALCHEMY_DATABASE_URI=database_url,
        NAMEDSESSIONS_TABLE_PREFIX=PREFIX,
        NAMEDSESSIONS_CREATE_TABLES=False,
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


def differences(db: SQLAlchemy) -> list[t.Any]:
    """What autogenerate would still change in the session tables."""
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return ours(compare_metadata(context, db.metadata))


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
        assert differences(db) == []


#: What the sessions of a user added to the sessions table.
USER_COLUMNS = ("user_key", "user_agent", "ip")


def previous_version_tables(app: Flask, engine: sa.Engine) -> None:
    """The session tables as the version before the sessions of a user made
    them: without the user columns and their index."""
    tables = get_state(app).store.tables
    tables.sessions.metadata.create_all(engine, tables=[tables.sessions, tables.variables])
    index = f"ix_{PREFIX}sessions_user_key"
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql" or conn.dialect.name == "sqlite":
            conn.exec_driver_sql(f"DROP INDEX {index}")
        else:
            conn.exec_driver_sql(f"DROP INDEX {index} ON {PREFIX}sessions")
        for column in USER_COLUMNS:
            conn.exec_driver_sql(f"ALTER TABLE {PREFIX}sessions DROP COLUMN {column}")
    assert not {c["name"] for c in sa.inspect(engine).get_columns(f"{PREFIX}sessions")} & set(
        USER_COLUMNS
    )


def upgrade_ops(script: str) -> list[str]:
    """The operations of a migration script's ``upgrade()``."""
    upgrade_part = script.split("def upgrade", 1)[1].split("def downgrade", 1)[0]
    return re.findall(r"(?:op|batch_op)\.(\w+)\(", upgrade_part)


@pytest.mark.filterwarnings("ignore:'get_engine' is deprecated:DeprecationWarning")
def test_upgrading_to_sessions_of_a_user_is_one_migration(
    migrating_app: tuple[Flask, SQLAlchemy], tmp_path: Path
) -> None:
    app, db = migrating_app
    directory = str(tmp_path / "migrations")
    with app.app_context():
        previous_version_tables(app, db.engine)
        init(directory)
        migrate(directory, message="sessions of a user")
        (script,) = (tmp_path / "migrations" / "versions").glob("*.py")
        text = script.read_text()
        assert sorted(upgrade_ops(text)) == [
            "add_column",
            "add_column",
            "add_column",
            "batch_alter_table",
            "create_index",
        ]
        for column, length in zip(USER_COLUMNS, (255, 512, 45), strict=True):
            assert f"sa.Column('{column}', sa.String(length={length}), nullable=True)" in text
        assert f"create_index('ix_{PREFIX}sessions_user_key', ['user_key'], unique=False)" in text
        upgrade(directory)
        assert differences(db) == []


def documented_statements(dialect: str) -> list[str]:
    """The upgrade statements docs/users.rst gives for ``dialect``, for the
    default table prefix."""
    text = (Path(__file__).resolve().parents[1] / "docs" / "users.rst").read_text()
    block = text.split(f".. upgrade-sql: {dialect}\n", 1)[1]
    body = re.match(r"\n\.\. code-block:: sql\n\n((?:    .*\n|\n)+)", block)
    assert body is not None
    sql = "\n".join(line[4:] for line in body.group(1).splitlines())
    return [s.strip() for s in sql.split(";") if s.strip()]


def test_documented_alter_statements_bring_old_tables_up_to_date(
    migrating_app: tuple[Flask, SQLAlchemy],
) -> None:
    app, db = migrating_app
    with app.app_context():
        previous_version_tables(app, db.engine)
        name = "mariadb" if db.engine.dialect.name == "mysql" else db.engine.dialect.name
        with db.engine.begin() as conn:
            for statement in documented_statements(name):
                conn.exec_driver_sql(statement.replace("namedsessions_", PREFIX))
        assert differences(db) == []


def test_own_tables_of_the_previous_version_gain_the_columns(
    migrating_app: tuple[Flask, SQLAlchemy], make_app: t.Callable[..., Flask]
) -> None:
    # where the extension owns the schema, the first use brings it up to date
    old, db = migrating_app
    with old.app_context():
        previous_version_tables(old, db.engine)
        engine_url = db.engine.url.render_as_string(hide_password=False)
    app = make_app(NAMEDSESSIONS_DATABASE_URI=engine_url, NAMEDSESSIONS_TABLE_PREFIX=PREFIX)

    @app.route("/login")
    def login() -> str:
        s = session_start("main")
        s["x"] = 1
        s.bind_user("ada")
        return s.result

    assert app.test_client().get("/login").text == "new"
    with app.app_context():
        assert len(user_sessions("ada")) == 1
    with old.app_context():
        assert differences(db) == []


def test_create_tables_command_adds_the_columns(migrating_app: tuple[Flask, SQLAlchemy]) -> None:
    app, db = migrating_app
    with app.app_context():
        previous_version_tables(app, db.engine)
    result = app.test_cli_runner().invoke(args=["namedsessions", "create-tables"])
    assert result.output == "Session tables are ready.\n"
    with app.app_context():
        assert differences(db) == []
