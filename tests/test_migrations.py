"""Flask-Migrate sees the session tables, and finds nothing left to do after
upgrading."""

from __future__ import annotations

import logging
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
DOCS = Path(__file__).resolve().parents[1] / "docs"


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
def differences(db: SQLAlchemy) -> list[t.Any]:
    """What autogenerate would still change in the session tables."""
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return ours(compare_metadata(context, db.metadata))


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
        assert f"op.create_table('{PREFIX}leases'" in text
        upgrade(directory)
        inspector = sa.inspect(db.engine)
        assert inspector.has_table(f"{PREFIX}sessions")
        assert inspector.has_table(f"{PREFIX}variables")
        assert differences(db) == []


def _old_name_columns(app: Flask) -> dict[sa.Column[t.Any], t.Any]:
    """The ``name`` columns typed as releases before exact names typed them
    (plain ``VARCHAR``), with the types they have now."""
    with app.app_context():
        tables = get_state(app).store.tables
    columns = [tables.sessions.c.name, tables.variables.c.name]
    current = {column: column.type for column in columns}
    for column in columns:
        column.type = sa.String(column.type.length)  # type: ignore[attr-defined]
    return current


EXACT = (
    "type_=sa.String(length={n}).with_variant(mysql.CHAR(charset='utf8mb4',"
    " collation='utf8mb4_bin', length={n}), 'mariadb')"
)


@pytest.mark.filterwarnings("ignore:'get_engine' is deprecated:DeprecationWarning")
def test_autogenerate_upgrades_names_to_exact_comparison(
    migrating_app: tuple[Flask, SQLAlchemy], tmp_path: Path, database_url: str
) -> None:
    app, db = migrating_app
    directory = str(tmp_path / "migrations")
    versions = tmp_path / "migrations" / "versions"
    current = _old_name_columns(app)
    with app.app_context():
        init(directory)
        migrate(directory, message="sessions", rev_id="1")
        upgrade(directory)
        tables = get_state(app).store.tables
        sessions, variables = tables.sessions.name, tables.variables.name
        with db.engine.begin() as conn:
            conn.execute(
                sa.text(
                    f"INSERT INTO {sessions} (sid, name, {_quote(db, 'key')}, created_at,"
                    " touched_at, expires_at, expires_min) VALUES ('s1', 'cart', 'k1', 0, 0, 0, 1)"
                )
            )
            conn.execute(sa.text(f"INSERT INTO {variables} VALUES ('s1', 'Total', '1')"))
        for column, type_ in current.items():
            column.type = type_
        migrate(directory, message="exact names", rev_id="2")
        script = versions / "2_exact_names.py"
        if database_url.startswith("mysql"):
            upgrade_ops = script.read_text().split("def upgrade():\n", 1)[1]
            upgrade_ops = upgrade_ops.split("def downgrade", 1)[0]
            code = [line for line in upgrade_ops.splitlines() if line and "#" not in line]
            assert len(code) == 10 and sum("alter_column('name'," in line for line in code) == 2
            for table, n in ((sessions, 64), (variables, 128)):
                assert f"    with op.batch_alter_table('{table}', schema=None) as batch_op:" in code
                assert f"               {EXACT.format(n=n)}" in "\n".join(code)
            # the docs show exactly this, for the default prefix
            docs = (DOCS / "migrating.rst").read_text().replace("namedsessions_", PREFIX)
            for line in code:
                assert f"{line}\n" in docs, line
        else:
            assert not script.exists()  # PostgreSQL and SQLite compare exactly already
        upgrade(directory)
        with db.engine.begin() as conn:
            conn.execute(
                sa.text(f"INSERT INTO {variables} VALUES ('s1', 'total', '2'), ('s1', 'café', '3')")
            )
            conn.execute(sa.text(f"INSERT INTO {variables} VALUES ('s1', 'cafe', '4')"))
            names = conn.execute(sa.text(f"SELECT name FROM {variables} ORDER BY value")).scalars()
            assert list(names) == ["Total", "total", "café", "cafe"]
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert ours(compare_metadata(context, db.metadata)) == []


def _quote(db: SQLAlchemy, name: str) -> str:
    return db.engine.dialect.identifier_preparer.quote(name)


def test_documented_alter_statements_upgrade_an_own_engine_table(
    make_app: t.Callable[..., Flask], database_url: str
) -> None:
    """Without Alembic: the statements docs/migrating.rst gives turn a table
    made by an earlier release into today's, rows kept (MariaDB and MySQL
    only; elsewhere the tables never changed)."""
    app = make_app(NAMEDSESSIONS_TABLE_PREFIX="own_")
    with app.app_context():
        store = get_state(app).store
        tables = store.tables
        engine = store.engines.engine
    current = _old_name_columns(app)
    every = [tables.sessions, tables.variables, tables.leases]
    try:
        tables.sessions.metadata.drop_all(engine, tables=every)
        tables.sessions.metadata.create_all(engine, tables=every)
    finally:
        for column, type_ in current.items():
            column.type = type_
    try:
        with engine.begin() as conn:
            conn.execute(
                tables.sessions.insert().values(
                    row_id="s1",
                    name="cart",
                    key="k1",
                    created_at=0,
                    touched_at=0,
                    expires_at=0,
                    expires_min=1,
                )
            )
            conn.execute(tables.variables.insert().values(row_id="s1", name="Total", value="1"))
        text = (DOCS / "migrating.rst").read_text()
        sql = text.split(".. code-block:: sql\n\n", 1)[1].split("\n\n", 1)[0]
        statements = [s for s in sql.replace("namedsessions_", "own_").split(";") if s.strip()]
        assert len(statements) == 2
        if database_url.startswith("mysql"):
            with engine.begin() as conn:
                for statement in statements:
                    conn.execute(sa.text(statement))
        with engine.begin() as conn:
            conn.execute(tables.variables.insert().values(row_id="s1", name="total", value="2"))
            names = conn.execute(sa.select(tables.variables.c.name).order_by("value")).scalars()
            assert list(names) == ["Total", "total"]
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diffs = compare_metadata(context, tables.sessions.metadata)
            assert [d for d in diffs if "own_" in repr(d)] == []
    finally:
        tables.sessions.metadata.drop_all(engine, tables=every)


#: What the sessions of a user added to the sessions table.
USER_COLUMNS = ("user_key", "user_agent", "ip")


def previous_version_tables(app: Flask, engine: sa.Engine) -> None:
    """The session tables as the version before the sessions of a user made
    them: without the user columns and their index."""
    tables = get_state(app).store.tables
    every = [tables.sessions, tables.variables, tables.leases]
    tables.sessions.metadata.create_all(engine, tables=every)
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


def test_documented_leases_table_matches_the_model(
    migrating_app: tuple[Flask, SQLAlchemy],
) -> None:
    app, db = migrating_app
    text = (DOCS / "scaling.rst").read_text()
    with app.app_context():
        tables = get_state(app).store.tables
        tables.sessions.metadata.create_all(db.engine, tables=[tables.sessions, tables.variables])
        name = "mariadb" if db.engine.dialect.name == "mysql" else "postgresql"
        block = text.split(f".. upgrade-sql: {name}\n", 1)[1]
        body = re.match(r"\n\.\. code-block:: sql\n\n((?:    .*\n|\n)+)", block)
        assert body is not None
        with db.engine.begin() as conn:
            conn.exec_driver_sql(body.group(1).replace("namedsessions_", PREFIX).strip(" \n;"))
        assert differences(db) == []
