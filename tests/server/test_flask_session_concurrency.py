"""flask.session under gunicorn: parallel requests of one visitor that change
different keys keep every change (Flask-Session's lost update, pallets-eco/
flask-session#71), with the cache in front of SQL or without."""

from __future__ import annotations

import json
import typing as t
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.cache_support import cache_url  # noqa: F401 - fixture
from tests.server.test_concurrency import orphans

pytestmark = pytest.mark.server

APP = "tests.server.apps:create_flask_session_app()"
CLIENTS = 6
ROUNDS = 15


def fetch(
    url: str, cookie: str | None = None, data: dict[str, str] | None = None
) -> tuple[int, str, t.Any]:
    headers = {"Cookie": f"session={cookie}"} if cookie else {}
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode(), response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(), error.headers


@pytest.fixture(params=["sql", "cached"])
def env(request: pytest.FixtureRequest, database_url: str) -> t.Iterator[dict[str, str]]:
    """The app's environment: the database, and the cache when ``cached``."""
    if request.param == "sql":
        yield {"NAMEDSESSIONS_DATABASE_URI": database_url}
        return
    url = request.getfixturevalue("cache_url")  # emptied before and after
    yield {"NAMEDSESSIONS_DATABASE_URI": database_url, "TEST_CACHE_URL": url}


@pytest.mark.parametrize("workers", [(4, 1), (2, 4)], ids=["sync", "threads"])
def test_parallel_requests_keep_every_key(
    gunicorn: t.Callable[..., str], env: dict[str, str], workers: tuple[int, int]
) -> None:
    base = gunicorn(APP, env, workers=workers[0], threads=workers[1])
    status, token, headers = fetch(f"{base}/token")
    assert status == 200
    cookie = headers["Set-Cookie"].split(";", 1)[0].split("=", 1)[1]
    form = {"csrf_token": token}

    def client(i: int) -> set[int]:
        if i == 0:  # the cart, beside the counters
            return {fetch(f"{base}/cart/item{r}", cookie, form)[0] for r in range(ROUNDS)}
        return {fetch(f"{base}/incr/k{i}", cookie, form)[0] for _ in range(ROUNDS)}

    with ThreadPoolExecutor(CLIENTS) as pool:
        statuses = set().union(*pool.map(client, range(CLIENTS)))
    assert statuses == {200}
    status, body, _ = fetch(f"{base}/dump", cookie)
    data = json.loads(body)
    assert data["csrf_token"]
    assert sorted(data["cart"]) == sorted(f"item{r}" for r in range(ROUNDS))
    assert {k: v for k, v in data.items() if k.startswith("k")} == {
        f"k{i}": ROUNDS for i in range(1, CLIENTS)
    }


def test_log_out_everywhere_racing_saves_stays_ended(
    gunicorn: t.Callable[..., str], database_url: str, env: dict[str, str]
) -> None:
    base = gunicorn(APP, env, workers=2, threads=4)
    status, token, headers = fetch(f"{base}/token")
    assert status == 200
    cookie = headers["Set-Cookie"].split(";", 1)[0].split("=", 1)[1]
    assert fetch(f"{base}/bind/ada", cookie)[0] == 200
    form = {"csrf_token": token}
    with ThreadPoolExecutor(CLIENTS) as pool:
        saves = [pool.submit(fetch, f"{base}/incr/k", cookie, form) for _ in range(4 * CLIENTS)]
        revoked = pool.submit(fetch, f"{base}/revoke/ada")
        assert revoked.result()[:2] == (200, "1")
        replies = [save.result() for save in saves]
    # A save that loaded the session before the end wrote nothing and sent no
    # cookie; one that came after found no session, so no CSRF token (400).
    assert {status for status, _, _ in replies} <= {200, 400}
    sent = {h["Set-Cookie"].split(";", 1)[0] for _, _, h in replies if "Set-Cookie" in h}
    assert sent <= {f"session={cookie}"}
    status, body, _ = fetch(f"{base}/dump", cookie)
    assert (status, json.loads(body)) == (200, {})
    assert fetch(f"{base}/sessions/ada")[1] == "0"
    assert orphans(database_url) == 0
