"""Anything a visitor sends is either no session or a correct one."""

from __future__ import annotations

import typing as t

import pytest
from flask import Flask
from hypothesis import given
from hypothesis import HealthCheck
from hypothesis import settings
from hypothesis import strategies as st

from flask_namedsessions import has_session
from flask_namedsessions import session_start
from flask_namedsessions.ids import is_valid_id
from flask_namedsessions.ids import lookup_key

junk = st.one_of(
    st.text(max_size=300),
    st.binary(max_size=300).map(lambda b: b.decode("latin-1")),
    st.sampled_from(["", "%", "%zz", "%00", "a" * 129, "a" * 5000, "' OR 1=1 --", "é"]),
)


@pytest.fixture
def hostile(app: Flask, sql_count: t.Any) -> tuple[Flask, t.Any, str]:
    log = sql_count(app)
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.route("/", methods=["GET", "POST"])
    def index() -> str:
        found = has_session("cart")
        s = session_start("cart", use_auto=True)
        s["n"] = (s.get("n") or 0) + 1
        return f"{found} {s.result} {s['n']}"

    client = app.test_client()
    live = client.get("/").headers["Set-Cookie"].split(";")[0].split("=", 1)[1]
    return app, log, live


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(cookie=junk, query=junk, form=junk, extra=junk)
def test_fuzzed_request_is_new_session_without_a_query(
    hostile: tuple[Flask, t.Any, str], cookie: str, query: str, form: str, extra: str
) -> None:
    app, log, _ = hostile
    client = app.test_client()
    environ = {
        "HTTP_COOKIE": f"session_cart={cookie}; {extra}={cookie}".encode().decode("latin-1"),
        "HTTP_SEC_FETCH_SITE": "same-origin",  # so that the parameters are read
    }
    log.reset()
    response = client.post(
        "/",
        query_string={"_session:cart": [query, extra]},
        data={"_session:cart": form, extra: form},
        environ_base=environ,
    )
    assert response.status_code == 200
    found, result, n = response.text.split()
    if result == "new":
        assert (found, n) == ("False", "1")
        if not any(is_valid_id(v) for v in (cookie, query, form, extra)):
            # A malformed ID costs no SELECT: only the new session's inserts.
            assert log.reads == []
    else:
        assert result == "load" and found == "True"


def test_logs_never_show_ids_or_hashes(hostile: tuple[Flask, t.Any, str], caplog: t.Any) -> None:
    app, _, live = hostile
    caplog.set_level("DEBUG")
    client = app.test_client()
    client.set_cookie("session_cart", live)
    assert client.get("/").text == "True load 2"
    client.get("/?_session:cart=" + "%ff" * 50)
    assert live not in caplog.text
    assert lookup_key("cart", live) not in caplog.text
