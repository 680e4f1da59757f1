"""Security properties, checked against the stored rows themselves."""

from __future__ import annotations

import base64
import typing as t

import pytest
import sqlalchemy as sa
from flask import Flask
from flask import g
from flask import request

from flask_namedsessions import saving
from flask_namedsessions import session_start
from flask_namedsessions.api import request_sessions
from flask_namedsessions.extension import get_state
from flask_namedsessions.ids import is_valid_id
from flask_namedsessions.ids import lookup_key
from flask_namedsessions.ids import new_id
from tests.conftest import Clock


def test_generated_ids_carry_256_bits_and_are_unique() -> None:
    drawn = {new_id() for _ in range(20000)}
    assert len(drawn) == 20000
    for value in list(drawn)[:100]:
        assert len(value) >= 43 and is_valid_id(value)
    alphabet = set("".join(drawn))
    assert len(alphabet) == 64  # URL-safe base64: 6 bits per character, 43 * 6 >= 256


def dump(app: Flask) -> list[str]:
    """Every stored cell of both tables, as text."""
    with app.app_context():
        store = get_state(app).store
        cells: list[str] = []
        with store.engine.connect() as conn:
            for table in (store.tables.sessions, store.tables.variables):
                for row in conn.execute(sa.select(table)):
                    cells.extend(str(cell) for cell in row)
        return cells


def rotating_app(app: Flask) -> Flask:
    @app.route("/")
    def index() -> str:
        s = session_start("cart")
        s["n"] = (s.get("n") or 0) + 1
        return s.id

    @app.route("/rotate")
    def rotate() -> str:
        return session_start("cart", rotate=True).id

    return app


def test_database_holds_only_hashes(app: Flask) -> None:
    client = rotating_app(app).test_client()
    first = client.get("/").text
    second = client.get("/rotate").text
    cells = dump(app)
    assert lookup_key("cart", second) in cells
    assert lookup_key("cart", first) in cells  # the old key, during the grace period
    for session_id in (first, second):
        assert not any(session_id in cell for cell in cells)


def test_stolen_row_values_do_not_load_a_session(app: Flask) -> None:
    client = rotating_app(app).test_client()
    client.get("/")
    client.get("/rotate")
    cells = [c for c in dump(app) if is_valid_id(c)]
    assert len(cells) >= 3  # sid, key, old key, sealed successor
    for cell in cells:
        thief = app.test_client()
        thief.set_cookie("session_cart", cell)
        assert thief.get("/").text != client.get_cookie("session_cart").value  # type: ignore[union-attr]
        assert thief.get_cookie("session_cart").value != cell  # type: ignore[union-attr]


def test_forged_id_never_creates_a_row_under_it(app: Flask) -> None:
    client = rotating_app(app).test_client()
    forged = "A" * 43
    client.set_cookie("session_cart", forged)
    issued = client.get("/").text
    assert issued != forged
    cells = dump(app)
    assert lookup_key("cart", forged) not in cells
    assert lookup_key("cart", issued) in cells


def test_ids_never_reach_error_messages_or_repr(app: Flask, caplog: t.Any) -> None:
    caplog.set_level("DEBUG")
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.route("/bad")
    def bad() -> str:
        s = session_start("cart")
        s["broken"] = object()
        return repr(s)

    client = rotating_app(app).test_client()
    session_id = client.get("/").text
    assert client.get("/bad").status_code == 500
    text = caplog.text
    assert "cannot store variable 'broken' of session 'cart'" in text
    assert session_id not in text
    assert lookup_key("cart", session_id) not in text


def test_request_state_repr_shows_no_id_or_hash(app: Flask) -> None:
    """What a debugger or an error tracker captures from ``g`` and the
    extension's objects stays free of IDs and their hashes."""
    shown: dict[str, str] = {}

    @app.route("/inspect")
    def inspect() -> str:
        s = session_start("cart", rotate=True)
        s["n"] = 1
        sessions = request_sessions()
        record = s._record
        plans = saving.plans(sessions.sessions.values(), sessions.settings, sessions.clock())
        shown["state"] = " ".join(
            [repr(g.__dict__), repr(record), repr(sessions._presented), repr(plans)]
        )
        shown["ids"] = " ".join([s.id, record.rotated_from or ""])
        return ""

    client = rotating_app(app).test_client()
    first = client.get("/").text
    client.get("/inspect")
    current = shown["ids"].split()[0]
    assert "cart" in shown["state"]
    for session_id in (first, current):
        assert session_id not in shown["state"]
        assert lookup_key("cart", session_id) not in shown["state"]


@pytest.mark.parametrize("name", ["cart", "namedsessions-rotate", "rotate"])
def test_stored_row_gives_no_id_once_the_grace_is_over(
    make_app: t.Callable[..., Flask], name: str, clock: Clock
) -> None:
    app = make_app(NAMEDSESSIONS_ROTATE_GRACE=5, NAMEDSESSIONS_TOUCH_INTERVAL=0)

    @app.route("/")
    def start() -> str:
        s = session_start(name, rotate=request.args.get("rotate") == "1")
        s["n"] = 1
        return s.id

    client = app.test_client()
    first = client.get("/").text
    second = client.get("/?rotate=1").text
    store = get_state(app).store
    sessions = store.tables.sessions

    def seal() -> tuple[t.Any, t.Any]:
        with store.engine.connect() as conn:
            row = conn.execute(sa.select(sessions.c.old_key, sessions.c.successor)).one()
        return row.old_key, row.successor

    old_key, successor = seal()
    assert old_key == lookup_key(name, first) and successor is not None
    # the table alone does not open the seal: its pad is no stored key
    pad = bytes.fromhex(old_key)
    mixed = bytes(a ^ b for a, b in zip(bytes.fromhex(successor), pad, strict=True))
    assert base64.urlsafe_b64encode(mixed).rstrip(b"=").decode() != second
    clock.advance(10)
    assert client.get("/").text == second  # a touch after the grace clears the seal
    assert seal() == (None, None)
