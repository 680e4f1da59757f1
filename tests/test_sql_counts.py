"""Statements sent per request, counted exactly (SPEC section 6)."""

from __future__ import annotations

import typing as t

import pytest
from flask import Flask
from flask import g

from flask_namedsessions import has_session
from flask_namedsessions import session_start

TEN = [f"v{i}" for i in range(10)]


@pytest.fixture
def counted(app: Flask, sql_count: t.Any) -> tuple[Flask, t.Any]:
    @app.route("/create")
    def create() -> str:
        s = session_start("cart")
        for var in TEN:
            s[var] = var
        return ""

    @app.route("/read")
    def read() -> str:
        session_start("cart")
        return str(g.v3)

    @app.route("/change")
    def change() -> str:
        session_start("cart")
        g.v3 = (g.v3 or "") + "!"
        return ""

    @app.route("/remove")
    def remove() -> str:
        session_start("cart").remove_var("v3")
        return ""

    @app.route("/rotate")
    def rotate() -> str:
        session_start("cart", rotate=True)
        return ""

    @app.route("/has")
    def has() -> str:
        found = has_session("cart")
        session_start("cart")
        return str(found)

    @app.route("/link")
    def link() -> str:
        session_start("cart", use_link=True)
        return str(g.v3)

    @app.route("/plain")
    def plain() -> str:
        return "no session"

    return app, sql_count


def run(counted: tuple[Flask, t.Any], client: t.Any, path: str) -> t.Any:
    _, log = counted
    log.reset()
    response = client.get(path)
    assert response.status_code == 200
    return log


def test_request_without_session_runs_no_sql(counted: tuple[Flask, t.Any]) -> None:
    client = counted[0].test_client()
    assert run(counted, client, "/plain").count == 0
    client.get("/create")
    assert run(counted, client, "/plain").count == 0


def test_creating_session_with_ten_variables(counted: tuple[Flask, t.Any]) -> None:
    log = run(counted, counted[0].test_client(), "/create")
    assert log.reads == []
    assert len(log.writes) == 2  # the session row, the ten variables


def test_read_only_request_runs_one_select(counted: tuple[Flask, t.Any]) -> None:
    client = counted[0].test_client()
    client.get("/create")
    log = run(counted, client, "/read")
    assert len(log.reads) == 1 and log.writes == []
    assert log.count == 1


def test_changing_one_of_ten_writes_one_statement(counted: tuple[Flask, t.Any]) -> None:
    client = counted[0].test_client()
    client.get("/create")
    log = run(counted, client, "/change")
    assert len(log.reads) == 1
    assert len(log.writes) == 1
    assert log.count == 2


def test_touch_due_adds_only_the_touch(
    make_app: t.Callable[..., Flask], count_sql: t.Callable[[Flask], t.Any]
) -> None:
    app = make_app(NAMEDSESSIONS_TOUCH_INTERVAL=0)

    @app.route("/create")
    def create() -> str:
        s = session_start("cart")
        for var in TEN:
            s[var] = var
        return ""

    @app.route("/change")
    def change() -> str:
        session_start("cart")
        g.v3 = "changed"
        return ""

    log = count_sql(app)
    client = app.test_client()
    client.get("/create")
    log.reset()
    client.get("/create")  # nothing changed: the touch alone
    assert len(log.reads) == 1
    assert [w.split()[0] for w in log.writes] == ["UPDATE"]
    log.reset()
    client.get("/change")
    assert len(log.reads) == 1
    assert [w.split()[0] for w in log.writes] == ["UPDATE", "INSERT"]


def test_removing_a_variable_writes_one_statement(counted: tuple[Flask, t.Any]) -> None:
    client = counted[0].test_client()
    client.get("/create")
    log = run(counted, client, "/remove")
    assert len(log.reads) == 1
    assert [w.split()[0] for w in log.writes] == ["DELETE"]


def test_rotate_writes_one_statement(counted: tuple[Flask, t.Any]) -> None:
    client = counted[0].test_client()
    client.get("/create")
    log = run(counted, client, "/rotate")
    assert len(log.reads) == 1
    assert [w.split()[0] for w in log.writes] == ["UPDATE"]


def test_has_session_then_start_shares_one_select(counted: tuple[Flask, t.Any]) -> None:
    client = counted[0].test_client()
    client.get("/create")
    log = run(counted, client, "/has")
    assert log.count == 1


def test_link_tracked_read_runs_one_select(counted: tuple[Flask, t.Any]) -> None:
    client = counted[0].test_client()
    client.get("/create")
    log = run(counted, client, "/link")
    assert log.count == 1
