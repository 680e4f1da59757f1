"""The documentation and the code describe the same configuration."""

from __future__ import annotations

import json
import re
from pathlib import Path

from flask_namedsessions.config import DEFAULTS

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
