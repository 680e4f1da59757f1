"""The example app's demos work as their pages say."""

from __future__ import annotations

import re
import typing as t

import pytest
from flask import Flask

from example_app import create_app
from flask_namedsessions.extension import get_state


@pytest.fixture
def example(database_url: str) -> t.Iterator[Flask]:
    app = create_app({"TESTING": True, "NAMEDSESSIONS_DATABASE_URI": database_url})
    yield app
    get_state(app).store.dispose()


def test_preferences_persist(example: Flask) -> None:
    client = example.test_client()
    assert 'id="result">new' in client.get("/prefs").text
    form = {"realName": "Ada", "favoriteColor": "red", "warpdrive": "warpdrive", "submit": "1"}
    client.post("/prefs", data=form)
    page = client.get("/prefs").text
    assert 'id="result">load' in page and 'value="Ada"' in page
    assert '<option value="red" selected>' in page and 'value="warpdrive" checked' in page


def test_login_continue_logout(example: Flask) -> None:
    client = example.test_client()

    def message(response: t.Any) -> str:
        return str(re.search(r'id="message">([^<]*)', response.text).group(1))  # type: ignore[union-attr]

    assert message(client.get("/demos/sessions/continue")) == "you are not logged in"
    login = client.post("/demos/sessions/start", data={"name": "Ada"})
    assert message(login) == "hello Ada you have logged in"
    assert message(client.get("/demos/sessions/continue")) == "hello Ada you are logged in"
    logout = client.get("/demos/sessions/logout", follow_redirects=True)
    assert message(logout) == "You have been logged out"
    assert message(client.get("/demos/sessions/continue")) == "you are not logged in"


def test_features_page(example: Flask) -> None:
    alice, bob = example.test_client(), example.test_client()
    alice.post("/features/", data={"team": "blue", "note": "from alice"})
    page = bob.post("/features/", data={"team": "blue", "note": "from bob"}).text
    assert "<li>from alice</li><li>from bob</li>" in page
    assert 'id="rotating-result">new' in page
    page = bob.get("/features/").text
    assert 'id="rotating-result">rotate' in page and 'id="hits">2' in page
    link = re.search(r'id="manual-link" href="([^"]*)"', page).group(1)  # type: ignore[union-attr]
    assert "_session:manual=" in link
    assert 'id="seen">2' in bob.get(link.replace("&amp;", "&")).text


def test_shop_keeps_the_cart(example: Flask) -> None:
    client = example.test_client()
    client.get("/shop/")
    response = client.post("/shop/add", data={"product": "towel", "quantity": "2"})
    assert response.status_code == 302
    assert 'id="count">2' in client.get("/shop/cart").text
    done = client.post("/shop/checkout").text
    assert "Order placed: 2 item(s)" in done
    assert 'id="count">0' in client.get("/shop/").text


def test_cookie_free_cart_survives_the_sessions_page(example: Flask) -> None:
    client = example.test_client(use_cookies=False)
    page = client.get("/shop/").text
    link = re.search(r'href="/shop/\?_session:cart=([^"]*)"', page)
    assert link is not None
    cart = link.group(1)
    form = {"product": "towel", "quantity": "2", "_session:cart": cart}
    assert client.post("/shop/add", data=form).status_code == 302
    overview = client.get(f"/sessions?_session:cart={cart}").text
    assert "cart" in overview and "link" in overview
    shop_link = f'href="/shop/?_session:cart={cart}"'
    assert shop_link in overview
    assert 'id="count">2' in client.get(f"/shop/?_session:cart={cart}").text


def test_odd_input_is_refused_or_trimmed_not_a_500(example: Flask) -> None:
    client = example.test_client()
    assert client.get("/features/?team=%C3%A9").status_code == 200
    assert client.post("/features/", data={"team": "\u0663", "note": "x"}).status_code == 200
    for n in range(60):
        page = client.post("/features/", data={"team": "red", "note": f"n{n} " + "x" * 300})
        assert page.status_code == 200
    assert page.text.count("<li>n") == 50 and "<li>n59 " in page.text and "<li>n9 " not in page.text
    form = {"realName": "A" * 70_000, "emailAddress": "e" * 70_000, "submit": "1"}
    client.get("/prefs")
    assert client.post("/prefs", data=form).status_code == 200
    assert f'value="{"A" * 200}"' in client.get("/prefs").text


def test_sessions_page_lists_the_rotating_session(example: Flask) -> None:
    client = example.test_client()
    client.get("/features/")
    assert 'data-name="rotating"' in client.get("/sessions").text


def test_unreachable_database_is_a_503_without_details(tmp_path: t.Any) -> None:
    app = create_app({"TESTING": False, "NAMEDSESSIONS_DATABASE_URI": f"sqlite:///{tmp_path}"})
    for path in ("/prefs", "/shop/", "/sessions"):
        response = app.test_client().get(path)
        assert response.status_code == 503
        assert "cannot be reached" in response.text
        assert str(tmp_path) not in response.text and "OperationalError" not in response.text
