"""The live queries, each timed next to the minimal raw SQL that gives the same rows.

The platform's functions add what an API answer needs (generic filters, ordering, distances,
typed rows); the raw SQL is the least a hand-written query would do. Their ratio is that cost.
The live availability is timed the way the API reads it (`live_locations`, the live state) and
the way it read it before (`live_availability`: one typed row per figure, joined per request).
"""

from __future__ import annotations

import random
from typing import Any

import psycopg

from bench.dataset import UNIT_STATUS_ITEM, NationalDataSet
from bench.measure import Comparison, compare
from core.geo import EARTH_RADIUS_KM, Point, haversine_km
from storage import availability, units

AsyncConn = psycopg.AsyncConnection[Any]

RAW_LIVE_REGION = (
    "SELECT l.id, l.name, l.organization_id, l.sector, l.roaz_region, l.latitude, l.longitude,"
    " o.definition, o.definition_version, o.value, o.value_text, o.not_reported_reason,"
    " o.observed_at, o.received_at, o.provider"
    " FROM latest_observation o JOIN location l ON l.id = o.location_id"
    " WHERE l.roaz_region = %s"
)
RAW_LIVE_NATIONAL = RAW_LIVE_REGION.removesuffix(" WHERE l.roaz_region = %s")
_HAVERSINE = (
    f"2 * {EARTH_RADIUS_KM} * asin(sqrt(power(sin(radians(p.latitude - %(lat)s) / 2), 2)"
    " + cos(radians(%(lat)s)) * cos(radians(p.latitude))"
    " * power(sin(radians(p.longitude - %(lon)s) / 2), 2)))"
)
RAW_NEAREST = (
    f"SELECT u.id, p.latitude, p.longitude, p.observed_at, {_HAVERSINE} AS km"
    " FROM latest_position p JOIN mobile_unit u ON u.id = p.unit_id"
    " WHERE u.kind = 'ambulance' ORDER BY km LIMIT 5"
)
RAW_NEAREST_AVAILABLE = (
    f"SELECT u.id, p.latitude, p.longitude, p.observed_at, {_HAVERSINE} AS km"
    " FROM latest_position p JOIN mobile_unit u ON u.id = p.unit_id"
    " JOIN latest_observation s ON s.location_id = u.id"
    f" AND s.definition = '{UNIT_STATUS_ITEM}' AND s.value_text = ANY(%(statuses)s)"
    " WHERE u.kind = 'ambulance' ORDER BY km LIMIT 5"
)


def available_statuses(data: NationalDataSet) -> list[str]:
    """The LSIV status codes in which an ambulance can be dispatched."""
    return sorted(s.code for s in data.catalogue.vehicle_statuses.values() if s.available)


def incident_points(data: NationalDataSet, count: int = 50) -> list[Point]:
    """Seeded points spread over the country (around the veiligheidsregio's centres)."""
    rng = random.Random(data.seed)
    centres = sorted(data.catalogue.safety_regions.values(), key=lambda r: r.code)
    points = []
    for _ in range(count):
        lat, lon = rng.choice(centres).centre
        points.append(Point(lat + rng.gauss(0, 0.1), lon + rng.gauss(0, 0.15)))
    return points


async def _raw(conn: AsyncConn, query: str, params: Any) -> list[tuple[Any, ...]]:
    cur = await conn.execute(query, params)
    return await cur.fetchall()


# What the API calls now, and the per-figure query it called before (kept as the reference).
LIVE = {"live state": availability.live_locations,
        "per-figure rows, before": availability.live_availability}


async def live_region(conn: AsyncConn, data: NationalDataSet, *, way: str = "live state",
                      runs: int = 200, suffix: str = "") -> Comparison:
    """(a) Live availability of one ROAZ region, all sectors; the runs cycle through the ten."""
    regions, query = sorted(data.catalogue.regions), LIVE[way]

    async def platform(n: int) -> Any:
        return await query(conn, region=regions[n % len(regions)], sector=None)

    async def raw(n: int) -> Any:
        return await _raw(conn, RAW_LIVE_REGION, (regions[n % len(regions)],))

    await _check_same_size(platform, raw)
    return await compare(f"live availability, one region{suffix}", platform, raw, runs=runs,
                         note=f"{_how(way)}; cycles through the 10 ROAZ regions")


async def live_national(conn: AsyncConn, *, way: str = "live state", runs: int = 200,
                        suffix: str = "") -> Comparison:
    """(b) Live availability of the whole country."""
    query = LIVE[way]

    async def platform(_: int) -> Any:
        return await query(conn, region=None, sector=None)

    async def raw(_: int) -> Any:
        return await _raw(conn, RAW_LIVE_NATIONAL, ())

    await _check_same_size(platform, raw)
    return await compare(f"live availability, national{suffix}", platform, raw, runs=runs,
                         warmup=min(20, runs // 5), note=_how(way))


def _how(way: str) -> str:
    if way == "live state":
        return "storage.availability.live_locations (the live state, what the API reads)"
    return "storage.availability.live_availability (a typed row per figure: the API before)"


async def nearest_ambulances(conn: AsyncConn, data: NationalDataSet,
                             only_available: bool) -> Comparison:
    """(c) The 5 ambulances nearest to a point (optionally: only those free to dispatch)."""
    points = incident_points(data)
    statuses = available_statuses(data) if only_available else None
    query = RAW_NEAREST_AVAILABLE if only_available else RAW_NEAREST
    platform, how = _platform_nearest(conn, points, statuses)

    async def raw(n: int) -> Any:
        point = points[n % len(points)]
        return await _raw(conn, query, {"lat": point.latitude, "lon": point.longitude,
                                        "statuses": statuses})

    mine, theirs = await platform(0), await raw(0)
    if [u.id for u in mine] != [row[0] for row in theirs]:
        raise AssertionError(f"nearest ambulances differ: {mine} vs {theirs}")
    name = "nearest 5 available ambulances" if only_available else "nearest 5 ambulances"
    return await compare(name, platform, raw, note=f"{how}; 50 points")


def _platform_nearest(conn: AsyncConn, points: list[Point],
                      statuses: list[str] | None) -> tuple[Any, str]:
    # storage.units.nearest_units is the platform's query; without it, the API would have to
    # take every unit's latest position and sort in Python.
    if hasattr(units, "nearest_units"):
        async def by_query(n: int) -> Any:
            return await units.nearest_units(conn, near=points[n % len(points)],
                                             kind="ambulance", n=5, statuses=statuses)
        return by_query, "storage.units.nearest_units"

    async def in_python(n: int) -> Any:
        point = points[n % len(points)]
        found = await units.latest_unit_positions(conn, region=None, kind="ambulance")
        found = [u for u in found if statuses is None or u.status in statuses]
        return sorted(found, key=lambda u: haversine_km(point, Point(u.latitude, u.longitude)))[:5]
    return in_python, "latest_unit_positions + sort in Python"


def _figures_in(answer: list[Any]) -> int:
    # live_locations answers per location, the others per figure.
    return sum(len(row.figures) if hasattr(row, "figures") else 1 for row in answer)


async def _check_same_size(platform: Any, raw: Any) -> None:
    # A benchmark of two queries that answer differently would measure nothing useful.
    mine, theirs = _figures_in(await platform(0)), len(await raw(0))
    if mine != theirs or not mine:
        raise AssertionError(f"platform gave {mine} figures, raw SQL {theirs}")
