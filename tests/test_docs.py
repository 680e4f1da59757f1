"""The documentation and the code describe the same configuration."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import typing as t
from pathlib import Path

import pytest
from flask import request

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


def _files(name: str) -> dict[str, str]:
    """The captioned Python blocks of one page, joined per file name."""
    text = (DOCS / name).read_text()
    found = re.findall(
        r"^\.\. code-block:: python\n    :caption: (\S+)\n\n((?:    .*\n|\n)+)", text, re.MULTILINE
    )
    files: dict[str, str] = {}
    for filename, block in found:
        code = "\n".join(line[4:] for line in block.splitlines())
        files[filename] = files.get(filename, "") + code + "\n\n"
    return files


def test_testing_page_runs_as_written(tmp_path: Path) -> None:
    """The Testing page is a small project: its app, fixtures and tests pass
    under pytest, warnings as errors."""
    files = _files("testing.rst")
    assert sorted(files) == ["conftest.py", "myapp.py", "test_cart.py"]
    for filename, code in files.items():
        (tmp_path / filename).write_text(code)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1].startswith("5 passed")


def test_cookieless_csrf_recipe_runs_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the default store is in the instance folder
    namespace: dict[str, t.Any] = {"__name__": "recipe"}
    exec(compile("\n".join(_python_blocks("cookieless.rst")), "cookieless.rst", "exec"), namespace)
    app = namespace["app"]

    @app.route("/flask-session", methods=["GET", "POST"])
    def flask_session() -> str:
        from flask import session

        if request.method == "POST":
            session["seen"] = True
        return str(session.get("seen", False))

    app.config["SECRET_KEY"] = "test"
    same_site = {"Sec-Fetch-Site": "same-origin"}

    def form_fields(page: str) -> dict[str, str]:
        return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]+)"', page))

    try:
        # With cookies: the token checks, a wrong one or another site's request fails.
        client = app.test_client()
        fields = form_fields(client.get("/comment").text)
        token = fields["csrf_token"]
        assert client.post("/comment", data={"csrf_token": token}, headers=same_site).text == (
            "thank you"
        )
        assert (
            client.post("/comment", data={"csrf_token": "x"}, headers=same_site).status_code == 400
        )
        assert client.post("/comment", data={}, headers=same_site).status_code == 400
        cross = {"Sec-Fetch-Site": "cross-site"}
        assert client.post("/comment", data={"csrf_token": token}, headers=cross).status_code == 403
        evil = {"Origin": "https://evil.example"}
        assert client.post("/comment", data={"csrf_token": token}, headers=evil).status_code == 403
        # Another visitor's session and token, sent by a browser that says
        # nothing of where the form was: the visitor's cookie decides.
        attacker = form_fields(app.test_client(use_cookies=False).get("/comment").text)
        assert set(attacker) == {"_session:csrf", "csrf_token"}
        assert client.post("/comment", data=attacker).status_code == 400
        assert client.post("/comment", data={"csrf_token": token}).text == "thank you"

        # Without cookies: the ID and the token travel in the form.
        bare = app.test_client(use_cookies=False)
        fields = form_fields(bare.get("/comment").text)
        assert bare.post("/comment", data=fields, headers=same_site).text == "thank you"
        wrong = {**fields, "csrf_token": "x"}
        assert bare.post("/comment", data=wrong, headers=same_site).status_code == 400
        # ...where flask.session, Flask's cookie, is empty on every request.
        assert bare.post("/flask-session", headers=same_site, data=fields).text == "True"
        assert bare.get("/flask-session").text == "False"
        assert (
            client.post("/flask-session", headers=same_site, data={"csrf_token": token}).text
            == "True"
        )
        assert client.get("/flask-session").text == "True"
    finally:
        get_state(app).store.dispose()


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
