"""Which storage path a database runs: "timescale" (TimescaleDB) or "plain" (PostgreSQL only).

`storage.migrate` decides it once per database and records it in the one-row table
`storage_path`; code that behaves differently per path reads it here. The answer never changes
for a database, so it is cached per connection target (host, port, database).
"""

from __future__ import annotations

from typing import Any, Literal, cast

import psycopg
from psycopg.rows import tuple_row

StoragePath = Literal["timescale", "plain"]
PATHS: tuple[StoragePath, ...] = ("timescale", "plain")

_EXISTS = "SELECT to_regclass('storage_path') IS NOT NULL"
_READ = "SELECT path FROM storage_path"
_cache: dict[str, StoragePath] = {}


def _key(info: psycopg.ConnectionInfo) -> str:
    return f"{info.host}:{info.port}/{info.dbname}"


def _checked(row: tuple[Any, ...] | None) -> StoragePath:
    if row is None or row[0] not in PATHS:
        raise RuntimeError(
            "the database has no storage path recorded: run `python -m storage.migrate` first")
    return cast(StoragePath, row[0])


def current_path(conn: psycopg.Connection[Any]) -> StoragePath:
    """The storage path of the database `conn` is connected to."""
    key = _key(conn.info)
    if key not in _cache:
        # A cursor of our own: the caller's connection may return rows as dicts.
        with conn.cursor(row_factory=tuple_row) as cur:
            exists = cur.execute(_EXISTS).fetchone()
            row = cur.execute(_READ).fetchone() if exists and exists[0] else None
        _cache[key] = _checked(row)
    return _cache[key]


async def current_path_async(conn: psycopg.AsyncConnection[Any]) -> StoragePath:
    """The storage path of the database `conn` is connected to (async connections)."""
    key = _key(conn.info)
    if key not in _cache:
        async with conn.cursor(row_factory=tuple_row) as cur:
            exists = await (await cur.execute(_EXISTS)).fetchone()
            row = await (await cur.execute(_READ)).fetchone() if exists and exists[0] else None
        _cache[key] = _checked(row)
    return _cache[key]

