"""Per-app state, kept in ``app.extensions["namedsessions"]``."""

from __future__ import annotations

import dataclasses
import typing as t

from flask import current_app
from flask import Flask

from .config import Settings
from .store import Store

EXTENSION_KEY = "namedsessions"


@dataclasses.dataclass
class State:
    """What one app needs at request time: its settings and its store."""

    settings: Settings
    store: Store


def get_state(app: Flask | None = None) -> State:
    """The per-app state, or a clear error when ``init_app`` was not called."""
    state = (app or current_app).extensions.get(EXTENSION_KEY)
    if state is None:
        raise RuntimeError(
            "flask-namedsessions is not set up for this app;"
            " call NamedSessions().init_app(app) first"
        )
    return t.cast(State, state)
