"""A PostgreSQL primary stopped under traffic and its synchronous standby
promoted: the app finds the new primary through its multi-host URL, without
a restart, and no save it acknowledged is lost.

This test leaves the pair rebuilt (the ``postgresql_pair`` fixture), so it
may run in any order and again.
"""

from __future__ import annotations

import typing as t

import pytest

from tests.cluster.servers import clusters
from tests.cluster.servers import measured
from tests.cluster.traffic import Traffic
from tests.server.test_concurrency import APP

pytestmark = pytest.mark.cluster


@pytest.mark.cluster(timeout=120)
def test_failover_to_synchronous_standby_loses_no_acknowledged_save(
    gunicorn: t.Callable[..., str], postgresql_pair: str
) -> None:
    env = {"NAMEDSESSIONS_DATABASE_URI": postgresql_pair}
    bases = [gunicorn(APP, env, workers=1, threads=2) for _ in range(2)]
    with Traffic(bases, browsers=3, tabs=2) as traffic:
        traffic.run_for(3)
        clusters("postgresql-stop-primary")
        stopped = traffic.tally.now()
        traffic.run_for(1)
        clusters("postgresql-promote")
        promoted = traffic.tally.now()
        traffic.run_for(5)
    traffic.verify(bases[0])
    tally = traffic.tally
    recovered = max(tally.first_success(i, after=promoted) for i in range(len(bases)))
    measured(
        f"PostgreSQL, primary stopped at {stopped:.1f} s, standby promoted at"
        f" {promoted:.1f} s: {tally.summary()}; every instance succeeded again"
        f" {recovered:.2f} s after the promotion"
    )
    assert tally.problems == []
    assert all(a.ok for a in tally.answers if a.at < stopped)
    assert recovered < 5
