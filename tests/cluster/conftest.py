"""The replicated servers that ``.ci/clusters start`` runs, and what the
cluster tests need of them.

Without them the tests skip, saying how to start them; with
``NAMEDSESSIONS_TEST_CLUSTERS`` set (as ``.ci/run`` does) they fail instead.
Every test has a time limit (``pytest.mark.cluster(timeout=...)``, else
:data:`TIME_LIMIT`), and the numbers they measure are printed at the end
of the run.
"""

from __future__ import annotations

import os
import signal
import typing as t

import pytest

from tests.cluster.servers import clusters
from tests.cluster.servers import galera_problem
from tests.cluster.servers import GALERA_URLS
from tests.cluster.servers import MEASURED
from tests.cluster.servers import PG_PRIMARY
from tests.cluster.servers import PG_STANDBY
from tests.cluster.servers import PG_URL
from tests.cluster.servers import postgresql_problem
from tests.cluster.servers import TIME_LIMIT
from tests.conftest import clean_tables
from tests.conftest import fresh_schema


def pytest_terminal_summary(terminalreporter: t.Any) -> None:
    if MEASURED:
        terminalreporter.section("cluster measurements")
        for line in MEASURED:
            terminalreporter.write_line(line)


def _unavailable(what: str, problem: str) -> t.NoReturn:
    if os.environ.get("NAMEDSESSIONS_TEST_CLUSTERS"):
        pytest.fail(
            f"{what} is not ready ({problem}); .ci/run starts it with `.ci/clusters start`",
            pytrace=False,
        )
    pytest.skip(
        f"{what} is not running ({problem}): start it with `.ci/clusters start`"
        " (set NAMEDSESSIONS_TEST_CLUSTERS to fail instead of skipping)"
    )


@pytest.fixture
def galera() -> t.Iterator[list[str]]:
    """The URLs of the three Galera nodes, session tables emptied."""
    problem = galera_problem()
    if problem:
        _unavailable("the Galera cluster on 3311-3313", problem)
    fresh_schema(GALERA_URLS[0])
    clean_tables(GALERA_URLS[0])
    yield GALERA_URLS
    # A test that stopped a node restarts it; this catches one that failed to.
    if galera_problem():
        clusters("start")
    clean_tables(GALERA_URLS[0])


@pytest.fixture
def postgresql_pair() -> t.Iterator[str]:
    """The multi-host URL of the PostgreSQL primary and standby, session
    tables emptied. A test that fails over leaves the pair rebuilt."""
    problem = postgresql_problem()
    if problem:
        _unavailable(f"the PostgreSQL pair on {PG_PRIMARY}/{PG_STANDBY}", problem)
    fresh_schema(PG_URL)
    clean_tables(PG_URL)
    yield PG_URL
    if postgresql_problem():
        clusters("postgresql")
    clean_tables(PG_URL)


@pytest.fixture(autouse=True)
def time_limit(request: pytest.FixtureRequest) -> t.Iterator[None]:
    """Fail a test, and let its fixtures clean up, once it has run too long."""
    marker = request.node.get_closest_marker("cluster")
    seconds = (marker.kwargs.get("timeout") if marker else None) or TIME_LIMIT

    def expire(signum: int, frame: t.Any) -> None:
        pytest.fail(f"{request.node.nodeid} took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
