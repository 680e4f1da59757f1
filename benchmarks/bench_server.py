"""Read-only requests per second through gunicorn (2 workers) under wrk.

Run: ``python benchmarks/bench_server.py [--seconds 5]`` (needs ``wrk`` from
Debian's packages). Serves (b) one SELECT by key, (d) Flask-Session's
SQLAlchemy backend with its defaults and with refresh off, and (e) ours, each
read-only with ten values, on PostgreSQL (``BENCH_POSTGRESQL_URL``), and loads
them from 127.0.0.1 with 4 connections.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import bench_apps

HERE = Path(__file__).resolve().parent
PG_URL = os.environ.get("BENCH_POSTGRESQL_URL", "postgresql+psycopg://postgres@127.0.0.1/test")
CASES = {
    "(b) Flask + one SELECT by key": ("server_apps:floor()", "/", None),
    "(d) Flask-Session, defaults": ("server_apps:flask_session('1')", "/", "/set"),
    "(d') Flask-Session, refresh off": ("server_apps:flask_session('0')", "/", "/set"),
    "(e) ours, read-only": ("server_apps:ours()", "/", "/set"),
}


def serve(app: str, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "BENCH_DATABASE_URL": PG_URL}
    command = [sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}", app]
    process = subprocess.Popen(command, cwd=HERE, env=env, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
            break
        except OSError:
            time.sleep(0.1)
    return process


def load(url: str, headers: list[str], seconds: int) -> float:
    """Requests per second that ``wrk`` sustains on ``url``; every response
    must be a success, or the number would flatter a failing case."""
    command = ["wrk", "-t", "2", "-c", "4", "-d", f"{seconds}s", *headers, url]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in out or "Socket errors" in out:
        raise SystemExit(f"{url}: failed requests under load\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=5)
    args = parser.parse_args()
    results = {}
    bench_apps.one_select(PG_URL)[1].dispose()  # the floor's table, once for all workers
    for port, (name, (app, path, setter)) in enumerate(CASES.items(), start=18300):
        process = serve(app, port)
        try:
            headers = []
            if setter:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{setter}") as response:
                    cookies = [c.split(";", 1)[0] for c in response.headers.get_all("Set-Cookie")]
                headers = ["-H", "Cookie: " + "; ".join(cookies)]
            url = f"http://127.0.0.1:{port}{path}"
            load(url, headers, 1)  # warm up: connections, caches, the first worker forks
            results[name] = load(url, headers, args.seconds)
        finally:
            process.terminate()
            process.wait()
    floor = results["(b) Flask + one SELECT by key"]
    fs = results["(d) Flask-Session, defaults"]
    fs_off = results["(d') Flask-Session, refresh off"]
    print("| case (gunicorn -w 2, wrk -c 4) | req/s | vs (b) | vs (d) | vs (d') |")
    print("|---|---:|---:|---:|---:|")
    for name, value in results.items():
        ratios = " | ".join(f"{value / base:.2f}x" for base in (floor, fs, fs_off))
        print(f"| {name} | {value:,.0f} | {ratios} |")


if __name__ == "__main__":
    main()
