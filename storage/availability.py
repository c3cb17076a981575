"""Live availability: the latest figure per location and item, from the latest-state table."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import class_row


@dataclass(frozen=True)
class LatestFigure:
    """The newest observation of one item at one location, with the location's facts."""

    location_id: str
    location_name: str
    organization_id: str
    sector: str
    roaz_region: str
    latitude: float
    longitude: float
    definition: str
    definition_version: int
    value: float | None
    value_text: str | None
    not_reported_reason: str | None
    observed_at: datetime
    received_at: datetime
    provider: str


LIVE_BY_REGION = (
    "SELECT l.id AS location_id, l.name AS location_name, l.organization_id, l.sector,"
    " l.roaz_region, l.latitude, l.longitude, o.definition, o.definition_version, o.value,"
    " o.value_text,"
    " o.not_reported_reason, o.observed_at, o.received_at, o.provider"
    " FROM location l JOIN latest_observation o ON o.location_id = l.id"
    " WHERE (%(region)s::text IS NULL OR l.roaz_region = %(region)s)"
    " AND (%(sector)s::text IS NULL OR l.sector = %(sector)s)"
    " ORDER BY l.id, o.definition"
)


async def live_availability(
    conn: psycopg.AsyncConnection[Any], *, region: str | None, sector: str | None = None,
) -> list[LatestFigure]:
    """Latest figures of every location in `region` (all regions when None)."""
    async with conn.cursor(row_factory=class_row(LatestFigure)) as cur:
        await cur.execute(LIVE_BY_REGION, {"region": region, "sector": sector})
        return await cur.fetchall()
