"""Per-provider mapping tables for formats that need one (e.g. LPZ CSV department codes)."""

from __future__ import annotations

from typing import Any

import psycopg

from storage.jsonb import jsonb


async def put_mapping(conn: psycopg.AsyncConnection[Any], source_format: str, location_id: str,
                      mapping: dict[str, Any]) -> None:
    """Create or replace the mapping table of one location for one format."""
    await conn.execute(
        "INSERT INTO source_mapping (source_format, location_id, mapping) VALUES (%s, %s, %s)"
        " ON CONFLICT (source_format, location_id) DO UPDATE SET mapping = EXCLUDED.mapping,"
        " updated_at = now()", (source_format, location_id, jsonb(mapping)))


async def get_mapping(conn: psycopg.AsyncConnection[Any], source_format: str,
                      location_id: str) -> dict[str, Any] | None:
    """The mapping table, or None when the provider has not registered one."""
    cur = await conn.execute(
        "SELECT mapping FROM source_mapping WHERE source_format = %s AND location_id = %s",
        (source_format, location_id))
    row = await cur.fetchone()
    return dict(row[0]) if row else None
