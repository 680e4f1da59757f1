"""The sdist is complete: unpacked, it runs its own tests.

It is built with the setuptools of this environment (``--no-isolation``), so
no network is needed, from a copy of the checkout: setuptools would otherwise
also ship whatever a stale ``*.egg-info/SOURCES.txt`` lists.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import typing as t
from pathlib import Path

import pytest

pytestmark = pytest.mark.packaging

ROOT = Path(__file__).resolve().parents[1]
#: shipped whole, as a checkout has them
TREES = ("benchmarks", "docs", "example_app", "tests")
#: single files a user of the sdist needs
FILES = (
    ".readthedocs.yaml",
    "CHANGES.rst",
    "LICENSE",
    "README.md",
    "pyproject.toml",
    "setup.cfg",
    "tox.ini",
    "flask_namedsessions/py.typed",
)
#: what a checkout holds but the sdist must not
LEFT_OUT = ("__pycache__", "_build", ".pyc", ".sqlite3")
#: not copied to build from: virtualenvs, VCS data, build output and caches
NOT_COPIED = (".venv", ".git", ".tox", "build", "dist", "*.egg-info", ".*_cache", ".hypothesis")


def _shippable(path: Path) -> bool:
    return not any(part in LEFT_OUT or part.endswith(LEFT_OUT) for part in path.parts)


@pytest.fixture(scope="module")
def sdist_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sdist, built from this checkout and unpacked."""
    source = tmp_path_factory.mktemp("checkout") / "flask-namedsessions"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*NOT_COPIED, *LEFT_OUT))
    out = tmp_path_factory.mktemp("sdist")
    command = [sys.executable, "-m", "build", "--sdist", "--no-isolation", "--outdir", str(out)]
    built = subprocess.run([*command, str(source)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    (archive,) = out.glob("flask_namedsessions-*.tar.gz")
    with tarfile.open(archive) as tar:
        # The "data" filter exists from 3.10.12 and 3.11.4 on, and 3.12+ warn without it.
        options: dict[str, t.Any] = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        tar.extractall(out, **options)
    (tree,) = (p for p in out.iterdir() if p.is_dir())
    return tree


def test_sdist_ships_tests_docs_example_and_benchmarks(sdist_tree: Path) -> None:
    expected = {
        path.relative_to(ROOT)
        for tree in TREES
        for path in (ROOT / tree).rglob("*")
        if path.is_file() and _shippable(path.relative_to(ROOT))
    }
    expected.update(Path(name) for name in FILES)
    shipped = {p.relative_to(sdist_tree) for p in sdist_tree.rglob("*") if p.is_file()}
    assert sorted(map(str, expected - shipped)) == []
    assert Path("tests/conftest.py") in shipped and Path("tests/browser/conftest.py") in shipped
    assert [str(p) for p in shipped if not _shippable(p)] == []
    assert not any(p.parts[0] in (".venv", ".ci", ".git", "build", "dist") for p in shipped)


def test_sdist_runs_its_own_tests(sdist_tree: Path) -> None:
    # The tests import the unpacked package, not the one installed here.
    env = {**os.environ, "PYTHONPATH": str(sdist_tree), "NAMEDSESSIONS_TEST_DATABASES": "sqlite"}
    where = subprocess.run(
        [sys.executable, "-c", "import flask_namedsessions as m; print(m.__file__)"],
        cwd=sdist_tree,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(where.stdout.strip()).is_relative_to(sdist_tree)
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-x"]
    run = subprocess.run(
        [*command, "tests/test_config.py"],
        cwd=sdist_tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert f"rootdir: {sdist_tree}" in run.stdout
    summary = run.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "failed" not in summary and "error" not in summary, summary
