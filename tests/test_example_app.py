"""The example app's demos work as their pages say, with cookies and without."""

from __future__ import annotations

import html
import re
import typing as t
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from example_app import create_app
from flask_namedsessions.extension import get_state


@pytest.fixture
def example(database_url: str) -> t.Iterator[Flask]:
    app = create_app({"TESTING": True, "NAMEDSESSIONS_DATABASE_URI": database_url})
    yield app
    get_state(app).store.dispose()


def visitor(app: Flask, *, cookies: bool = True) -> FlaskClient:
    """A client whose requests say, as a browser's do, that a page of this
    site started them (the extension takes IDs only from such requests)."""
    client = app.test_client(use_cookies=cookies)
    client.environ_base["HTTP_SEC_FETCH_SITE"] = "same-origin"
    return client


def message(response: t.Any) -> str:
    found = re.search(r'id="message">([^<]*)', response.text)
    assert found is not None, response.text
    return html.unescape(found.group(1))


def carried(page: str, name: str) -> str:
    """The ID of session ``name`` that the links and forms of ``page`` carry."""
    found = re.search(rf"_session:{name}=([A-Za-z0-9_.~-]+)", page)
    assert found is not None, f"no {name} ID in the page"
    return found.group(1)


def test_preferences_persist(example: Flask) -> None:
    client = visitor(example)
    assert 'id="result">new' in client.get("/prefs").text
    form = {"realName": "Ada", "favoriteColor": "red", "warpdrive": "warpdrive", "submit": "1"}
    client.post("/prefs", data=form)
    page = client.get("/prefs").text
    assert 'id="result">load' in page and 'value="Ada"' in page
    assert '<option value="red" selected>' in page and 'value="warpdrive" checked' in page


def test_preferences_work_without_cookies_across_pages(example: Flask) -> None:
    client = visitor(example, cookies=False)
    first = client.get("/prefs").text
    prefs = carried(first, "sessions_example")
    form = {"realName": "Ada", "submit": "1", "_session:sessions_example": prefs}
    assert 'value="Ada"' in client.post("/prefs", data=form).text
    # The home page starts no session of its own, yet its links carry this one.
    home = client.get(f"/?_session:sessions_example={prefs}").text
    assert f'href="/prefs?_session:sessions_example={prefs}"' in home
    assert "Your browser sent no cookie for\n    <code>sessions_example</code>" in home
    page = client.get(f"/prefs?_session:sessions_example={prefs}").text
    assert 'id="result">load' in page and 'value="Ada"' in page


def token(page: str) -> str:
    """The CSRF token of the login form on ``page``."""
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert found is not None, "no CSRF token in the page"
    return found.group(1)


def log_in(client: FlaskClient, name: str) -> t.Any:
    """Open the login form and submit it, as a visitor does."""
    page = client.get("/demos/sessions/login").text
    form = {"name": name, "csrf_token": token(page)}
    if "_session:login=" in page:  # the form carries the session without cookies
        form["_session:login"] = carried(page, "login")
    return client.post("/demos/sessions/start", data=form)


def test_login_redirects_then_continue_and_logout(example: Flask) -> None:
    client = visitor(example)
    assert message(client.get("/demos/sessions/continue")) == "you are not logged in"
    login = log_in(client, "Ada")
    assert login.status_code == 302
    # The login form's page set the cookie, which came back with the form:
    # the redirect carries no ID.
    assert login.headers["Location"] == "/demos/sessions/welcome"
    welcome = client.get(login.headers["Location"])
    assert message(welcome) == "hello Ada you have logged in"
    assert message(client.get("/demos/sessions/continue")) == "hello Ada you are logged in"
    logout = client.get("/demos/sessions/logout", follow_redirects=True)
    assert message(logout) == "You have been logged out"
    assert message(client.get("/demos/sessions/continue")) == "you are not logged in"


def test_login_works_without_cookies(example: Flask) -> None:
    client = visitor(example, cookies=False)
    login = log_in(client, "Ada <b>")
    location = login.headers["Location"]
    assert location.startswith("/demos/sessions/welcome?_session:login=")
    welcome = client.get(location)
    assert message(welcome) == "hello Ada <b> you have logged in"
    ticket = carried(welcome.text, "login")
    assert location.endswith(ticket)
    assert welcome.headers["Cache-Control"] == "private, no-store"
    assert welcome.headers["Referrer-Policy"] == "same-origin"
    page = client.get(f"/demos/sessions/continue?_session:login={ticket}")
    assert message(page) == "hello Ada <b> you are logged in"
    logout = client.get(f"/demos/sessions/logout?_session:login={ticket}")
    assert logout.headers["Location"] == "/demos/sessions/logged-out"
    # An ID that opens nothing any more leaves the address.
    again = client.get(f"/demos/sessions/continue?_session:login={ticket}")
    assert again.location == "http://localhost/demos/sessions/continue"
    assert message(client.get(again.location)) == "you are not logged in"


@pytest.mark.parametrize("cookies", [True, False])
def test_login_without_the_forms_token_is_refused(example: Flask, cookies: bool) -> None:
    refused = "This login form has expired or came from another site: reload it and log in."
    attacker = visitor(example, cookies=cookies)
    attackers_token = token(attacker.get("/demos/sessions/login").text)
    client = visitor(example, cookies=cookies)
    for form in ({"name": "Eve"}, {"name": "Eve", "csrf_token": attackers_token}):
        response = client.post("/demos/sessions/start", data=form)
        assert response.status_code == 400
        assert refused in html.unescape(response.text)
        assert "Set-Cookie" not in response.headers and "Location" not in response.headers
    client.get("/demos/sessions/login")  # the visitor's own form, not submitted
    response = client.post("/demos/sessions/start", data={"name": "Eve", "csrf_token": "x##y"})
    assert response.status_code == 400
    assert message(client.get("/demos/sessions/continue")) == "you are not logged in"


def test_login_id_handed_in_from_elsewhere_is_dropped(example: Flask) -> None:
    client = visitor(example, cookies=False)
    welcome = client.get(log_in(client, "Ada").location)
    ticket = carried(welcome.text, "login")
    url = f"/demos/sessions/continue?x=1&_session:login={ticket}"
    elsewhere: list[dict[str, str]] = [
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Sec-Fetch-Site": "none"},  # mail, chat, a bookmark, the address bar
    ]
    for headers in elsewhere:
        response = client.get(url, headers=headers)
        assert response.status_code == 302, headers
        assert response.location == "http://localhost/demos/sessions/continue?x=1"
    stranger = example.test_client(use_cookies=False)  # no Fetch Metadata
    assert stranger.get(url).location == "http://localhost/demos/sessions/continue?x=1"
    other = {"Referer": "http://evil.example/"}
    assert stranger.get(url, headers=other).location == (
        "http://localhost/demos/sessions/continue?x=1"
    )
    # The redirect stays on this site whatever the path looks like.
    for path in ("//evil.example/", "/\\evil.example/"):
        query = f"_session:login={ticket}"
        away = stranger.get("/", query_string=query, environ_overrides={"PATH_INFO": path})
        assert urlsplit(away.location).netloc == "localhost", away.location
    here = {"Referer": "http://localhost/demos/sessions/welcome"}
    assert message(stranger.get(url, headers=here)) == "hello Ada you are logged in"


def test_first_visit_ids_leave_the_address_once_the_cookie_is_back(example: Flask) -> None:
    client = visitor(example)
    client.get("/features/")
    page = client.get("/shop/").text
    cart = carried(page, "cart")  # the first page cannot know cookies work
    response = client.get(f"/features/?team=blue&_session:cart={cart}")
    assert response.status_code == 302
    assert response.location == "http://localhost/features/?team=blue"
    page = client.get("/features/?team=blue").text
    assert "_session:cart" not in page and "_session:rotating" not in page
    assert 'id="carried"' not in page
    assert 'action="/features/" method="post"' in page


def test_features_page(example: Flask) -> None:
    alice, bob = visitor(example), visitor(example)
    alice.post("/features/", data={"team": "blue", "note": "from alice"})
    page = bob.post("/features/", data={"team": "blue", "note": "from bob"}).text
    assert "<li>from alice</li><li>from bob</li>" in page
    assert 'id="rotating-result">new' in page
    page = bob.get("/features/").text
    assert 'id="rotating-result">rotate' in page and 'id="hits">2' in page
    link = re.search(r'id="manual-link" href="([^"]*)"', page)
    assert link is not None and "_session:manual=" in link.group(1)
    assert 'id="seen">2' in bob.get(html.unescape(link.group(1))).text


def test_shop_keeps_the_cart(example: Flask) -> None:
    client = visitor(example)
    client.get("/shop/")
    response = client.post("/shop/add", data={"product": "towel", "quantity": "2"})
    assert response.status_code == 302
    assert 'id="count">2' in client.get("/shop/cart").text
    done = client.post("/shop/checkout").text
    assert "Order placed: 2 item(s)" in done
    assert 'id="count">0' in client.get("/shop/").text


def test_cookie_free_cart_survives_every_page(example: Flask) -> None:
    client = visitor(example, cookies=False)
    cart = carried(client.get("/shop/").text, "cart")
    form = {"product": "towel", "quantity": "2", "_session:cart": cart}
    assert client.post("/shop/add", data=form).status_code == 302
    for path in ("/", "/sessions", "/features/", "/demos/sessions/login", "/prefs"):
        page = client.get(f"{path}?_session:cart={cart}").text
        assert re.search(rf'href="/shop/\?[^"]*_session:cart={cart}[&"]', page), path
    assert 'id="count">2' in client.get(f"/shop/?_session:cart={cart}").text


def test_sessions_page_lists_what_the_visitor_holds(example: Flask) -> None:
    client = visitor(example)
    client.get("/features/")
    client.get("/shop/")
    client.post("/shop/add", data={"product": "towel"})
    response = client.get("/sessions")
    page = response.text
    names = re.findall(r'<tr class="session" data-name="([^"]+)"', page)
    assert names == ["cart", "rotating", "visits"]
    timeouts = re.findall(r'<td class="expires[^>]*>([^<]*)</td>', page)
    assert timeouts == ["1 h", "15 min", "24 h"]
    # The page shows IDs: no cache may keep it.
    assert response.headers["Cache-Control"] == "private, no-store"


def test_pages_link_by_url_for_and_have_an_icon(example: Flask) -> None:
    page = visitor(example).get("/").text
    nav = re.search(r"<nav>(.*?)</nav>", page, re.DOTALL)
    assert nav is not None
    hrefs = re.findall(r'href="([^"]*)"', nav.group(1))
    assert hrefs == [
        "/",
        "/prefs",
        "/demos/sessions/login",
        "/demos/devices/",
        "/shop/",
        "/features/",
        "/account/",
        "/sessions",
    ]
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in page
    client = visitor(example)
    icon = client.get("/static/favicon.svg")
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"
    icon.close()
    assert client.get("/favicon.ico").location == "http://localhost/static/favicon.svg"


def test_unknown_page_is_a_404_in_the_app_layout(example: Flask) -> None:
    response = visitor(example).get("/nowhere")
    assert response.status_code == 404
    assert "<h1>Not Found</h1>" in response.text and "<nav>" in response.text


def test_secret_key_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert create_app({"NAMEDSESSIONS_DATABASE_URI": "sqlite://"}).secret_key == "dev"
    monkeypatch.setenv("FLASK_SECRET_KEY", "from-the-environment")
    assert create_app({"NAMEDSESSIONS_DATABASE_URI": "sqlite://"}).secret_key == (
        "from-the-environment"
    )


def test_odd_input_is_refused_or_trimmed_not_a_500(example: Flask) -> None:
    client = visitor(example)
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


def test_unreachable_database_is_a_503_without_details(tmp_path: t.Any) -> None:
    app = create_app({"TESTING": False, "NAMEDSESSIONS_DATABASE_URI": f"sqlite:///{tmp_path}"})
    for path in ("/prefs", "/shop/", "/sessions"):
        response = app.test_client().get(path)
        assert response.status_code == 503
        assert "cannot be reached" in response.text
        assert str(tmp_path) not in response.text and "OperationalError" not in response.text


def test_account_area_on_flask_session_without_cookies(example: Flask) -> None:
    client = visitor(example, cookies=False)
    gate = client.get("/account/")
    assert gate.location.startswith("/account/login?next=%2Faccount%2F&_session:main=")
    page = client.get(gate.location).text
    assert "Sign in to see your account." in page
    before = carried(page, "main")
    form = {"name": "Ada", "csrf_token": token(page), "_session:main": before}
    login = client.post("/account/login", data=form)
    after = carried(login.location, "main")
    assert after != before  # a new ID at login
    home = client.get(login.location).text
    assert 'id="user">Ada<' in home and "Signed in. The session ID changed" in home
    note = {"note": "towel", "csrf_token": token(home), "_session:main": after}
    saved = client.get(client.post("/account/", data=note).location).text
    assert "Note saved." in saved and "<li>towel</li>" in saved
    # the old ID opens nothing
    assert client.get(f"/account/?_session:main={before}").status_code == 302
    logout = {"csrf_token": token(saved), "_session:main": after}
    out = client.get(client.post("/account/logout", data=logout).location).text
    assert "Signed out." in out
    again = carried(out, "main")
    assert client.get(f"/account/?_session:main={again}").status_code == 302


def test_account_form_without_its_token_is_refused(example: Flask) -> None:
    client = visitor(example)
    client.get("/account/login")
    page = client.post("/account/login", data={"name": "Ada"}).text
    assert 'id="csrf-error">The CSRF token is missing.<' in page


def test_readme_command_installs_what_the_example_needs() -> None:
    """README's first command installs the package with the ``example``
    group, which brings what the login form and the account area import."""
    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text()
    assert "pip install -e . --group example && .venv/bin/flask --app example_app run" in readme
    pyproject = (root / "pyproject.toml").read_text()
    group = re.search(r"\nexample = \[(.*?)\]", pyproject, re.S)
    assert group is not None
    names = set(re.findall(r'"([a-z-]+)[><=]', group.group(1)))
    assert names == {"flask-wtf", "flask-login"}


PHONE_UA = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/126.0 Mobile"
LAPTOP_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"
SAME_SITE = {"Origin": "http://localhost"}


def logged_in(app: Flask, name: str, agent: str) -> FlaskClient:
    client = visitor(app)
    client.environ_base["HTTP_USER_AGENT"] = agent
    assert log_in(client, name).status_code == 302
    return client


def devices(client: FlaskClient) -> list[tuple[str, str, bool, str | None]]:
    """(browser, address, this device, handle) per row of the devices page."""
    page = client.get("/demos/devices/").text
    rows = re.findall(r'<tr class="device( current)?">(.*?)</tr>', page, re.DOTALL)
    found = []
    for current, row in rows:
        label = re.search(r'class="browser"[^>]*>([^<]*)<', row)
        address = re.search(r'class="address[^"]*"[^>]*>([^<]*)<', row)
        handle = re.search(r'name="handle" value="([0-9a-f]{32})"', row)
        assert label is not None and address is not None
        found.append((label.group(1), address.group(1), bool(current), handle and handle.group(1)))
    return found


def test_devices_page_lists_and_ends_devices(example: Flask) -> None:
    phone = logged_in(example, "Ada", PHONE_UA)
    laptop = logged_in(example, "Ada", LAPTOP_UA)
    logged_in(example, "Bob", LAPTOP_UA)
    rows = devices(laptop)
    assert [row[:3] for row in rows] == [
        ("Chrome on Linux", "127.0.0.0", True),
        ("Chrome on Android", "127.0.0.0", False),
    ]
    assert rows[0][3] is None  # this device has no "end" form
    ended = laptop.post("/demos/devices/end", data={"handle": rows[1][3]}, headers=SAME_SITE)
    assert ended.location == "/demos/devices/?ended=1"
    assert "1 device was logged out." in laptop.get(ended.location).text
    assert message(phone.get("/demos/sessions/continue")) == "you are not logged in"
    assert 'id="nobody">You are not logged in.' in phone.get("/demos/devices/").text

    phone = logged_in(example, "Ada", PHONE_UA)
    assert len(devices(laptop)) == 2
    others = laptop.post("/demos/devices/others", headers=SAME_SITE)
    assert others.location == "/demos/devices/?ended=1"
    assert message(phone.get("/demos/sessions/continue")) == "you are not logged in"
    assert [row[:3] for row in devices(laptop)] == [("Chrome on Linux", "127.0.0.0", True)]
    assert 'id="end-others"' not in laptop.get("/demos/devices/").text


def test_devices_of_another_user_cannot_be_ended(example: Flask) -> None:
    phone = logged_in(example, "Ada", PHONE_UA)
    logged_in(example, "Ada", LAPTOP_UA)
    eve = logged_in(example, "Eve", LAPTOP_UA)
    handle = devices(phone)[1][3]
    ended = eve.post("/demos/devices/end", data={"handle": handle}, headers=SAME_SITE)
    assert ended.location == "/demos/devices/?ended=0"
    assert len(devices(phone)) == 2


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Referer": "https://evil.example/page"},
        {"Origin": "http://localhost.evil.example"},
    ],
)
def test_devices_forms_from_elsewhere_are_refused(example: Flask, headers: dict[str, str]) -> None:
    phone = logged_in(example, "Ada", PHONE_UA)
    laptop = logged_in(example, "Ada", LAPTOP_UA)
    handle = devices(laptop)[1][3]
    for path, form in [("/demos/devices/end", {"handle": handle}), ("/demos/devices/others", {})]:
        response = laptop.post(path, data=form, headers=headers)
        assert response.status_code == 400
        assert "This form must be sent from a page of this site." in response.text
    assert len(devices(phone)) == 2
    referer = {"Referer": "http://localhost/demos/devices/"}
    assert laptop.post("/demos/devices/others", headers=referer).status_code == 302


def test_devices_page_without_login_and_odd_input(example: Flask) -> None:
    client = visitor(example)
    page = client.get("/demos/devices/?ended=²")
    assert page.status_code == 200
    assert 'id="nobody">You are not logged in.' in page.text
    assert "logged out." not in page.text
    ended = client.post("/demos/devices/end", data={"handle": "x"}, headers=SAME_SITE)
    assert ended.location == "/demos/devices/?ended=0"
    odd = logged_in(example, "A\x00da\t", "")
    assert message(odd.get("/demos/sessions/continue")) == "hello Ada you are logged in"
    assert [row[:3] for row in devices(odd)] == [("Unknown browser", "127.0.0.0", True)]
