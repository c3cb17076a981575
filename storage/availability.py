"""Live availability: the latest figure per location and item, from the latest-state table."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import class_row

from storage.geo import Point, distance_sql, near_params


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
    distance_km: float | None = None


def item_matches(code: str, item: str) -> bool:
    """True when definition `code` is `item` or lies under it, on whole dot-separated segments:
    `hospital.beds.ic` matches `hospital.beds.ic.available`, not `hospital.beds.icu_x`."""
    return code == item or code.startswith(item + ".")


# The same rule as item_matches, in SQL (starts_with needs no escaping of '_' as LIKE would).
ITEM_FILTER = ("(%(item)s::text IS NULL OR o.definition = %(item)s"
               " OR starts_with(o.definition, %(item)s || '.'))")
DISTANCE = distance_sql("l.latitude", "l.longitude")

LIVE_FIGURES = (
    "SELECT l.id AS location_id, l.name AS location_name, l.organization_id, l.sector,"
    " l.roaz_region, l.latitude, l.longitude, o.definition, o.definition_version, o.value,"
    " o.value_text, o.not_reported_reason, o.observed_at, o.received_at, o.provider,"
    f" {DISTANCE} AS distance_km"
    " FROM location l JOIN latest_observation o ON o.location_id = l.id"
    " WHERE (%(regions)s::text[] IS NULL OR l.roaz_region = ANY(%(regions)s))"
    " AND (%(sector)s::text IS NULL OR l.sector = %(sector)s)"
    " AND (%(organization)s::text IS NULL OR l.organization_id = %(organization)s)"
    " AND (%(definitions)s::text[] IS NULL OR o.definition = ANY(%(definitions)s))"
    f" AND {ITEM_FILTER}"
    f" AND (%(radius_km)s::float8 IS NULL OR {DISTANCE} <= %(radius_km)s)"
    # Nearest first when a point is given (NULL distances sort last and are all equal
    # otherwise); a location's figures stay together for grouping.
    " ORDER BY distance_km, l.id, o.definition"
)


async def live_availability(
    conn: psycopg.AsyncConnection[Any], *, region: str | None = None,
    sector: str | None = None, regions: Collection[str] | None = None,
    definitions: Collection[str] | None = None, item: str | None = None,
    near: Point | None = None, radius_km: float | None = None,
    organization: str | None = None,
) -> list[LatestFigure]:
    """Latest figures per location, ordered by location (nearest first when `near` is given).

    Filters (None = no filter): `region` or `regions` (ROAZ codes), `sector`, `organization`
    (the operating organisation), `definitions`
    (exact codes, e.g. one category's), `item` (a code or a code prefix on whole segments),
    and `radius_km` around `near`.
    """
    if region is not None:
        regions = [region]
    if radius_km is not None and near is None:
        raise ValueError("radius_km needs a point (near)")
    params: dict[str, Any] = {
        "regions": list(regions) if regions is not None else None, "sector": sector,
        "organization": organization,
        "definitions": list(definitions) if definitions is not None else None, "item": item,
        **near_params(near, radius_km),
    }
    async with conn.cursor(row_factory=class_row(LatestFigure)) as cur:
        await cur.execute(LIVE_FIGURES, params)
        return await cur.fetchall()
