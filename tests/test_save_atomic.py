"""A save that fails half way leaves the stored session as it was."""

from __future__ import annotations

import typing as t

import pytest
import sqlalchemy as sa
from flask import Flask
from flask import g

from flask_namedsessions import session_start
from flask_namedsessions import SessionStoreError
from flask_namedsessions.extension import get_state


class FailSecondWrite:
    """Raise inside the database transaction on its second write statement."""

    def __init__(self) -> None:
        self.writes = 0
        self.armed = False

    def __call__(self, conn: t.Any, cursor: t.Any, statement: str, *args: t.Any) -> None:
        if self.armed and not statement.lstrip().upper().startswith(("SELECT", "PRAGMA")):
            self.writes += 1
            if self.writes == 2:
                raise sa.exc.OperationalError(statement, None, ConnectionError("injected fault"))


def snapshot(app: Flask) -> list[t.Any]:
    with app.app_context():
        store = get_state(app).store
        with store.engine.connect() as conn:
            rows = list(conn.execute(sa.select(store.tables.sessions)).all())
            rows += list(conn.execute(sa.select(store.tables.variables)).all())
            return sorted(map(tuple, rows), key=repr)


def test_failed_save_writes_nothing(make_app: t.Callable[..., Flask]) -> None:
    app = make_app(NAMEDSESSIONS_TOUCH_INTERVAL=0)

    @app.route("/set/<value>")
    def set_(value: str) -> str:
        s = session_start("cart")
        s["a"] = value
        s["b"] = value
        if value == "two":
            s.remove_var("c")  # a second write statement: the delete
        else:
            s["c"] = value
        return ""

    @app.route("/get")
    def get() -> str:
        session_start("cart")
        return f"{g.a} {g.b} {g.c}"

    fault = FailSecondWrite()
    with app.app_context():
        engine = get_state(app).store.engine
    sa.event.listen(engine, "before_cursor_execute", fault)
    client = app.test_client()
    client.get("/set/one")
    before = snapshot(app)
    fault.armed = True
    with pytest.raises(SessionStoreError, match=r"^saving session 'cart' failed"):
        client.get("/set/two")
    fault.armed = False
    assert snapshot(app) == before
    assert client.get("/get").text == "one one one"
    sa.event.remove(engine, "before_cursor_execute", fault)
