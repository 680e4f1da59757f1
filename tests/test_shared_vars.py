"""Two sessions of one request that track the same variable share its value
in ``flask.g``: the model, kept, and said in debug mode."""

from __future__ import annotations

import typing as t

import pytest
from flask import Flask
from flask import g

from flask_namedsessions import session_start


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


def shared_app(app: Flask) -> Flask:
    @app.route("/both")
    def both() -> str:
        session_start("a")["color"] = "red"
        session_start("b")["color"] = "blue"
        return ""

    @app.route("/read/<name>")
    def read(name: str) -> str:
        session_start(name)
        return str(g.color)

    @app.route("/apart")
    def apart() -> str:
        session_start("a")["color"] = "red"
        b = session_start("b")
        b["size"] = 1
        session_start("c")["color"] = "green"
        session_start("c").abort()
        return ""

    return app


def test_shared_variable_warns_in_debug_mode(make_app: t.Callable[..., Flask]) -> None:
    app = shared_app(make_app())
    app.debug = True
    client = app.test_client()
    with pytest.warns(UserWarning) as record:
        client.get("/both")
    assert [str(w.message) for w in record] == [
        "sessions 'a' and 'b' both track the variable 'color' in this request; tracked"
        " variables are attributes of flask.g, so both store the one value of g.color"
    ]
    # the documented model: both sessions stored the value g held at the end
    assert client.get("/read/a").text == "blue"
    assert client.get("/read/b").text == "blue"


def test_no_warning_without_debug_or_sharing(make_app: t.Callable[..., Flask]) -> None:
    # pytest turns any warning into an error here
    quiet = shared_app(make_app())
    assert quiet.test_client().get("/both").status_code == 200
    debug = shared_app(make_app())
    debug.debug = True
    assert debug.test_client().get("/apart").status_code == 200
