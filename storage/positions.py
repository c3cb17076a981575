"""Idempotent batch writes of positions: history once per (unit, moment), plus latest per unit."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

from core.messages import Position

_COLUMNS = ("unit_id, observed_at, latitude, longitude, accuracy_m, speed_kmh, heading_deg,"
            " received_at, source_format")
_UNNEST = ("SELECT * FROM unnest(%s::text[], %s::timestamptz[], %s::float8[], %s::float8[],"
           " %s::float8[], %s::float8[], %s::float8[], %s::timestamptz[], %s::text[])")
INSERT_HISTORY = f"INSERT INTO position ({_COLUMNS}) {_UNNEST} ON CONFLICT DO NOTHING"
UPSERT_LATEST = (
    f"INSERT INTO latest_position ({_COLUMNS}) {_UNNEST} ON CONFLICT (unit_id) DO UPDATE SET"
    " observed_at = EXCLUDED.observed_at, latitude = EXCLUDED.latitude,"
    " longitude = EXCLUDED.longitude, accuracy_m = EXCLUDED.accuracy_m,"
    " speed_kmh = EXCLUDED.speed_kmh, heading_deg = EXCLUDED.heading_deg,"
    " received_at = EXCLUDED.received_at, source_format = EXCLUDED.source_format"
    " WHERE latest_position.observed_at < EXCLUDED.observed_at"
)


def _columns(positions: Sequence[Position]) -> list[list[object]]:
    fields = ("unit_id", "observed_at", "latitude", "longitude", "accuracy_m", "speed_kmh",
              "heading_deg", "received_at", "source_format")
    return [[getattr(p, name) for p in positions] for name in fields]


def _unique(positions: Sequence[Position]) -> list[Position]:
    return list({(p.unit_id, p.observed_at): p for p in positions}.values())


def _newest_per_unit(positions: Sequence[Position]) -> list[Position]:
    newest: dict[str, Position] = {}
    for p in positions:
        if p.unit_id not in newest or newest[p.unit_id].observed_at < p.observed_at:
            newest[p.unit_id] = p
    return list(newest.values())


async def upsert_positions(
    conn: psycopg.AsyncConnection[Any], positions: Sequence[Position],
) -> int:
    """Store a batch in the caller's transaction; returns how many were new (not duplicates)."""
    if not positions:
        return 0
    async with conn.cursor() as cur:
        await cur.execute(INSERT_HISTORY, _columns(_unique(positions)))
        inserted = cur.rowcount
        await cur.execute(UPSERT_LATEST, _columns(_newest_per_unit(positions)))
    return inserted
