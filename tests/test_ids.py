"""Sealed successors: only the old ID opens one, and a damaged one opens to nothing."""

from __future__ import annotations

import pytest

from flask_namedsessions import ids


def test_sealed_successor_opens_only_with_the_old_id() -> None:
    old, new = ids.new_id(), ids.new_id()
    sealed = ids.seal_successor("cart", "row1", old, new)
    assert ids.open_successor("cart", "row1", old, sealed) == new
    assert ids.open_successor("cart", "row1", ids.new_id(), sealed) != new
    assert ids.open_successor("prefs", "row1", old, sealed) != new


@pytest.mark.parametrize("damage", ["", "00", "zz", "truncated"])
def test_missing_or_damaged_successor_opens_to_nothing(damage: str) -> None:
    old, new = ids.new_id(), ids.new_id()
    sealed = ids.seal_successor("cart", "row1", old, new)
    text = sealed[:-2] if damage == "truncated" else damage
    assert ids.open_successor("cart", "row1", old, text) is None
