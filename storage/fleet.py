"""The latest LSIV status per ambulance, and the vehicles of a RAV region."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg.rows import class_row

from core.fleet import VehicleStatus

Conn = psycopg.AsyncConnection[Any]


# An older status never replaces a newer one; at the same moment the later in feed order wins.
UPSERT = (
    "INSERT INTO fleet_vehicle (vehicle_id, rav_region, vehicle_type, status, status_at)"
    " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (vehicle_id) DO UPDATE SET"
    " rav_region = EXCLUDED.rav_region, vehicle_type = EXCLUDED.vehicle_type,"
    " status = EXCLUDED.status, status_at = EXCLUDED.status_at"
    " WHERE fleet_vehicle.status_at <= EXCLUDED.status_at"
)


async def record_statuses(conn: Conn, statuses: Sequence[VehicleStatus]) -> None:
    """Record statuses in feed order, in the caller's transaction."""
    if not statuses:
        return
    async with conn.cursor() as cur:
        await cur.executemany(UPSERT, [(s.vehicle_id, s.rav_region, s.vehicle_type, s.status,
                                        s.status_at) for s in statuses])


async def vehicle_regions(conn: Conn, vehicle_ids: Sequence[str]) -> dict[str, str]:
    """The RAV region each known vehicle was last reported in."""
    cur = await conn.execute("SELECT vehicle_id, rav_region FROM fleet_vehicle"
                             " WHERE vehicle_id = ANY(%s)", (list(vehicle_ids),))
    return {str(v): str(r) for v, r in await cur.fetchall()}


async def region_vehicles(conn: Conn, regions: Sequence[str]) -> list[VehicleStatus]:
    """Every vehicle's latest status in `regions`."""
    async with conn.cursor(row_factory=class_row(VehicleStatus)) as cur:
        await cur.execute("SELECT vehicle_id, rav_region, vehicle_type, status, status_at"
                          " FROM fleet_vehicle WHERE rav_region = ANY(%s)"
                          " ORDER BY rav_region, vehicle_id", (list(regions),))
        return await cur.fetchall()
