"""Live availability: the latest figure per location and item.

`live_locations` is what the live board reads: one row per location from the live state
(`live_location`, storage/live_state.py), its figures decoded from one JSON document.
`live_availability` gives the same figures one row each, joined from `latest_observation`,
with where each came from (received_at, provider).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import tzinfo
from typing import Any

import msgspec
import psycopg
from psycopg.rows import class_row

from core.figures import LatestFigure, item_matches
from core.geo import Point
from storage.geo import distance_sql, near_params
from storage.live_state import LiveFigure, decode_figures, in_zone, session_zone

# The same rule as item_matches (core/figures.py), in SQL (starts_with needs no escaping
# of '_' as LIKE would).
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


class LiveLocation(msgspec.Struct, frozen=True, gc=False):
    """A location with its latest figures (ordered by definition)."""

    location_id: str
    location_name: str
    organization_id: str
    sector: str
    roaz_region: str
    latitude: float
    longitude: float
    distance_km: float | None
    figures: list[LiveFigure]


# A location marked in live_location_pending may have figures its document does not hold yet:
# its document is computed here, from latest_observation, by the function the refresher uses.
LIVE_LOCATIONS = (
    "WITH pending AS (SELECT DISTINCT s.id FROM live_location_pending p,"
    " unnest(p.location_ids) AS s (id))"
    " SELECT l.id, l.name, l.organization_id, l.sector, l.roaz_region, l.latitude, l.longitude,"
    f" {DISTANCE} AS distance_km,"
    " (CASE WHEN m.id IS NULL THEN f.figures ELSE live_location_document(l.id) END)::text"
    " FROM location l LEFT JOIN live_location f ON f.location_id = l.id"
    " LEFT JOIN pending m ON m.id = l.id"
    " WHERE (f.location_id IS NOT NULL OR m.id IS NOT NULL)"
    " AND (%(regions)s::text[] IS NULL OR l.roaz_region = ANY(%(regions)s))"
    " AND (%(sector)s::text IS NULL OR l.sector = %(sector)s)"
    " AND (%(organization)s::text IS NULL OR l.organization_id = %(organization)s)"
    f" AND (%(radius_km)s::float8 IS NULL OR {DISTANCE} <= %(radius_km)s)"
    " ORDER BY distance_km, l.id"
)


def figure_filter(definitions: Collection[str] | None,
                  item: str | None) -> Callable[[str], bool] | None:
    """Which definition codes to keep (None: all): exact `definitions`, and `item` as a code
    or a prefix of whole segments (`item_matches`)."""
    if definitions is None and item is None:
        return None
    exact = None if definitions is None else frozenset(definitions)
    return lambda code: ((exact is None or code in exact)
                         and (item is None or item_matches(code, item)))


async def live_locations(
    conn: psycopg.AsyncConnection[Any], *, region: str | None = None,
    sector: str | None = None, regions: Collection[str] | None = None,
    definitions: Collection[str] | None = None, item: str | None = None,
    near: Point | None = None, radius_km: float | None = None,
    organization: str | None = None,
) -> list[LiveLocation]:
    """The locations with their latest figures, by location id (nearest first when `near` is
    given); a location none of whose figures pass the filters is left out.

    The same filters, order and figures as `live_availability` (None = no filter): `region`
    or `regions` (ROAZ codes), `sector`, `organization` (the operating organisation),
    `definitions` (exact codes), `item` (a code or a code prefix on whole segments), and
    `radius_km` around `near`. Timestamps in the session's zone, as a row read would give them.
    """
    if region is not None:
        regions = [region]
    if radius_km is not None and near is None:
        raise ValueError("radius_km needs a point (near)")
    params: dict[str, Any] = {
        "regions": list(regions) if regions is not None else None, "sector": sector,
        "organization": organization, **near_params(near, radius_km),
    }
    cur = await conn.execute(LIVE_LOCATIONS, params)
    keep, zone = figure_filter(definitions, item), session_zone(conn)
    found = (_location(row, keep, zone) for row in await cur.fetchall())
    return [location for location in found if location is not None]


def _location(row: tuple[Any, ...], keep: Callable[[str], bool] | None,
              zone: tzinfo | None) -> LiveLocation | None:
    # A LIVE_LOCATIONS row: the location's facts, then its document (NULL: marked, and left
    # without figures).
    location_id, name, organization_id, sector, region, latitude, longitude, km, document = row
    if document is None:
        return None
    figures = decode_figures(document)
    if keep is not None:
        figures = [f for f in figures if keep(f.definition)]
    if not figures:
        return None
    return LiveLocation(location_id, name, organization_id, sector, region, latitude, longitude,
                        km, in_zone(figures, zone) if zone is not None else figures)


async def live_availability(
    conn: psycopg.AsyncConnection[Any], *, region: str | None = None,
    sector: str | None = None, regions: Collection[str] | None = None,
    definitions: Collection[str] | None = None, item: str | None = None,
    near: Point | None = None, radius_km: float | None = None,
    organization: str | None = None,
) -> list[LatestFigure]:
    """Latest figures one row each, ordered by location (nearest first when `near` is given)
    and definition, with where each came from; the live board reads `live_locations`.

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
