"""The cache in front of SQL (SPEC section 11): what a request sends to SQL
and to the cache, and what the cache serves after each kind of write."""

from __future__ import annotations

import datetime
import json
import typing as t
import uuid

import pytest
import redis
import sqlalchemy as sa
from flask import Flask
from flask import g
from flask import jsonify
from flask import request
from flask.typing import ResponseReturnValue
from markupsafe import Markup

from flask_namedsessions import session_start
from flask_namedsessions import SessionStoreError
from flask_namedsessions.extension import get_state
from tests.cache_support import add_views
from tests.cache_support import cache_url  # noqa: F401 - fixture
from tests.cache_support import cached_app  # noqa: F401 - fixture
from tests.cache_support import count_cache

TEN = [f"v{i}" for i in range(10)]


@pytest.fixture
def app(cached_app: t.Callable[..., Flask]) -> Flask:  # noqa: F811
    app = cached_app()
    add_views(app, {var: var for var in TEN})
    return app


def read(client: t.Any, sid: str) -> dict[str, t.Any]:
    response = client.get(f"/read?sid={sid}")
    assert response.status_code == 200
    return t.cast(dict[str, t.Any], json.loads(response.text))


def test_read_only_request_on_cached_session_sends_no_sql(app: Flask, sql_count: t.Any) -> None:
    client = app.test_client()
    sid = client.get("/create").text
    log = sql_count(app)
    cache = count_cache(app)
    assert read(client, sid)["result"] == "load"  # a miss: SQL, then the fill
    assert (log.count, cache.count) == (1, 2)
    log.reset()
    cache.reset()
    for _ in range(3):
        found = read(client, sid)
        assert found["result"] == "load"
        assert found["values"] == {v: v for v in TEN}
    assert (log.count, cache.count) == (0, 3)


def test_change_of_one_variable_updates_the_entry(app: Flask, sql_count: t.Any) -> None:
    client = app.test_client()
    sid = client.get("/create").text
    read(client, sid)
    log = sql_count(app)
    cache = count_cache(app)
    client.get(f"/set/v3/changed?sid={sid}")
    # read, announce, then the update after the commit
    assert (len(log.writes), cache.count) == (1, 3)
    log.reset()
    cache.reset()
    assert read(client, sid)["values"]["v3"] == "changed"
    assert (log.count, cache.count) == (0, 1)


def test_removed_variable_leaves_the_entry(app: Flask, sql_count: t.Any) -> None:
    client = app.test_client()
    sid = client.get("/create").text
    read(client, sid)
    client.get(f"/remove/v3?sid={sid}")
    log = sql_count(app)
    assert "v3" not in read(client, sid)["values"]
    assert log.count == 0


def test_touch_keeps_its_interval_and_idle_expiry_stays_exact(
    app: Flask, sql_count: t.Any, clock: t.Any
) -> None:
    client = app.test_client()
    sid = client.get("/create").text
    read(client, sid)
    log = sql_count(app)
    clock.advance(30)
    read(client, sid)
    assert log.count == 0  # no touch due yet
    clock.advance(31)
    read(client, sid)
    assert len(log.writes) == 1  # the touch, as without the cache
    log.reset()
    read(client, sid)
    assert log.count == 0  # and the entry carries the new expiry
    clock.advance(15 * 60 - 1)
    assert read(client, sid)["result"] == "load"
    clock.advance(15 * 60 + 1)
    assert read(client, sid)["result"] == "expire"


def test_absolute_timeout_holds_on_cached_sessions(
    cached_app: t.Callable[..., Flask],  # noqa: F811
    sql_count: t.Any,
    clock: t.Any,
) -> None:
    app = cached_app(NAMEDSESSIONS_ABSOLUTE_TIMEOUT=20)
    add_views(app, {var: var for var in TEN})
    client = app.test_client()
    sid = client.get("/create").text
    read(client, sid)
    for _ in range(3):  # kept alive by requests, touched now and then
        clock.advance(6 * 60)
        assert read(client, sid)["result"] == "load"
    log = sql_count(app)
    clock.advance(60 + 59)  # 19:59 after its creation
    assert read(client, sid)["result"] == "load"
    assert read(client, sid)["result"] == "load"
    assert log.count == 1  # the touch; then read from the cache
    clock.advance(2)
    assert read(client, sid)["result"] == "expire"
    assert read(client, sid)["result"] == "new"


RICH = {
    "int": 1,
    "float": 1.0,
    "bool": True,
    "none": None,
    "big": 10**30,
    "tuple": (1, (2,), [3]),
    "bytes": b"\x00\xff",
    "when": datetime.datetime(2020, 2, 29, 23, 59, 59, 999999, tzinfo=datetime.timezone.utc),
    "markup": Markup("<b>&amp;</b>"),
    "uuid": uuid.UUID(int=7),
    "nested": {"a": {"b": [1, (2.5,), {"c": None, "d": "\x00é\U0001f600"}]}},
}


def test_values_round_trip_exactly_through_the_cache(
    cached_app: t.Callable[..., Flask],  # noqa: F811
    sql_count: t.Any,
) -> None:
    """Types and values alike, whether read from SQL, from an entry filled
    from SQL, or from one a save updated field by field."""
    app = cached_app()

    @app.route("/rich")
    def rich() -> ResponseReturnValue:
        s = session_start("rich", id=request.args.get("sid"), use_none=True)
        if request.args.get("write"):
            for var, value in RICH.items():
                s[var] = value if request.args["write"] == "1" else "x"
        got = {var: s.get(var) for var in RICH}
        wrong = [var for var in RICH if (type(got[var]), got[var]) != (type(RICH[var]), RICH[var])]
        return jsonify(id=s.id, wrong=wrong)

    client = app.test_client()

    def wrong(query: str) -> list[str]:
        return t.cast(list[str], client.get(f"/rich?{query}").json["wrong"])  # type: ignore[index]

    sid = client.get("/rich?write=1").json["id"]  # type: ignore[index]
    assert wrong(f"sid={sid}") == []  # from SQL, then filled
    log = sql_count(app)
    assert wrong(f"sid={sid}") == []  # from the entry
    assert log.count == 0
    client.get(f"/rich?sid={sid}&write=x")
    assert wrong(f"sid={sid}&write=1") == []
    log.reset()
    assert wrong(f"sid={sid}") == []  # from the entry a save updated
    assert log.count == 0


def test_ended_session_is_not_served(app: Flask) -> None:
    client = app.test_client()
    sid = client.get("/create").text
    read(client, sid)
    client.get(f"/end?sid={sid}")
    assert read(client, sid)["result"] == "new"


def test_regenerated_id_leaves_the_old_one_unserved(app: Flask) -> None:
    client = app.test_client()
    sid = client.get("/create").text
    read(client, sid)
    new = client.get(f"/regenerate?sid={sid}").text
    assert read(client, sid)["result"] == "new"
    assert read(client, new)["values"]["v1"] == "v1"


def test_rotated_session_loads_by_both_ids_within_grace(
    make_app: t.Callable[..., Flask],
    cache_url: str,  # noqa: F811
    clock: t.Any,
) -> None:
    app = make_app(NAMEDSESSIONS_CACHE_URL=cache_url)

    @app.route("/c")
    def c() -> ResponseReturnValue:
        s = session_start("c", rotate=request.args.get("rotate") == "1")
        if request.args.get("set"):
            s["n"] = request.args["set"]
        return jsonify(result=s.result, id=s.id, n=s.get("n"))

    client = app.test_client()
    old = client.get("/c?set=1").json["id"]  # type: ignore[index]
    client.get("/c")  # cached
    rotated = client.get("/c?rotate=1").json
    assert rotated["result"] == "rotate"  # type: ignore[index]
    other = app.test_client()
    other.set_cookie("session_c", old)
    within = other.get("/c").json
    assert within["id"] == rotated["id"] and within["n"] == "1"  # type: ignore[index]
    clock.advance(6)
    late = app.test_client()
    late.set_cookie("session_c", old)
    assert late.get("/c").json["result"] == "new"  # type: ignore[index]


def test_revoked_sessions_are_not_served(app: Flask) -> None:
    client = app.test_client()
    sid = client.get("/create").text
    client.get(f"/bind/ada?sid={sid}")
    read(client, sid)
    assert client.get("/revoke/ada").text == "1"
    assert read(client, sid)["result"] == "new"


def test_revocation_whose_end_went_unseen_is_not_served(app: Flask) -> None:
    """The connection drops after the DELETE of ``end_user_sessions`` went
    through: the caller gets the error, a second call finds nothing left to
    end, and the sessions must not live on in the cache."""
    client = app.test_client()
    sid = client.get("/create").text
    client.get(f"/bind/ada?sid={sid}")
    assert read(client, sid)["values"]["v1"] == "v1"  # cached
    engine = get_state(app).store.engine
    dropped: list[str] = []

    def drop(conn: t.Any, cursor: t.Any, statement: str, *args: t.Any) -> None:
        if statement.lstrip().upper().startswith("DELETE") and not dropped:
            dropped.append(statement)
            if cursor.description:
                cursor.fetchall()
            conn.connection.dbapi_connection.commit()  # it went through
            raise sa.exc.OperationalError(statement, None, OSError("connection lost"), True)

    sa.event.listen(engine, "after_cursor_execute", drop)
    try:
        with pytest.raises(SessionStoreError):
            client.get("/revoke/ada")
    finally:
        sa.event.remove(engine, "after_cursor_execute", drop)
    assert dropped
    assert client.get("/revoke/ada").text == "0"  # it went through
    assert read(client, sid)["result"] == "new"


def test_cleaned_session_is_not_served(app: Flask, clock: t.Any, sql_count: t.Any) -> None:
    client = app.test_client()
    sid = client.get("/create").text
    read(client, sid)
    clock.advance(15 * 60 + 1)
    assert client.get("/cleanup").text == "1"
    assert read(client, sid)["result"] == "new"


def test_flushed_cache_falls_back_to_sql(app: Flask, cache_url: str) -> None:  # noqa: F811
    client = app.test_client()
    sid = client.get("/create").text
    read(client, sid)
    redis.Redis.from_url(cache_url).flushdb()
    assert read(client, sid)["values"]["v2"] == "v2"
    client.get(f"/set/v2/x?sid={sid}")
    assert read(client, sid)["values"]["v2"] == "x"


def test_user_binding_reaches_the_entry(app: Flask) -> None:
    client = app.test_client()
    sid = client.get("/create").text
    read(client, sid)
    client.get(f"/bind/ada?sid={sid}")
    with app.test_request_context(f"/?sid={sid}"):
        assert session_start("cart", id=sid, use_none=True).user == "ada"
    assert get_state(app).store.cache is not None  # type: ignore[attr-defined]


def test_cache_key_is_the_lookup_key_never_the_id(app: Flask, cache_url: str) -> None:  # noqa: F811
    client = app.test_client()
    sid = client.get("/create").text
    read(client, sid)
    keys = redis.Redis.from_url(cache_url, decode_responses=True).keys("*")
    assert keys and not any(sid in key for key in keys)
    assert g is not None


def test_apps_with_tables_of_their_own_share_a_cache(
    cached_app: t.Callable[..., Flask],  # noqa: F811
) -> None:
    """A session of one app, presented to another with other tables on the
    same cache and cache prefix, is unknown there, as it is in its SQL."""
    apps = [cached_app(NAMEDSESSIONS_TABLE_PREFIX=p) for p in ("shop_", "blog_")]
    for each in apps:
        add_views(each, {var: var for var in TEN})
    shop, blog = (each.test_client() for each in apps)
    sid = shop.get("/create").text
    assert read(shop, sid)["values"]["v1"] == "v1"
    assert read(shop, sid)["values"]["v1"] == "v1"
    assert read(blog, sid)["result"] == "new"


@pytest.mark.parametrize("path", ["/end", "/regenerate", "/set/v1/x", "/remove/v1"])
def test_write_costs_three_cache_round_trips(app: Flask, path: str) -> None:
    client = app.test_client()
    sid = client.get("/create").text
    read(client, sid)
    cache = count_cache(app)
    assert client.get(f"{path}?sid={sid}").status_code == 200
    assert cache.count == 3  # read, announce, and the update after the commit


def test_ending_a_users_sessions_costs_a_select_and_two_round_trips(
    app: Flask, sql_count: t.Any
) -> None:
    client = app.test_client()
    for _ in range(2):
        sid = client.get("/create").text
        client.get(f"/bind/ada?sid={sid}")
    cache = count_cache(app)
    log = sql_count(app)
    assert client.get("/revoke/ada").text == "2"
    assert cache.count == 2  # announce, and the removal after the commit
    assert [s.split(None, 1)[0].upper() for s in log.statements][:2] == ["SELECT", "DELETE"]


def test_miss_on_unknown_id_costs_one_round_trip_and_one_select(
    app: Flask, sql_count: t.Any
) -> None:
    log = sql_count(app)
    cache = count_cache(app)
    assert read(app.test_client(), "unknown-id")["result"] == "new"
    assert (log.count, cache.count) == (1, 1)


def test_new_session_costs_two_cache_round_trips(app: Flask) -> None:
    cache = count_cache(app)
    assert app.test_client().get("/create").status_code == 200
    assert cache.count == 2  # announce, and the removal after the commit
