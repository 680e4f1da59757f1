"""Bounds on what one session may hold."""

from __future__ import annotations

import typing as t

import pytest
import sqlalchemy as sa
from flask import Flask
from flask import g

from flask_namedsessions import session_start
from flask_namedsessions import SessionValueError
from flask_namedsessions.extension import get_state


def stored(app: Flask) -> list[t.Any]:
    with app.app_context():
        store = get_state(app).store
        with store.engine.connect() as conn:
            return list(conn.execute(sa.select(store.tables.variables)).all())


def test_value_larger_than_limit_raises_and_writes_nothing(
    make_app: t.Callable[..., Flask],
) -> None:
    app = make_app(NAMEDSESSIONS_MAX_VALUE_BYTES=1000)

    @app.route("/<int:size>")
    def index(size: int) -> str:
        s = session_start("cart")
        s["small"] = size
        s["big"] = "é" * size
        return ""

    client = app.test_client()
    client.get("/10")
    before = stored(app)
    with pytest.raises(SessionValueError) as info:
        client.get("/600")  # 1,200 bytes of UTF-8
    assert str(info.value) == (
        "cannot store variable 'big' of session 'cart': its stored form is larger"
        " than NAMEDSESSIONS_MAX_VALUE_BYTES (1000 bytes)"
    )
    assert (info.value.session, info.value.var) == ("cart", "big")
    assert stored(app) == before
    assert client.get("/400").status_code == 200  # 800 bytes fit
    assert client.get("/499").status_code == 200  # 1,000 bytes: just the limit


def test_too_many_variables_raises_at_add(make_app: t.Callable[..., Flask]) -> None:
    app = make_app(NAMEDSESSIONS_MAX_VARS=3)

    @app.route("/")
    def index() -> str:
        s = session_start("cart")
        for i in range(4):
            s[f"v{i}"] = i
        return ""

    @app.route("/three")
    def three() -> str:
        s = session_start("cart")
        for i in range(3):
            s[f"v{i}"] = i
        return str(len(s))

    with pytest.raises(SessionValueError) as info:
        app.test_client().get("/")
    assert str(info.value) == (
        "cannot track variable 'v3' in session 'cart': the session already tracks"
        " NAMEDSESSIONS_MAX_VARS (3) variables"
    )
    assert stored(app) == []
    assert app.test_client().get("/three").text == "3"


def test_huge_parameter_is_no_session(app: Flask) -> None:
    @app.route("/", methods=["GET", "POST"])
    def index() -> str:
        s = session_start("cart", use_link=True)
        g.seen = True
        return s.result

    client = app.test_client()
    client.environ_base["HTTP_SEC_FETCH_SITE"] = "same-origin"
    assert client.get("/?_session:cart=" + "x" * 100000).text == "new"
    assert client.post("/", data={"_session:cart": "y" * 60000}).text == "new"
    assert client.post("/", data={"_session:cart": "y" * 2_000_000}).text == "new"
