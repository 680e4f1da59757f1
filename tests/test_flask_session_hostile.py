"""Whatever a visitor sends for flask.session is no session or their own:
never a 500, never someone else's session, never an adopted ID."""

from __future__ import annotations

import typing as t

import pytest
from flask import Flask
from flask import session
from hypothesis import given
from hypothesis import HealthCheck
from hypothesis import settings
from hypothesis import strategies as st

from flask_namedsessions import get_session
from flask_namedsessions.ids import is_valid_id
from tests.test_flask_session import cookie_of

junk = st.one_of(
    st.text(max_size=300),
    st.binary(max_size=300).map(lambda b: b.decode("latin-1")),
    st.sampled_from(["", "%", "%zz", "%00", "a" * 129, "a" * 5000, "' OR 1=1 --", "é", '"x"']),
)


@pytest.fixture
def app(make_app: t.Callable[..., Flask]) -> Flask:
    app = make_app(NAMEDSESSIONS_FLASK_SESSION="main", PROPAGATE_EXCEPTIONS=False)

    @app.route("/", methods=["GET", "POST"])
    def index() -> str:
        session["n"] = session.get("n", 0) + 1
        return f"{session['n']} {session.get('owner')}"

    @app.route("/own")
    def own() -> str:
        session["owner"] = "victim"
        return ""

    return app


@pytest.fixture
def log(app: Flask, sql_count: t.Any) -> t.Any:
    return sql_count(app)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(cookie=junk, query=junk, form=junk)
def test_fuzzed_cookie_and_parameters_are_no_session(
    app: Flask, log: t.Any, cookie: str, query: str, form: str
) -> None:
    log.reset()
    raw = f"session={cookie}".encode().decode("latin-1")
    response = app.test_client().post(
        "/",
        query_string={"_session:main": query},
        data={"_session:main": form},
        environ_base={"HTTP_COOKIE": raw},
    )
    assert response.status_code == 200
    assert response.text == "1 None"
    issued = cookie_of(response)
    assert issued and issued not in (cookie, query, form)
    if not any(is_valid_id(v) for v in (cookie, query, form)):
        assert log.reads == []  # a malformed ID costs no query


def test_a_forged_id_is_never_adopted(app: Flask) -> None:
    forged = "A" * 43
    client = app.test_client()
    client.set_cookie("session", forged)
    response = client.get("/")
    assert response.text == "1 None"
    assert cookie_of(response) not in (None, forged)


def test_an_id_in_the_parameter_is_ignored_when_tracked_by_cookie(app: Flask) -> None:
    victim = app.test_client()
    victim.get("/own")
    stolen = victim.get_cookie("session")
    assert stolen is not None
    response = app.test_client().get(
        f"/?_session:main={stolen.value}", headers={"Sec-Fetch-Site": "same-origin"}
    )
    assert response.text == "1 None"


def test_duplicate_cookies_never_fail_and_never_mix(app: Flask) -> None:
    victim = app.test_client()
    victim.get("/own")
    own = victim.get_cookie("session")
    attacker = app.test_client()
    attacker.get("/")
    planted = attacker.get_cookie("session")
    assert own is not None and planted is not None
    response = app.test_client(use_cookies=False).get(
        "/", headers={"Cookie": f"session={planted.value}; session={own.value}"}
    )
    assert response.status_code == 200
    # neither copy is loaded: a tossed cookie can neither plant nor end one
    assert response.text == "1 None"


def test_duplicate_cookies_load_no_copy_and_set_no_cookie(app: Flask) -> None:
    victim = app.test_client()
    victim.get("/own")
    own = victim.get_cookie("session")
    assert own is not None
    response = app.test_client(use_cookies=False).get(
        "/", headers={"Cookie": f"session={own.value}; session={own.value}x"}
    )
    assert response.text == "1 None"
    assert cookie_of(response) is None


@pytest.mark.parametrize("site", ["cross-site", "same-site", "none"])
def test_an_id_in_a_link_from_elsewhere_is_ignored_in_auto_mode(
    make_app: t.Callable[..., Flask], site: str
) -> None:
    app = make_app(NAMEDSESSIONS_FLASK_SESSION="main", NAMEDSESSIONS_FLASK_SESSION_TRACKING="auto")
    app.add_url_rule("/own", "own", lambda: session.update(owner="victim") or "")
    app.add_url_rule("/who", "who", lambda: str(session.get("owner")))
    victim = app.test_client().get("/own")
    planted = cookie_of(victim)
    assert planted
    response = app.test_client().get(
        f"/who?_session:main={planted}", headers={"Sec-Fetch-Site": site}
    )
    assert response.text == "None"


def test_a_cookie_opens_nothing_when_tracked_by_link(make_app: t.Callable[..., Flask]) -> None:
    # flask.session in "link" mode sets no cookie: a cookie of its name was
    # put there by someone else (a sibling subdomain tossing it).
    app = make_app(NAMEDSESSIONS_FLASK_SESSION="main", NAMEDSESSIONS_FLASK_SESSION_TRACKING="link")

    @app.route("/own")
    def own() -> str:
        session["owner"] = "attacker"
        return get_session("main").id

    app.add_url_rule("/owner", "owner", lambda: str(session.get("owner")))
    planted = app.test_client().get("/own").text
    victim = app.test_client()
    victim.set_cookie("session", planted)
    assert victim.get("/owner").text == "None"
    assert victim.get("/owner", headers={"Sec-Fetch-Site": "same-origin"}).text == "None"
