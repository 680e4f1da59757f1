"""The replicated servers that ``.ci/clusters start`` runs: where they
are, how to drive them, and whether they are healthy."""

from __future__ import annotations

import subprocess
import typing as t

import pytest
import sqlalchemy as sa

from tests.conftest import ROOT

CLUSTERS = ROOT / ".ci" / "clusters"
GALERA_PORTS = (3311, 3312, 3313)
GALERA_URLS = [f"mysql+pymysql://root@127.0.0.1:{p}/test?charset=utf8mb4" for p in GALERA_PORTS]
PG_PRIMARY, PG_STANDBY = 5441, 5442
#: Both servers, the writable one chosen at each connect.
PG_URL = (
    f"postgresql+psycopg://postgres@/test?host=127.0.0.1:{PG_PRIMARY}"
    f"&host=127.0.0.1:{PG_STANDBY}&target_session_attrs=read-write"
)
#: Seconds a cluster test may take, unless its marker says otherwise.
TIME_LIMIT = 120

#: What the tests measured, which the summary of the run prints.
MEASURED: list[str] = []


def measured(text: str) -> None:
    MEASURED.append(text)


def clusters(*args: str, timeout: float = 150) -> None:
    """Run ``.ci/clusters`` with ``args``; fail with its output if it fails."""
    run = subprocess.run(
        [str(CLUSTERS), *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    if run.returncode != 0:
        pytest.fail(f".ci/clusters {' '.join(args)} failed:\n{run.stderr[-3000:]}")


def query(url: str, sql: str) -> list[t.Any]:
    engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.text(sql)).all())
    finally:
        engine.dispose()


def galera_problem() -> str | None:
    """Why the Galera cluster is not three Synced nodes, or ``None``."""
    for url, port in zip(GALERA_URLS, GALERA_PORTS, strict=True):
        try:
            status = dict(query(url, "SHOW GLOBAL STATUS LIKE 'wsrep_%'"))
        except sa.exc.SQLAlchemyError as exc:
            return f"node {port}: {str(exc).splitlines()[0]}"
        if status.get("wsrep_local_state_comment") != "Synced":
            return f"node {port} is {status.get('wsrep_local_state_comment')}"
        if status.get("wsrep_cluster_size") != "3":
            return f"node {port} sees {status.get('wsrep_cluster_size')} nodes"
    return None


def postgresql_problem() -> str | None:
    """Why 5441 is not a primary with a synchronous standby on 5442 that
    applies each commit before it is acknowledged, or ``None``."""
    primary = f"postgresql+psycopg://postgres@127.0.0.1:{PG_PRIMARY}/test"
    try:
        rows = query(
            primary,
            "SELECT pg_is_in_recovery(), current_setting('synchronous_commit'),"
            " (SELECT count(*) FROM pg_stat_replication"
            "  WHERE sync_state = 'sync' AND state = 'streaming')",
        )
    except sa.exc.SQLAlchemyError as exc:
        return f"primary {PG_PRIMARY}: {str(exc).splitlines()[0]}"
    in_recovery, commit, standbys = rows[0]
    if in_recovery or commit != "remote_apply" or standbys != 1:
        return (
            f"primary {PG_PRIMARY}: in recovery {in_recovery}, synchronous_commit"
            f" {commit}, {standbys} synchronous standby"
        )
    return None


def galera_conflicts() -> int:
    """Certification failures and brute-force aborts on all nodes so far:
    the conflicts that the writers had to retry."""
    total = 0
    for url in GALERA_URLS:
        for _, value in query(
            url,
            "SHOW GLOBAL STATUS WHERE Variable_name IN"
            " ('wsrep_local_cert_failures', 'wsrep_local_bf_aborts')",
        ):
            total += int(value)
    return total
