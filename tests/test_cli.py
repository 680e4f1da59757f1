"""The ``flask namedsessions`` commands and the after-response cleanup."""

from __future__ import annotations

import typing as t

import pytest
import sqlalchemy as sa
from flask import Flask

from flask_namedsessions import NamedSessions
from flask_namedsessions import session_start
from flask_namedsessions.extension import get_state


def fill(app: Flask, expired: int, live: int) -> None:
    @app.route("/short")
    def short() -> str:
        session_start("cart", expires=0.002)["x"] = [1, 2]
        return ""

    @app.route("/long")
    def long() -> str:
        session_start("prefs")["y"] = 1
        return ""

    for _ in range(expired):
        app.test_client().get("/short")
    for _ in range(live):
        app.test_client().get("/long")
    get_state(app).clock.advance(0.25)


def test_delete_expired_in_batches(app: Flask) -> None:
    fill(app, expired=5, live=2)
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["namedsessions", "delete-expired", "--dry-run"])
    assert dry.exit_code == 0
    assert dry.output == "Would delete 5 expired sessions.\n"
    result = runner.invoke(args=["namedsessions", "delete-expired", "--batch-size", "2"])
    assert result.exit_code == 0
    assert result.output.splitlines()[-1] == "Deleted 5 expired sessions."
    again = runner.invoke(args=["namedsessions", "delete-expired"])
    assert again.output == "Deleted 0 expired sessions.\n"
    stats = runner.invoke(args=["namedsessions", "stats"])
    assert stats.exit_code == 0
    lines = stats.output.splitlines()
    assert lines[0].split() == ["name", "live", "expired", "variables", "oldest"]
    assert lines[1].split()[:4] == ["prefs", "2", "0", "2"]


def test_stats_counts_live_and_expired(app: Flask) -> None:
    fill(app, expired=3, live=1)
    output = app.test_cli_runner().invoke(args=["namedsessions", "stats"]).output
    rows = {line.split()[0]: line.split()[1:4] for line in output.splitlines()[1:]}
    assert rows == {"cart": ["0", "3", "3"], "prefs": ["1", "0", "1"]}


def test_stats_keeps_session_names_apart_by_case(app: Flask) -> None:
    @app.route("/<name>")
    def start(name: str) -> str:
        session_start(name)["x"] = 1
        return ""

    for name in ("Cart", "cart", "cart"):
        app.test_client().get(f"/{name}")
    output = app.test_cli_runner().invoke(args=["namedsessions", "stats"]).output
    rows = {line.split()[0]: line.split()[1:4] for line in output.splitlines()[1:]}
    assert rows == {"Cart": ["1", "0", "1"], "cart": ["2", "0", "2"]}


def test_stats_on_empty_store(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["namedsessions", "stats"])
    assert result.exit_code == 0
    assert result.output == "No sessions stored.\n"


def test_create_tables(make_app: t.Callable[..., Flask]) -> None:
    app = make_app(NAMEDSESSIONS_CREATE_TABLES=False, NAMEDSESSIONS_TABLE_PREFIX="cli_")
    result = app.test_cli_runner().invoke(args=["namedsessions", "create-tables"])
    assert result.exit_code == 0
    assert result.output == "Session tables are ready.\n"
    with app.app_context():
        engine = get_state(app).store.engine
        assert sa.inspect(engine).has_table("cli_sessions")
        get_state(app).store.tables.sessions.metadata.drop_all(engine)


def test_unreachable_database_is_a_clear_error(tmp_path: t.Any) -> None:
    app = Flask(__name__, instance_path=str(tmp_path))
    app.config["NAMEDSESSIONS_DATABASE_URI"] = "postgresql+psycopg://postgres@127.0.0.1:1/test"
    NamedSessions(app)
    try:
        for command in ("delete-expired", "stats", "create-tables"):
            result = app.test_cli_runner().invoke(args=["namedsessions", command])
            assert result.exit_code == 1
            assert result.output.startswith("Error: ")
            assert "failed (OperationalError" in result.output
            assert "Traceback" not in result.output
    finally:
        get_state(app).store.dispose()


@pytest.mark.parametrize(("probability", "left"), [(1.0, 0), (0.0, 2)])
def test_gc_probability_cleans_after_the_response(
    make_app: t.Callable[..., Flask], probability: float, left: int
) -> None:
    app = make_app(NAMEDSESSIONS_GC_PROBABILITY=probability)
    fill(app, expired=2, live=0)
    with app.app_context():
        store = get_state(app).store
        now = get_state(app).clock
        assert store.count_expired(now()) == 2
        response = app.test_client().get("/long")
        assert response.status_code == 200
        response.close()
        assert store.count_expired(now()) == left
