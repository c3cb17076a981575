"""Storage backends for tests: the same storage tests run on plain PostgreSQL and on TimescaleDB.

Loaded as a pytest plugin by tests/conftest.py. Fixtures:

- `plain_url`: a fresh database on the test stack's embedded PostgreSQL (no timescaledb), migrated;
- `timescale_url`: TimescaleDB in PGlite (stack/pglite.py), started and stopped by PID, migrated;
- `storage_backend`: parametrized over both, yielding a `Backend(name, url)`.

PGlite serves one connection at a time: close a connection before opening the next.
`TEST_PGLITE_PORT` fixes PGlite's port (default: a free one).
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from stack import pglite
from stack.config import StackConfig
from storage.migrate import migrate

BACKENDS = ("plain", "timescale")


@dataclass(frozen=True)
class Backend:
    """A migrated database on one storage path: `name` is "plain" or "timescale"."""

    name: str
    url: str

    def connect(self, **kwargs: Any) -> psycopg.Connection[Any]:
        """A connection that works on both paths (no server-side prepared statements)."""
        return psycopg.connect(self.url, **pglite.connect_kwargs(), **kwargs)

    async def connect_async(self, **kwargs: Any) -> psycopg.AsyncConnection[Any]:
        """An async connection that works on both paths."""
        return await psycopg.AsyncConnection.connect(
            self.url, **pglite.connect_kwargs(), **kwargs)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def timescale_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated TimescaleDB (PGlite) for the session; stopped by PID afterwards."""
    state_dir = tmp_path_factory.mktemp("pglite")
    port = int(os.environ.get("TEST_PGLITE_PORT") or free_port())
    url = pglite.start(state_dir, port)
    try:
        migrate(url)
        yield url
    finally:
        pglite.stop(state_dir, port)


@pytest.fixture(scope="session")
def plain_url(stack: StackConfig) -> Iterator[str]:
    """A fresh, migrated database on the test stack's PostgreSQL; dropped afterwards."""
    name = f"zc_backend_{uuid.uuid4().hex[:12]}"
    admin = make_conninfo(stack.database_url, dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = make_conninfo(stack.database_url, dbname=name)
    try:
        migrate(url)
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))


@pytest.fixture(params=BACKENDS)
def storage_backend(request: pytest.FixtureRequest) -> Backend:
    """Each storage path in turn; only the backends a test session uses are started."""
    name: str = request.param
    return Backend(name, request.getfixturevalue(f"{name}_url"))
