"""One cleaner at a time, by the cleanup lease: a second one skips quietly,
a lease whose holder died lapses, and the cleanup still deletes everything,
batch by batch."""

from __future__ import annotations

import threading
import typing as t

from flask import Flask

from flask_namedsessions import session_delete_expired
from flask_namedsessions import session_start
from flask_namedsessions.cleanup import Cleanup
from flask_namedsessions.cleanup import LEASE_MS
from flask_namedsessions.extension import get_state
from tests.conftest import Clock


def expired_app(
    make_app: t.Callable[..., Flask], clock: Clock, count: int, **config: t.Any
) -> Flask:
    """An app with ``count`` expired sessions and one live one."""
    app = make_app(**config)

    @app.route("/short")
    def short() -> str:
        session_start("cart", expires=1)["x"] = 1
        return ""

    @app.route("/long")
    def long() -> str:
        session_start("prefs")["y"] = 1
        return ""

    for _ in range(count):
        app.test_client().get("/short")
    clock.advance(120)
    app.test_client().get("/long")
    return app


def cleanup(app: Flask, batch_size: int = 1000) -> Cleanup:
    state = get_state(app)
    return Cleanup(state.store, state.clock, batch_size, 0.0)


def expired(app: Flask) -> int:
    with app.app_context():
        return get_state(app).store.count_expired(get_state(app).clock())


def test_second_cleaner_skips_while_the_first_holds_the_lease(
    make_app: t.Callable[..., Flask], clock: Clock
) -> None:
    app = expired_app(make_app, clock, 3)
    runner = app.test_cli_runner()
    with app.app_context(), cleanup(app) as first:
        assert first.held
        result = runner.invoke(args=["namedsessions", "delete-expired"])
        assert (result.exit_code, result.output) == (0, "Another cleanup is running; skipped.\n")
        assert session_delete_expired() == 0
        assert cleanup(app).run() is None
        assert expired(app) == 3
    result = runner.invoke(args=["namedsessions", "delete-expired"])
    assert result.output == "Deleted 3 expired sessions.\n"
    assert expired(app) == 0


def test_request_cleanup_skips_while_the_lease_is_held(
    make_app: t.Callable[..., Flask], clock: Clock
) -> None:
    app = expired_app(make_app, clock, 2, NAMEDSESSIONS_GC_PROBABILITY=1.0)
    client = app.test_client()
    with cleanup(app) as first:
        assert first.held
        client.get("/long").close()
        assert expired(app) == 2
    client.get("/long").close()
    assert expired(app) == 0


def test_cleaners_starting_at_once_leave_one_holder(
    make_app: t.Callable[..., Flask], clock: Clock
) -> None:
    app = expired_app(make_app, clock, 0)
    with app.app_context():
        get_state(app).store.create_tables()
    cleaners = [cleanup(app) for _ in range(4)]
    start = threading.Barrier(len(cleaners))
    errors: list[BaseException] = []

    def take(cleaner: Cleanup) -> None:
        start.wait()
        try:
            cleaner.__enter__()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=take, args=(c,)) for c in cleaners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(c.held for c in cleaners) == 1
    for cleaner in cleaners:
        cleaner.__exit__(None, None, None)
    assert cleanup(app).run() == 0  # given back: the next one runs


def test_lease_of_a_dead_cleaner_lapses(make_app: t.Callable[..., Flask], clock: Clock) -> None:
    app = expired_app(make_app, clock, 3)
    dead = cleanup(app).__enter__()  # never given back
    assert dead.held
    assert cleanup(app).run() is None
    clock.advance(LEASE_MS / 1000 + 1)
    assert cleanup(app).run() == 3
    # the dead one, woken, has lost it: it stops without deleting
    assert list(dead.batches()) == []
    dead.__exit__(None, None, None)


def test_cleaner_that_lost_its_lease_stops_after_its_batch(
    make_app: t.Callable[..., Flask], clock: Clock
) -> None:
    app = expired_app(make_app, clock, 5)
    with cleanup(app, batch_size=2) as slow:
        batches = slow.batches()
        assert next(batches) == 2
        clock.advance(LEASE_MS / 1000 + 1)
        with cleanup(app, batch_size=2) as other:
            assert other.held
            assert list(batches) == []  # the lease went to the other one
            assert list(other.batches()) == [2, 1]
    assert expired(app) == 0


def test_cleanup_deletes_everything_in_batches(
    make_app: t.Callable[..., Flask], clock: Clock, sql_count: t.Any
) -> None:
    app = expired_app(make_app, clock, 7, NAMEDSESSIONS_CLEANUP_PAUSE=0.001)
    log = sql_count(app)
    with cleanup(app, batch_size=2) as run:
        assert list(run.batches()) == [2, 2, 2, 1]
    assert expired(app) == 0
    # take (the first time, the UPDATE finds no row and the INSERT makes it),
    # 4 batches with the lease kept between them, give back
    assert len([s for s in log.writes if "leases" in s]) == 2 + 3 + 1
    assert len([s for s in log.writes if "leases" not in s]) == 4


def test_missing_leases_table_is_named_then_created(
    make_app: t.Callable[..., Flask], clock: Clock
) -> None:
    app = expired_app(make_app, clock, 1)
    with app.app_context():
        store = get_state(app).store
        store.tables.leases.drop(store.engine)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["namedsessions", "delete-expired"])
    assert (result.exit_code, result.output) == (
        1,
        "Error: taking the cleanup lease failed: the table 'namedsessions_leases' does"
        " not exist; create the session tables with 'flask namedsessions create-tables'\n",
    )
    assert runner.invoke(args=["namedsessions", "create-tables"]).exit_code == 0
    result = runner.invoke(args=["namedsessions", "delete-expired"])
    assert result.output == "Deleted 1 expired sessions.\n"
