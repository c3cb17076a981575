"""The bench's database: its own embedded PostgreSQL, or the one DATABASE_URL names."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from core.settings import REPO_ROOT
from stack import postgres, processes
from stack.config import StackConfig

# Where the bench keeps its state and its PostgreSQL listens; BENCH_STATE_DIR and
# BENCH_POSTGRES_PORT move them (two benches on one machine, e.g. in two work trees).
STATE_DIR = Path(os.environ.get("BENCH_STATE_DIR") or REPO_ROOT / ".bench")
PORT = int(os.environ.get("BENCH_POSTGRES_PORT") or 35532)
# A database of its own, dropped and created on every run, so each run starts from the same state.
BENCH_DATABASE = "bench"


@dataclass(frozen=True)
class BenchDatabase:
    """Where the bench runs and what to call it in the report."""

    url: str
    description: str
    embedded: bool = False  # the bench's own server, on this machine


def bench_config(state_dir: Path = STATE_DIR, port: int = PORT) -> StackConfig:
    """A stack configuration used only for its PostgreSQL: own state dir and port, no broker."""
    return StackConfig(state_dir=state_dir, broker_port=0, postgres_port=port, api_port=0,
                       worker_metrics_port=0, external_kafka=None, external_database=None)


def stop_embedded(config: StackConfig) -> bool:
    """Stop the PostgreSQL this bench started (by its PID file); True if it was running."""
    # SIGINT is PostgreSQL's fast shutdown: roll back and stop now.
    return processes.stop(config.pid_dir, "postgres", timeout=20.0, first_signal=signal.SIGINT)


def _fresh_database(port: int) -> str:
    admin = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        name = sql.Identifier(BENCH_DATABASE)
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(name))
    return f"postgresql://postgres@127.0.0.1:{port}/{BENCH_DATABASE}"


@contextlib.contextmanager
def bench_database(config: StackConfig | None = None) -> Iterator[BenchDatabase]:
    """DATABASE_URL when set; otherwise start the embedded PostgreSQL and stop it afterwards.

    The server is stopped by PID when the block ends, also on Ctrl-C or an error.
    """
    external = os.environ.get("DATABASE_URL")
    if external:
        yield BenchDatabase(external, "DATABASE_URL (external database)")
        return
    config = config or bench_config()
    stop_embedded(config)  # a server a killed earlier run left behind
    try:
        postgres.start(config)
        url = _fresh_database(config.postgres_port)
        yield BenchDatabase(url, f"embedded PostgreSQL on 127.0.0.1:{config.postgres_port}"
                                 f" ({config.state_dir})", embedded=True)
    finally:
        stop_embedded(config)
