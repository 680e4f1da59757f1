"""App factories for ``bench_server.py``, served by gunicorn.

Each reads the database URL from ``BENCH_DATABASE_URL``.
"""

from __future__ import annotations

import os

import bench_apps
from flask import Flask


def _url() -> str:
    return os.environ["BENCH_DATABASE_URL"]


def floor() -> Flask:
    return bench_apps.one_select(_url(), fill=False)[0]


def flask_session(refresh: str = "0") -> Flask:
    return bench_apps.flask_session(_url(), refresh=refresh == "1")[0]


def ours() -> Flask:
    return bench_apps.ours(_url())
