"""Mobile units: the ambulances, HAP visit cars and district nurses whose positions we keep."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import class_row

from core.geo import Point
from core.mobile_units import MobileUnit, UnitKind
from storage.geo import distance_sql, near_params


async def upsert_unit(conn: psycopg.AsyncConnection[Any], unit: MobileUnit) -> bool:
    """Create or replace a unit; True when it was new."""
    cur = await conn.execute(
        "INSERT INTO mobile_unit (id, kind, organization_id, label, roaz_region,"
        " veiligheidsregio, capabilities) VALUES (%s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (id) DO UPDATE SET kind = EXCLUDED.kind,"
        " organization_id = EXCLUDED.organization_id, label = EXCLUDED.label,"
        " roaz_region = EXCLUDED.roaz_region, veiligheidsregio = EXCLUDED.veiligheidsregio,"
        " capabilities = EXCLUDED.capabilities, updated_at = now() RETURNING (xmax = 0)",
        (unit.id, unit.kind, unit.organization_id, unit.label, unit.roaz_region,
         unit.veiligheidsregio, unit.capabilities),
    )
    row = await cur.fetchone()
    return bool(row and row[0])


async def get_unit(conn: psycopg.AsyncConnection[Any], unit_id: str) -> MobileUnit | None:
    """The unit with this id, or None."""
    async with conn.cursor(row_factory=class_row(MobileUnit)) as cur:
        await cur.execute(
            "SELECT id, kind, organization_id, label, roaz_region, veiligheidsregio,"
            " capabilities FROM mobile_unit WHERE id = %s", (unit_id,))
        return await cur.fetchone()


@dataclass(frozen=True)
class UnitPosition:
    """A unit's latest position and, for ambulances, its latest status."""

    id: str
    kind: UnitKind
    organization_id: str
    label: str
    roaz_region: str
    latitude: float
    longitude: float
    observed_at: datetime
    speed_kmh: float | None
    heading_deg: float | None
    status: str | None
    status_observed_at: datetime | None
    distance_km: float | None = None


DISTANCE = distance_sql("p.latitude", "p.longitude")
UNIT_COLUMNS = (
    "SELECT u.id, u.kind, u.organization_id, u.label, u.roaz_region, p.latitude, p.longitude,"
    " p.observed_at, p.speed_kmh, p.heading_deg, s.value_text AS status,"
    f" s.observed_at AS status_observed_at, {DISTANCE} AS distance_km"
    " FROM mobile_unit u JOIN latest_position p ON p.unit_id = u.id"
    " LEFT JOIN latest_observation s ON s.location_id = u.id"
    " AND s.definition = 'ambulance.vehicle.status'"
)
LATEST_UNITS = (
    f"{UNIT_COLUMNS}"
    " WHERE (%(regions)s::text[] IS NULL OR u.roaz_region = ANY(%(regions)s))"
    " AND (%(organization)s::text IS NULL OR u.organization_id = %(organization)s)"
    " AND (%(kind)s::text IS NULL OR u.kind = %(kind)s)"
    " AND (%(units)s::text[] IS NULL OR u.id = ANY(%(units)s))"
    f" AND (%(radius_km)s::float8 IS NULL OR {DISTANCE} <= %(radius_km)s)"
    " ORDER BY distance_km, u.id"
)
NEAREST_UNITS = (
    f"{UNIT_COLUMNS}"
    " WHERE u.kind = %(kind)s"
    " AND (%(regions)s::text[] IS NULL OR u.roaz_region = ANY(%(regions)s))"
    " AND (%(statuses)s::text[] IS NULL OR s.value_text = ANY(%(statuses)s))"
    " AND (%(fresh_since)s::timestamptz IS NULL OR p.observed_at >= %(fresh_since)s)"
    " ORDER BY distance_km, u.id LIMIT %(n)s"
)


async def latest_unit_positions(
    conn: psycopg.AsyncConnection[Any], *, region: str | None = None, kind: str | None,
    regions: Collection[str] | None = None, organization: str | None = None,
    near: Point | None = None, radius_km: float | None = None,
    units: Collection[str] | None = None,
) -> list[UnitPosition]:
    """Latest known position of every unit in `region` or `regions` (all when None), of
    `kind`, operated by `organization` (any when None), among `units` (ids; all when None);
    nearest first and within `radius_km` when a point is given."""
    if radius_km is not None and near is None:
        raise ValueError("radius_km needs a point (near)")
    if region is not None:
        regions = [region]
    async with conn.cursor(row_factory=class_row(UnitPosition)) as cur:
        await cur.execute(LATEST_UNITS, {
            "regions": None if regions is None else list(regions), "kind": kind,
            "organization": organization, "units": None if units is None else list(units),
            **near_params(near, radius_km)})
        return await cur.fetchall()


async def nearest_units(
    conn: psycopg.AsyncConnection[Any], *, near: Point, kind: str, n: int,
    statuses: Collection[str] | None = None, fresh_since: datetime | None = None,
    regions: Collection[str] | None = None,
) -> list[UnitPosition]:
    """The `n` units of `kind` nearest to `near`, nearest first, within `regions` (any when
    None).

    `statuses`: only units whose latest vehicle status is one of these (ambulances);
    `fresh_since`: only units whose latest position is at least this recent.
    """
    params = {"kind": kind, "n": n, "fresh_since": fresh_since,
              "regions": None if regions is None else list(regions),
              "statuses": list(statuses) if statuses is not None else None,
              **near_params(near, None)}
    async with conn.cursor(row_factory=class_row(UnitPosition)) as cur:
        await cur.execute(NEAREST_UNITS, params)
        return await cur.fetchall()
