"""Streamed HTML through Flask: what the rewriter holds back reaches the client."""

from __future__ import annotations

import typing as t
from pathlib import Path

import pytest
from flask import Flask
from flask import Response
from flask import stream_with_context

from flask_namedsessions import NamedSessions
from flask_namedsessions import session_start


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    """Rewriting needs no real database: SQLite in a file of this test."""
    app = Flask(__name__, instance_path=str(tmp_path / "instance"))
    app.config.update(
        TESTING=True,
        NAMEDSESSIONS_DATABASE_URI=f"sqlite:///{tmp_path / 'sessions.sqlite3'}",
    )
    NamedSessions(app)
    return app


def _streaming_view(app: Flask, chunks: list[str]) -> None:
    @app.route("/stream")
    def stream() -> Response:
        session = session_start("cart", use_link=True)
        session["items"] = 1

        def generate() -> t.Iterator[str]:
            yield from chunks

        return Response(stream_with_context(generate()), mimetype="text/html")


def _id_from(text: str) -> str:
    return text.split('name="_session:cart" value="', 1)[1].split('"', 1)[0]


def test_form_at_the_end_gets_its_input_when_streamed(app: Flask) -> None:
    _streaming_view(app, ["<p>cart</p>", "<form method=post>"])
    response = app.test_client().get("/stream")
    sid = _id_from(response.text)
    assert len(sid) > 20
    assert response.text == (
        f'<p>cart</p><form method=post><input type="hidden" name="_session:cart" value="{sid}">'
    )
    # the body's IDs are not known when the headers go: assume they are there
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_unfinished_tag_at_the_end_is_sent_when_streamed(app: Flask) -> None:
    _streaming_view(app, ["<form>", '</form><a href="/y'])
    response = app.test_client().get("/stream")
    sid = _id_from(response.text)
    assert response.text == (
        f'<form><input type="hidden" name="_session:cart" value="{sid}"></form><a href="/y'
    )
