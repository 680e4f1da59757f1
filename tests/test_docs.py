"""The documentation and the code describe the same configuration."""

from __future__ import annotations

import json
import re
import subprocess
import sys
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
