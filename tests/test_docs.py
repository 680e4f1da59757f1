"""The documentation and the code describe the same configuration."""

from __future__ import annotations

import json
import re
import typing as t
from pathlib import Path

import pytest

from flask_namedsessions.config import DEFAULTS
from flask_namedsessions.extension import get_state

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_config_docs_list_exactly_the_defaults() -> None:
    text = (DOCS / "config.rst").read_text()
    documented = re.findall(r"^\.\. data:: (\w+)$", text, re.MULTILINE)
    assert sorted(documented) == sorted(DEFAULTS)
    assert len(documented) == len(set(documented))


def test_config_docs_state_each_default() -> None:
    text = (DOCS / "config.rst").read_text()
    for key, value in DEFAULTS.items():
        block = text.split(f".. data:: {key}\n", 1)[1].split(".. data::", 1)[0]
        shown = json.dumps(value) if isinstance(value, str) else repr(value)
        assert f"Default: ``{shown}``" in block, key


def _python_blocks(name: str) -> list[str]:
    """The Python code blocks of one page, dedented."""
    text = (DOCS / name).read_text()
    blocks = re.findall(r"^\.\. code-block:: python\n\n((?:    .*\n|\n)+)", text, re.MULTILINE)
    return ["\n".join(line[4:] for line in block.splitlines()) for block in blocks]


def test_quickstart_runs_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    # Its factory keeps the default store: an SQLite file in the instance
    # folder, which for this code is the working directory's.
    monkeypatch.chdir(tmp_path)
    blocks = [b for b in _python_blocks("quickstart.rst") if "SQLAlchemy()" not in b]
    namespace: dict[str, t.Any] = {"__name__": "quickstart"}
    exec(compile("\n".join(blocks), "quickstart.rst", "exec"), namespace)
    app = namespace["app"]
    request.addfinalizer(get_state(app).store.dispose)
    client = app.test_client()
    assert 'value="blue"' in client.get("/prefs").text
    client.post("/prefs", data={"color": "red"})
    assert 'value="red"' in client.get("/prefs").text
    assert client.get("/home").headers["Location"] == "/login"
    assert "<form" in client.get("/login").text
    assert client.post("/login", data={"name": "Ada"}).headers["Location"] == "/home"
    assert client.get("/home").text == "hello Ada"
    assert client.get("/logout").text == "bye"
    assert client.get("/home").status_code == 302
    assert (tmp_path / "instance" / "namedsessions.sqlite3").exists()


def test_users_page_runs_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, t.Any] = {"__name__": "users_page"}
    code = "\n".join(_python_blocks("users.rst"))
    exec(compile(code, "users.rst", "exec"), namespace)
    app = namespace["app"]
    request.addfinalizer(get_state(app).store.dispose)
    login = {"user": "ada", "password": "first password"}
    phone = app.test_client()
    laptop = app.test_client()
    assert phone.post("/login", data=login, headers={"User-Agent": "Phone"}).text == "welcome"
    at_home = {"REMOTE_ADDR": "203.0.113.5"}
    response = laptop.post(
        "/login", data=login, headers={"User-Agent": "Laptop"}, environ_base=at_home
    )
    assert response.text == "welcome"

    devices = sorted(phone.get("/devices").json, key=lambda d: d["this_device"])
    assert [(d["browser"], d["address"], d["this_device"]) for d in devices] == [
        ("Laptop", "203.0.113.0", False),
        ("Phone", "127.0.0.0", True),
    ]
    end = {"handle": devices[0]["handle"]}
    assert phone.post("/devices/end", data=end).text == "ended"
    assert phone.post("/devices/end", data=end).text == "nothing to end"
    assert laptop.get("/devices").status_code == 401

    assert laptop.post("/login", data=login).text == "welcome"
    before = phone.get_cookie("session_main").value
    changed = phone.post("/password", data={"password": "second password"})
    assert changed.text == "password changed"
    assert phone.get_cookie("session_main").value != before
    assert laptop.get("/devices").status_code == 401
    assert [d["this_device"] for d in phone.get("/devices").json] == [True]

    with app.app_context():
        namespace["forget"]("ada")
    assert phone.get("/devices").status_code == 401
