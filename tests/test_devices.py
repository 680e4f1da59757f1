"""Device details recorded with a session, only when asked for, and never
checked against a later request (SPEC section 10)."""

from __future__ import annotations

import typing as t

import pytest
from flask import Flask
from flask import request

from flask_namedsessions import session_start
from flask_namedsessions import SessionInfo
from flask_namedsessions import user_sessions
from flask_namedsessions.binding import recorded_address

PHONE = {"User-Agent": "Phone/1.0", "REMOTE_ADDR": "203.0.113.77"}
LAPTOP = {"User-Agent": "Laptop/2.0", "REMOTE_ADDR": "2001:db8:1234:5678::9"}


def device_app(app: Flask) -> Flask:
    @app.route("/visit")
    def visit() -> str:
        s = session_start("main")
        s["seen"] = True
        if "user" in request.args:
            s.bind_user(request.args["user"])
        return s.result

    return app


def get(client: t.Any, path: str, details: dict[str, str]) -> str:
    headers = {"User-Agent": details["User-Agent"]}
    environ = {"REMOTE_ADDR": details["REMOTE_ADDR"]}
    response = client.get(path, headers=headers, environ_base=environ)
    assert response.status_code == 200
    return str(response.text)


def only(app: Flask, user: str = "ada") -> SessionInfo:
    with app.app_context():
        (info,) = user_sessions(user)
    return info


def test_nothing_is_recorded_by_default(app: Flask) -> None:
    device_app(app)
    get(app.test_client(), "/visit?user=ada", PHONE)
    info = only(app)
    assert (info.user_agent, info.ip) == (None, None)


def test_details_recorded_at_creation_and_binding_and_never_checked(
    make_app: t.Callable[..., Flask],
) -> None:
    app = device_app(
        make_app(NAMEDSESSIONS_RECORD_USER_AGENT=True, NAMEDSESSIONS_RECORD_IP="truncated")
    )
    client = app.test_client()
    assert get(client, "/visit", PHONE) == "new"  # created, not bound yet
    assert get(client, "/visit?user=ada", LAPTOP) == "load"  # bound from elsewhere
    info = only(app)
    assert (info.user_agent, info.ip) == ("Laptop/2.0", "2001:db8:1234::")
    # a later request from another device and network still loads it, and
    # leaves what was recorded alone
    assert get(client, "/visit?user=ada", PHONE) == "load"
    assert get(client, "/visit", {"User-Agent": "Other", "REMOTE_ADDR": "198.51.100.1"}) == "load"
    info = only(app)
    assert (info.user_agent, info.ip) == ("Laptop/2.0", "2001:db8:1234::")
    # bound to another user: recorded anew
    assert get(client, "/visit?user=bob", PHONE) == "load"
    info = only(app, "bob")
    assert (info.user_agent, info.ip) == ("Phone/1.0", "203.0.113.0")


def test_details_of_a_session_created_bound(make_app: t.Callable[..., Flask]) -> None:
    app = device_app(make_app(NAMEDSESSIONS_RECORD_USER_AGENT=True, NAMEDSESSIONS_RECORD_IP="full"))
    get(app.test_client(), "/visit?user=ada", LAPTOP)
    info = only(app)
    assert (info.user_agent, info.ip) == ("Laptop/2.0", "2001:db8:1234:5678::9")


def test_only_the_details_asked_for_are_recorded(make_app: t.Callable[..., Flask]) -> None:
    app = device_app(make_app(NAMEDSESSIONS_RECORD_IP="full"))
    get(app.test_client(), "/visit?user=ada", PHONE)
    info = only(app)
    assert (info.user_agent, info.ip) == (None, "203.0.113.77")


def test_a_user_agent_is_cut_and_cleaned(make_app: t.Callable[..., Flask]) -> None:
    app = device_app(make_app(NAMEDSESSIONS_RECORD_USER_AGENT=True))
    agent = "A\x00\x01\x7f" + "é" * 600
    get(app.test_client(), "/visit?user=ada", {"User-Agent": agent, "REMOTE_ADDR": "::1"})
    assert only(app).user_agent == "A" + "é" * 511
    get(app.test_client(), "/visit?user=bob", {"User-Agent": " \t ", "REMOTE_ADDR": "::1"})
    assert only(app, "bob").user_agent is None


@pytest.mark.parametrize(
    ("remote", "full", "truncated"),
    [
        ("203.0.113.77", "203.0.113.77", "203.0.113.0"),
        ("10.1.2.3", "10.1.2.3", "10.1.2.0"),
        ("2001:db8:1234:5678::9", "2001:db8:1234:5678::9", "2001:db8:1234::"),
        ("2001:DB8:0:0:0:0:0:1", "2001:db8::1", "2001:db8::"),
        ("::ffff:198.51.100.9", "198.51.100.9", "198.51.100.0"),
        ("fe80::1%eth0", "fe80::1", "fe80::"),
        ("::1", "::1", "::"),
        ("2002:cb00:7105::1", "2002:cb00:7105::1", "2002:cb00:7100::"),  # 6to4, 203.0.113.5
        ("unix:/run/app.sock", None, None),
        ("", None, None),
        (None, None, None),
    ],
)
def test_recorded_address(remote: str | None, full: str | None, truncated: str | None) -> None:
    assert recorded_address(remote, "full") == full
    assert recorded_address(remote, "truncated") == truncated
