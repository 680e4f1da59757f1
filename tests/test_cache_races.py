"""The cache under races, with deterministic interleavings: a thread is held
at a chosen point of its SQL (see :class:`~tests.cache_support.Hold`) while
other requests run to the end, on each database, against a real Redis.

What must hold: no read that starts after a save has returned sees older
data; two saves of different variables both stay visible; no ended, revoked,
regenerated, rotated or cleaned session comes back from the cache."""

from __future__ import annotations

import json
import typing as t

import pytest
import redis
from flask import Flask
from flask import jsonify
from flask import request
from flask.typing import ResponseReturnValue

from flask_namedsessions import session_start
from tests.cache_support import add_views
from tests.cache_support import Background
from tests.cache_support import cache_url  # noqa: F401 - fixture
from tests.cache_support import cached_app  # noqa: F401 - fixture
from tests.cache_support import Hold


@pytest.fixture
def apps(cached_app: t.Callable[..., Flask]) -> tuple[Flask, Flask]:  # noqa: F811
    """Two apps on one database and one cache: two workers."""
    pair = cached_app(), cached_app()
    for app in pair:
        add_views(app, {"a": "a0", "b": "b0"})
    return pair


def read(app: Flask, sid: str) -> dict[str, t.Any]:
    response = app.test_client().get(f"/read?sid={sid}")
    assert response.status_code == 200
    return t.cast(dict[str, t.Any], json.loads(response.text))


def held(app: Flask, point: str) -> Hold:
    return Hold(app, "held", point)


@pytest.fixture
def holds() -> t.Iterator[list[Hold]]:
    found: list[Hold] = []
    yield found
    for hold in found:
        hold.remove()


def test_fill_from_before_a_save_is_refused(apps: tuple[Flask, Flask], holds: list[Hold]) -> None:
    one, two = apps
    sid = one.test_client().get("/create").text
    hold = held(one, "select")
    holds.append(hold)
    reader = Background(one.test_client(), f"/read?sid={sid}", "held")
    assert hold.reached.wait(10)  # missed, read SQL, not yet filled
    two.test_client().get(f"/set/a/a1?sid={sid}")
    hold.release()
    assert reader.join().json["values"]["a"] == "a0"  # it began before the save
    for app in (one, two, one):
        assert read(app, sid)["values"] == {"a": "a1", "b": "b0"}


def test_saves_of_different_variables_both_stay(
    apps: tuple[Flask, Flask], holds: list[Hold], sql_count: t.Any
) -> None:
    one, two = apps
    sid = one.test_client().get("/create").text
    read(one, sid)  # cached
    hold = held(one, "committed")
    holds.append(hold)
    writer = Background(one.test_client(), f"/set/a/a1?sid={sid}", "held")
    assert hold.reached.wait(10)  # committed, cache not yet updated
    two.test_client().get(f"/set/b/b1?sid={sid}")
    assert read(two, sid)["values"] == {"a": "a1", "b": "b1"}
    hold.release()
    writer.join()
    for app in (one, two):
        assert read(app, sid)["values"] == {"a": "a1", "b": "b1"}
    # one after the other, both land in the entry: read without SQL
    two.test_client().get(f"/set/a/a2?sid={sid}")
    one.test_client().get(f"/set/b/b2?sid={sid}")
    log = sql_count(two)
    assert read(two, sid)["values"] == {"a": "a2", "b": "b2"}
    assert log.count == 0


def test_same_variable_keeps_the_last_commit(apps: tuple[Flask, Flask], holds: list[Hold]) -> None:
    one, two = apps
    sid = one.test_client().get("/create").text
    read(one, sid)
    hold = held(one, "committed")
    holds.append(hold)
    writer = Background(one.test_client(), f"/set/a/first?sid={sid}", "held")
    assert hold.reached.wait(10)
    two.test_client().get(f"/set/a/second?sid={sid}")
    hold.release()  # the first commit's cache update comes last
    writer.join()
    for app in (one, two, one):
        assert read(app, sid)["values"]["a"] == "second"


def test_read_while_a_save_is_in_flight_uses_sql(
    apps: tuple[Flask, Flask], holds: list[Hold], sql_count: t.Any
) -> None:
    one, two = apps
    sid = one.test_client().get("/create").text
    read(two, sid)
    hold = held(one, "committed")
    holds.append(hold)
    writer = Background(one.test_client(), f"/set/a/a1?sid={sid}", "held")
    assert hold.reached.wait(10)
    log = sql_count(two)
    assert read(two, sid)["values"]["a"] == "a1"  # committed: SQL has it
    assert log.count == 1
    hold.release()
    writer.join()


def _refill_after(apps: tuple[Flask, Flask], holds: list[Hold], sid: str, url: str) -> t.Any:
    """Hold a reader of ``sid`` between its SQL read and its fill while
    ``url`` runs to the end in the other app, then let the reader fill."""
    one, two = apps
    hold = held(one, "select")
    holds.append(hold)
    reader = Background(one.test_client(), f"/read?sid={sid}", "held")
    assert hold.reached.wait(10)
    response = two.test_client().get(url)
    hold.release()
    assert reader.join().json["result"] == "load"
    return response


def test_ended_session_does_not_come_back(apps: tuple[Flask, Flask], holds: list[Hold]) -> None:
    sid = apps[0].test_client().get("/create").text
    _refill_after(apps, holds, sid, f"/end?sid={sid}")
    for app in apps:
        assert read(app, sid)["result"] == "new"


def test_regenerated_id_does_not_come_back(apps: tuple[Flask, Flask], holds: list[Hold]) -> None:
    sid = apps[0].test_client().get("/create").text
    new = _refill_after(apps, holds, sid, f"/regenerate?sid={sid}").text
    for app in apps:
        assert read(app, sid)["result"] == "new"
        assert read(app, new)["values"]["a"] == "a0"


def test_revoked_session_does_not_come_back(
    apps: tuple[Flask, Flask],
    holds: list[Hold],
    cache_url: str,  # noqa: F811
) -> None:
    sid = apps[0].test_client().get("/create").text
    apps[0].test_client().get(f"/bind/ada?sid={sid}")
    redis.Redis.from_url(cache_url).flushdb()  # the reader must miss
    assert _refill_after(apps, holds, sid, "/revoke/ada").text == "1"
    for app in apps:
        assert read(app, sid)["result"] == "new"


def test_cleaned_session_does_not_come_back(
    apps: tuple[Flask, Flask], holds: list[Hold], clock: t.Any
) -> None:
    sid = apps[0].test_client().get("/create").text
    one, two = apps
    hold = held(one, "select")
    holds.append(hold)
    reader = Background(one.test_client(), f"/read?sid={sid}", "held")
    assert hold.reached.wait(10)
    clock.advance(15 * 60 + 1)
    assert two.test_client().get("/cleanup").text == "1"
    hold.release()
    reader.join()
    for app in apps:
        assert read(app, sid)["result"] == "new"


def test_rotated_id_does_not_come_back(
    cached_app: t.Callable[..., Flask],  # noqa: F811
    holds: list[Hold],
    clock: t.Any,
) -> None:
    one, two = cached_app(), cached_app()
    for app in (one, two):

        @app.route("/c")
        def c() -> ResponseReturnValue:
            s = session_start("c", rotate=request.args.get("rotate") == "1")
            if request.args.get("set"):
                s["n"] = request.args["set"]
            return jsonify(result=s.result, id=s.id, n=s.get("n"))

    first = one.test_client()
    old = first.get("/c?set=1").json["id"]  # type: ignore[index]
    hold = held(one, "select")
    holds.append(hold)
    reader_client = one.test_client()
    reader_client.set_cookie("session_c", old)
    reader = Background(reader_client, "/c", "held")
    assert hold.reached.wait(10)
    rotator = two.test_client()
    rotator.set_cookie("session_c", old)
    new = rotator.get("/c?rotate=1").json["id"]  # type: ignore[index]
    hold.release()
    reader.join()
    within = one.test_client()
    within.set_cookie("session_c", old)
    assert within.get("/c").json["id"] == new  # type: ignore[index]
    clock.advance(6)
    for app in (one, two):
        late = app.test_client()
        late.set_cookie("session_c", old)
        assert late.get("/c").json["result"] == "new"  # type: ignore[index]
