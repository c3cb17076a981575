"""Latest figures that went past their freshness deadline in a window of time.

The stale watcher (streams/events.py) asks every few seconds for the figures whose deadline
fell in (since, until]: each goes stale once, and a figure that a newer observation replaced
before its deadline never shows up.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import class_row

from core.figures import WentStale

WENT_STALE = (
    "SELECT o.location_id, l.name AS location_name, l.organization_id, l.sector,"
    " l.roaz_region, l.latitude, l.longitude, o.definition, o.observed_at"
    " FROM unnest(%(definitions)s::text[], %(seconds)s::float8[]) AS d(definition, seconds)"
    " JOIN latest_observation o ON o.definition = d.definition"
    " AND o.observed_at > %(since)s - make_interval(secs => d.seconds)"
    " AND o.observed_at <= %(until)s - make_interval(secs => d.seconds)"
    " JOIN location l ON l.id = o.location_id"
    " ORDER BY o.observed_at"
)


async def went_stale(conn: psycopg.AsyncConnection[Any], deadlines: Mapping[str, float],
                     since: datetime, until: datetime) -> list[WentStale]:
    """Figures whose deadline (`deadlines`: seconds per item) fell in (since, until]."""
    async with conn.cursor(row_factory=class_row(WentStale)) as cur:
        await cur.execute(WENT_STALE, {"definitions": list(deadlines),
                                       "seconds": list(deadlines.values()),
                                       "since": since, "until": until})
        return await cur.fetchall()
