"""A save runs to the same end whether it runs once or twice.

A save whose connection drops during its ``COMMIT`` cannot tell whether the
database committed it, and runs again: that is safe only if running a save
plan a second time, after the first committed, changes nothing and reports
the same. Each step below runs on two visitors, one whose saves run once and
one whose saves run twice, and the stored sessions must look alike.
"""

from __future__ import annotations

import typing as t

import sqlalchemy as sa
from flask import Flask
from flask import g

from flask_namedsessions import ids
from flask_namedsessions import session_start
from flask_namedsessions.extension import get_state
from flask_namedsessions.rows import SaveOutcome
from flask_namedsessions.rows import SavePlan
from tests.conftest import Clock


def replay_app(make_app: t.Callable[..., Flask], twice: bool) -> tuple[Flask, list[t.Any]]:
    """An app whose saves run twice if ``twice``; the list gets each save's
    outcomes (both runs' when twice)."""
    app = make_app(NAMEDSESSIONS_TOUCH_INTERVAL=60, NAMEDSESSIONS_ROTATE_GRACE=5)
    store = get_state(app).store
    real = store.save
    outcomes: list[t.Any] = []

    def save(plans: list[SavePlan]) -> dict[str, SaveOutcome]:
        result = real(plans)
        if twice:
            # the retry of a save whose COMMIT went through unseen
            again = real(plans)
            outcomes.append((result, again))
            return again
        outcomes.append((result, result))
        return result

    store.save = save  # type: ignore[method-assign]

    @app.route("/set/<a>/<b>")
    def set_(a: str, b: str) -> str:
        s = session_start("cart")
        s["a"] = a
        s["b"] = b
        return ""

    @app.route("/change")
    def change() -> str:
        s = session_start("cart")
        s["a"] = "changed"
        s.remove_var("b")
        return ""

    @app.route("/get")
    def get() -> str:
        session_start("cart")
        return f"{getattr(g, 'a', None)} {getattr(g, 'b', None)}"

    @app.route("/rotate")
    def rotate() -> str:
        return session_start("cart", rotate=True).result

    @app.route("/regenerate")
    def regenerate() -> str:
        session_start("cart").regenerate_id()
        return ""

    return app, outcomes


def cookie(client: t.Any) -> str | None:
    found = client.get_cookie("session_cart")
    return None if found is None else str(found.value)


def picture(app: Flask, session_id: str, old_id: str | None) -> dict[str, t.Any]:
    """The stored session of ``session_id`` as what it means: its values,
    its times relative to its last touch, which keys open it."""
    with app.app_context():
        store = get_state(app).store
        s, v = store.tables.sessions, store.tables.variables
        with store.engine.connect() as conn:
            rows = conn.execute(sa.select(s)).all()
            assert len(rows) == 1
            row = rows[0]
            values = conn.execute(sa.select(v.c.name, v.c.value).order_by(v.c.name)).all()
    return {
        "values": dict(map(tuple, values)),
        "key is the cookie's": row.key == ids.lookup_key("cart", session_id),
        "old key": None if row.old_key is None else row.old_key == ids.lookup_key("cart", old_id),
        "grace": None if row.old_key_until is None else row.old_key_until - row.touched_at,
        "successor": row.successor is not None,
        "expires": row.expires_at - row.touched_at,
        "expires_min": row.expires_min,
    }


def test_a_save_run_twice_ends_as_once(make_app: t.Callable[..., Flask], clock: Clock) -> None:
    pictures: dict[bool, list[t.Any]] = {}
    for twice in (False, True):
        app, outcomes = replay_app(make_app, twice)
        client = app.test_client()
        steps = []
        old_id = None
        for path, advance in [
            ("/set/1/2", 0),
            ("/change", 0),
            ("/get", 120),  # a touch is due
            ("/rotate", 0),
            ("/get", 0),
            ("/regenerate", 0),
            ("/get", 0),
        ]:
            clock.advance(advance)
            before = cookie(client)
            response = client.get(path)
            assert response.status_code == 200
            session_id = cookie(client)
            assert session_id is not None
            if session_id != before:
                old_id = before
            steps.append((path, response.text, picture(app, session_id, old_id)))
        for first, again in outcomes:
            assert first == again == {"cart": SaveOutcome()}
        assert len(outcomes) == 5  # the reads that were not due a touch save nothing
        pictures[twice] = steps
        with app.app_context():
            get_state(app).store.dispose()
            with get_state(app).store.engine.begin() as conn:
                conn.execute(get_state(app).store.tables.variables.delete())
                conn.execute(get_state(app).store.tables.sessions.delete())
    assert pictures[True] == pictures[False]
    rotated = pictures[True][3][2]
    assert rotated["old key"] is True and rotated["grace"] == 5000 and rotated["successor"]
    regenerated = pictures[True][5][2]
    assert regenerated["old key"] is None and not regenerated["successor"]
    assert pictures[True][-1][1] == "changed None"
