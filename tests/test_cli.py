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
        for command in (
            ["delete-expired"],
            ["stats"],
            ["create-tables"],
            ["user-sessions", "ada"],
            ["end-user-sessions", "ada"],
        ):
            result = app.test_cli_runner().invoke(args=["namedsessions", *command])
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


# -- sessions of a user ------------------------------------------------------------


def bound_sessions(app: Flask, *logins: tuple[str, str, dict[str, str]]) -> list[t.Any]:
    """One client per ``(user, name, headers)``, each logged in."""

    @app.route("/login/<user>/<name>")
    def login(user: str, name: str) -> str:
        s = session_start(name)
        s["seen"] = True
        s.bind_user(user)
        return s.result

    @app.route("/visit/<name>")
    def visit(name: str) -> str:
        s = session_start(name)
        s.setdefault("seen", False)
        return f"{s.result} {s.user}"

    clients = []
    for user, name, headers in logins:
        client = app.test_client()
        environ = {"REMOTE_ADDR": headers.pop("REMOTE_ADDR", "127.0.0.1")}
        response = client.get(f"/login/{user}/{name}", headers=headers, environ_base=environ)
        assert response.text == "new"
        clients.append(client)
    return clients


def test_user_sessions_lists_a_table(app: Flask) -> None:
    bound_sessions(app, ("ada", "main", {}), ("ada", "admin", {}), ("bob", "main", {}))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["namedsessions", "user-sessions", "ada"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == (
        "name                     created (UTC)        last seen (UTC)      expires (UTC)"
    )
    assert sorted(line.split()[0] for line in lines[1:]) == ["admin", "main"]
    for line in lines[1:]:
        assert len(line.split()) == 7  # name and three times of two words each
    named = runner.invoke(args=["namedsessions", "user-sessions", "ada", "--name", "admin"])
    assert [line.split()[0] for line in named.output.splitlines()[1:]] == ["admin"]


def test_user_sessions_shows_recorded_devices(make_app: t.Callable[..., Flask]) -> None:
    app = make_app(NAMEDSESSIONS_RECORD_USER_AGENT=True, NAMEDSESSIONS_RECORD_IP="truncated")
    bound_sessions(app, ("ada", "main", {"User-Agent": "Phone 1.0", "REMOTE_ADDR": "203.0.113.9"}))
    result = app.test_cli_runner().invoke(args=["namedsessions", "user-sessions", "ada"])
    header, row = result.output.splitlines()
    assert header.split()[-4:] == ["(UTC)", "address", "user", "agent"]
    assert row.split()[-3:] == ["203.0.113.0", "Phone", "1.0"]


def test_user_sessions_of_nobody(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["namedsessions", "user-sessions", "nobody"])
    assert result.exit_code == 0
    assert result.output == "No live sessions of user 'nobody'.\n"


def test_end_user_sessions(app: Flask) -> None:
    phone, laptop, admin, bob = bound_sessions(
        app, ("ada", "main", {}), ("ada", "main", {}), ("ada", "admin", {}), ("bob", "main", {})
    )
    runner = app.test_cli_runner()
    result = runner.invoke(args=["namedsessions", "end-user-sessions", "ada", "--name", "admin"])
    assert result.exit_code == 0
    assert result.output == "Ended 1 sessions.\n"
    assert admin.get("/visit/admin").text == "new None"
    assert phone.get("/visit/main").text == "load ada"
    result = runner.invoke(args=["namedsessions", "end-user-sessions", "ada"])
    assert result.output == "Ended 2 sessions.\n"
    assert phone.get("/visit/main").text == "new None"
    assert laptop.get("/visit/main").text == "new None"
    assert bob.get("/visit/main").text == "load bob"
    again = runner.invoke(args=["namedsessions", "end-user-sessions", "ada"])
    assert again.output == "Ended 0 sessions.\n"
    listing = runner.invoke(args=["namedsessions", "user-sessions", "ada"])
    assert listing.output == "No live sessions of user 'ada'.\n"


@pytest.mark.parametrize("command", ["user-sessions", "end-user-sessions"])
def test_user_commands_refuse_bad_arguments(app: Flask, command: str) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["namedsessions", command, "x" * 256])
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == (
        "Error: Invalid value for 'USER': invalid user key: a user key is an int or a str"
        " of 1 to 255 characters (no NUL, valid UTF-8), got a str of 256 characters"
    )
    result = runner.invoke(args=["namedsessions", command, "ada", "--name", "a b"])
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == (
        "Error: Invalid value for '--name': use 1 to 64 characters from A-Z a-z 0-9 _ . -"
    )
