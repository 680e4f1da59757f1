"""The ``flask namedsessions`` commands and the after-response cleanup."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import typing as t
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from flask_namedsessions import NamedSessions
from flask_namedsessions import session_start
from flask_namedsessions.engine import describe_url
from flask_namedsessions.extension import get_state
from tests.conftest import Clock
from tests.conftest import ROOT


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


PTY_APP = """
import os
from flask import Flask
from flask_namedsessions import NamedSessions

app = Flask(__name__)
app.config["NAMEDSESSIONS_DATABASE_URI"] = os.environ["SESSIONS_URL"]
NamedSessions(app)
"""


def output_on_a_terminal(command: list[str], env: dict[str, str]) -> str:
    """What ``command`` writes to its standard output when that is a terminal."""
    reader, writer = pty.openpty()
    process = subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=writer, stderr=subprocess.PIPE, cwd=ROOT, env=env
    )
    os.close(writer)
    chunks = []
    while True:
        try:
            data = os.read(reader, 4096)
        except OSError:  # the terminal closed with the process
            break
        if not data:
            break
        chunks.append(data)
    os.close(reader)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err.decode()
    return b"".join(chunks).decode()


def test_delete_expired_shows_progress_on_a_terminal(
    sqlite_url: str, tmp_path: Path, clock: Clock
) -> None:
    app = Flask(__name__, instance_path=str(tmp_path / "instance"))
    app.config.update(TESTING=True, NAMEDSESSIONS_DATABASE_URI=sqlite_url)
    NamedSessions(app)
    # expired an hour ago by the real clock, which the command reads
    clock.advance(-3600)
    get_state(app).clock = clock
    fill(app, expired=5, live=0)
    get_state(app).store.dispose()
    (tmp_path / "ptyapp.py").write_text(PTY_APP)
    env = {**os.environ, "SESSIONS_URL": sqlite_url, "PYTHONPATH": str(tmp_path)}
    command = [sys.executable, "-m", "flask", "--app", "ptyapp", "namedsessions"]
    output = output_on_a_terminal([*command, "delete-expired", "--batch-size", "2"], env)
    assert "Deleting expired sessions" in output
    assert "100%" in output  # the bar moved to the end
    assert output.splitlines()[-1] == "Deleted 5 expired sessions."


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
    runner = app.test_cli_runner()
    assert runner.invoke(args=["namedsessions", "create-tables"]).exit_code == 0
    result = runner.invoke(args=["namedsessions", "stats"])
    assert result.exit_code == 0
    assert result.output == "No sessions stored.\n"


def test_reporting_commands_never_create_tables(make_app: t.Callable[..., Flask]) -> None:
    app = make_app(NAMEDSESSIONS_TABLE_PREFIX="ro_")
    runner = app.test_cli_runner()
    fix = (
        " failed: the table 'ro_sessions' does not exist; create the session tables"
        " with 'flask namedsessions create-tables'\n"
    )
    stats = runner.invoke(args=["namedsessions", "stats"])
    assert (stats.exit_code, stats.output) == (1, "Error: reading session statistics" + fix)
    for args in (["--dry-run"], []):
        result = runner.invoke(args=["namedsessions", "delete-expired", *args])
        assert (result.exit_code, result.output) == (1, "Error: counting expired sessions" + fix)
    with app.app_context():
        assert not sa.inspect(get_state(app).store.engines.engine).has_table("ro_sessions")


def test_create_tables(make_app: t.Callable[..., Flask]) -> None:
    app = make_app(NAMEDSESSIONS_CREATE_TABLES=False, NAMEDSESSIONS_TABLE_PREFIX="cli_")
    result = app.test_cli_runner().invoke(args=["namedsessions", "create-tables"])
    assert result.exit_code == 0
    assert result.output == "Session tables are ready.\n"
    with app.app_context():
        engine = get_state(app).store.engine
        assert sa.inspect(engine).has_table("cli_sessions")
        get_state(app).store.tables.sessions.metadata.drop_all(engine)


# Each URI holds a password, which no message shows.
UNREACHABLE = {
    "sqlite": (
        "sqlite:///{tmp}",  # a folder: the file cannot be opened
        "the SQLite database '{tmp}' (OperationalError: unable to open database file)",
    ),
    "postgresql": (
        "postgresql+psycopg://postgres:secret@127.0.0.1:1/test",
        "the postgresql database 'test' at 127.0.0.1:1 (OperationalError: connection failed:"
        ' connection to server at "127.0.0.1", port 1 failed: Connection refused)',
    ),
    "mariadb": (
        "mysql+pymysql://root:secret@127.0.0.1:1/test?charset=utf8mb4",
        "the mysql database 'test' at 127.0.0.1:1 (OperationalError: (2003, \"Can't connect"
        " to MySQL server on '127.0.0.1' ([Errno 111] Connection refused)\"))",
    ),
}


@pytest.mark.parametrize("database", list(UNREACHABLE))
def test_unreachable_database_says_what_failed_and_where(tmp_path: t.Any, database: str) -> None:
    uri, where = (text.format(tmp=tmp_path) for text in UNREACHABLE[database])
    app = Flask(__name__, instance_path=str(tmp_path / "instance"))
    app.config["NAMEDSESSIONS_DATABASE_URI"] = uri
    NamedSessions(app)
    try:
        for command, operation in [
            ("stats", "reading session statistics"),
            ("delete-expired", "counting expired sessions"),
            ("create-tables", "creating the session tables"),
        ]:
            result = app.test_cli_runner().invoke(args=["namedsessions", command])
            assert (result.exit_code, result.output) == (
                1,
                f"Error: {operation} failed: no connection to {where}\n",
            )
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
            assert f"failed: no connection to {where}\n" in result.output
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


@pytest.mark.parametrize(
    ("uri", "where"),
    [
        (
            "postgresql+psycopg://app:secret@/sessions?host=db1:5432&host=db2:5433"
            "&target_session_attrs=read-write",
            "the postgresql database 'sessions' at db1:5432, db2:5433",
        ),
        (
            "postgresql+psycopg://app:secret@/sessions?host=db1,db2&port=5432,5433",
            "the postgresql database 'sessions' at db1,db2",
        ),
        (
            "postgresql+psycopg://app:secret@db1/sessions",
            "the postgresql database 'sessions' at db1",
        ),
    ],
)
def test_error_names_every_host_of_a_multi_host_url(uri: str, where: str) -> None:
    assert describe_url(sa.make_url(uri)) == where
