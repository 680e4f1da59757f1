"""Many requests of one session at once, through gunicorn: nothing is lost."""

from __future__ import annotations

import json
import threading
import time
import typing as t
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

pytestmark = pytest.mark.server

APP = "tests.server.apps:create_app()"
CLIENTS = 8
ROUNDS = 20


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, str, t.Any]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode(), response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(), error.headers


def values(base: str, sid: str) -> dict[str, t.Any]:
    status, body, _ = fetch(f"{base}/get?sid={sid}")
    assert status == 200, body
    data = json.loads(body)
    assert data["result"] == "load"
    return t.cast(dict[str, t.Any], data["values"])


def orphans(database_url: str) -> int:
    """Variables whose session is gone: a save must never leave any."""
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            return int(
                conn.exec_driver_sql(
                    "SELECT count(*) FROM namedsessions_variables v WHERE NOT EXISTS"
                    " (SELECT 1 FROM namedsessions_sessions s WHERE s.sid = v.sid)"
                ).scalar_one()
            )
    finally:
        engine.dispose()


def server(gunicorn: t.Callable[..., str], database_url: str, mode: str) -> str:
    env = {"NAMEDSESSIONS_DATABASE_URI": database_url}
    if mode == "sync":
        return gunicorn(APP, env, workers=4)
    return gunicorn(APP, env, workers=2, threads=4)


@pytest.mark.parametrize("mode", ["sync", "threads"])
def test_each_client_keeps_every_increment(
    gunicorn: t.Callable[..., str], database_url: str, mode: str
) -> None:
    base = server(gunicorn, database_url, mode)
    sid = f"race-{mode}"
    assert fetch(f"{base}/set/first/1?sid={sid}")[0] == 200  # the session exists

    def client(i: int) -> list[int]:
        return [fetch(f"{base}/incr/v{i}?sid={sid}")[0] for _ in range(ROUNDS)]

    with ThreadPoolExecutor(CLIENTS) as pool:
        statuses = [s for result in pool.map(client, range(CLIENTS)) for s in result]
    assert set(statuses) == {200}
    assert values(base, sid) == {"first": "1", **{f"v{i}": ROUNDS for i in range(CLIENTS)}}


def test_same_variable_last_write_wins_and_touches_nothing_else(
    gunicorn: t.Callable[..., str], database_url: str
) -> None:
    base = server(gunicorn, database_url, "sync")
    sid = "shared-var"
    fetch(f"{base}/set/other/untouched?sid={sid}")
    written = [f"w{i}-{r}" for i in range(CLIENTS) for r in range(ROUNDS // 2)]

    def client(i: int) -> None:
        for r in range(ROUNDS // 2):
            assert fetch(f"{base}/set/x/w{i}-{r}?sid={sid}")[0] == 200

    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(client, range(CLIENTS)))
    final = values(base, sid)
    assert final["other"] == "untouched"
    assert final["x"] in written


def test_simultaneous_creation_of_one_explicit_id(
    gunicorn: t.Callable[..., str], database_url: str
) -> None:
    base = server(gunicorn, database_url, "threads")
    for attempt in range(3):
        sid = f"born-together-{attempt}"
        barrier = threading.Barrier(CLIENTS)

        def client(i: int, sid: str = sid, barrier: threading.Barrier = barrier) -> int:
            barrier.wait(timeout=10)
            return fetch(f"{base}/set/v{i}/{i}?sid={sid}")[0]

        with ThreadPoolExecutor(CLIENTS) as pool:
            assert set(pool.map(client, range(CLIENTS))) == {200}
        assert values(base, sid) == {f"v{i}": str(i) for i in range(CLIENTS)}


def test_rotation_keeps_in_flight_requests_with_old_id(
    gunicorn: t.Callable[..., str], database_url: str
) -> None:
    base = server(gunicorn, database_url, "threads")
    status, _, headers = fetch(f"{base}/cookie")
    old = headers["Set-Cookie"].split(";")[0]
    status, body, headers = fetch(f"{base}/cookie?rotate=1", {"Cookie": old})
    assert json.loads(body)["result"] == "rotate"
    new = headers["Set-Cookie"].split(";")[0]
    assert new != old

    def late(_: int) -> tuple[str, str]:
        status, body, headers = fetch(f"{base}/cookie?read=1", {"Cookie": old})
        assert status == 200
        return json.loads(body)["result"], headers.get("Set-Cookie", "").split(";")[0]

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(late, range(8)))
    assert {r for r, _ in results} == {"load"}
    assert {c for _, c in results} == {new}
    status, body, _ = fetch(f"{base}/cookie", {"Cookie": new})
    assert status == 200
    assert json.loads(body) == {"result": "load", "n": 3}


def test_cleanup_beside_live_traffic_deletes_only_expired(
    gunicorn: t.Callable[..., str], database_url: str
) -> None:
    base = server(gunicorn, database_url, "threads")
    for i in range(20):
        assert fetch(f"{base}/set/x/{i}?sid=dying-{i}&expires=0.005")[0] == 200
    for i in range(4):
        assert fetch(f"{base}/set/x/{i}?sid=live-{i}")[0] == 200
    time.sleep(0.4)
    stop = threading.Event()

    def live(i: int) -> int:
        count = 0
        while not stop.is_set():
            status, body, _ = fetch(f"{base}/incr/n?sid=live-{i}")
            assert status == 200, body
            count += 1
        return count

    with ThreadPoolExecutor(5) as pool:
        runs = [pool.submit(live, i) for i in range(4)]
        deleted = 0
        for _ in range(5):
            status, body, _ = fetch(f"{base}/gc")
            assert status == 200, body
            deleted += int(body)
        stop.set()
        counts = [run.result(timeout=60) for run in runs]
    assert deleted == 20
    for i in range(4):
        assert values(base, f"live-{i}") == {"x": str(i), "n": counts[i]}
    # An expired ID presented again starts afresh: nothing was resurrected.
    status, body, _ = fetch(f"{base}/get?sid=dying-0")
    assert json.loads(body) == {"result": "new", "values": {}}
    assert orphans(database_url) == 0


def test_end_racing_saves_stays_ended(gunicorn: t.Callable[..., str], database_url: str) -> None:
    base = server(gunicorn, database_url, "threads")
    sid = "ending"
    fetch(f"{base}/set/x/1?sid={sid}")
    with ThreadPoolExecutor(6) as pool:
        saves = [pool.submit(fetch, f"{base}/incr/y?sid={sid}") for _ in range(10)]
        ended = pool.submit(fetch, f"{base}/end?sid={sid}")
        assert ended.result()[0] == 200
        assert {s.result()[0] for s in saves} == {200}
    # Saves that loaded the session before the end wrote nothing after it; a
    # save that started after it began a new session under the explicit ID.
    status, body, _ = fetch(f"{base}/get?sid={sid}")
    assert status == 200
    data = json.loads(body)
    assert "x" not in data["values"]
    assert orphans(database_url) == 0
