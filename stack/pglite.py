"""TimescaleDB in PGlite, served over the PostgreSQL wire protocol: for the storage tests.

PGlite is PostgreSQL 17 compiled to WASM, here with TimescaleDB (ops/pglite, installed by
`make install`). It runs in one node process, in memory, so the Timescale path (hypertables,
continuous aggregates, policies) can be tested for real without a TimescaleDB server. Limits:
one connection at a time, no COPY FROM STDIN, no background jobs (policies exist but never run).
Connect with `connect_kwargs()`: no server-side prepared statements.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import psycopg

from core.settings import REPO_ROOT
from stack import processes

SERVER_DIR = REPO_ROOT / "ops" / "pglite"
SERVER = SERVER_DIR / "server.mjs"


def url(port: int) -> str:
    """The database URL of a PGlite server on `port` (any password; TLS off)."""
    return f"postgresql://postgres:x@127.0.0.1:{port}/postgres?sslmode=disable"


def connect_kwargs() -> dict[str, Any]:
    """Extra psycopg connect arguments PGlite needs."""
    return {"prepare_threshold": None}


def _name(port: int) -> str:
    return f"pglite-{port}"


def _can_connect(database_url: str) -> bool:
    try:
        with psycopg.connect(database_url, connect_timeout=2, **connect_kwargs()) as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError:
        return False
    return True


def start(state_dir: Path, port: int, timeout: float = 60.0) -> str:
    """Start a PGlite TimescaleDB server on 127.0.0.1:`port`; returns its URL once it answers.

    Its PID file and log (`pglite-<port>.log`) go in `state_dir`.
    """
    node = shutil.which("node")
    if node is None or not (SERVER_DIR / "node_modules").is_dir():
        raise RuntimeError("PGlite needs node and ops/pglite/node_modules: run `make install`")
    managed = processes.start(
        _name(port), [node, str(SERVER), str(port)], marker=f"{SERVER.name} {port}",
        pid_dir=state_dir, log_dir=state_dir, cwd=SERVER_DIR,
    )
    database_url = url(port)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _can_connect(database_url):
            return database_url
        if not managed.is_running():
            break
        time.sleep(0.2)
    stop(state_dir, port)
    log = (state_dir / f"{_name(port)}.log").read_text(errors="replace")[-3000:]
    raise RuntimeError(f"PGlite did not answer on port {port}:\n{log}")


def stop(state_dir: Path, port: int) -> bool:
    """Stop the PGlite server on `port` by its PID; True when it was running."""
    return processes.stop(state_dir, _name(port), timeout=10.0)
