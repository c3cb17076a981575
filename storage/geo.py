"""Great-circle distance, in SQL and in Python, without database extensions.

The same SQL must run on plain PostgreSQL and on TimescaleDB, so neither PostGIS nor
earthdistance is assumed: the haversine formula is written out as an expression.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Mean Earth radius (IUGG), in km; the haversine error against the ellipsoid is < 0.5 %.
EARTH_RADIUS_KM = 6371.0088


@dataclass(frozen=True)
class Point:
    """A WGS84 position in decimal degrees."""

    latitude: float
    longitude: float


def parse_point(text: str) -> Point:
    """`"52.16,4.48"` as a Point; ValueError naming the problem when it is not one."""
    parts = text.split(",")
    if len(parts) != 2:
        raise ValueError(f"{text!r} is not 'latitude,longitude'")
    try:
        latitude, longitude = float(parts[0]), float(parts[1])
    except ValueError:
        raise ValueError(f"{text!r} is not 'latitude,longitude' in decimal degrees") from None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise ValueError(f"{text!r} lies outside latitude -90..90 / longitude -180..180")
    return Point(latitude, longitude)


def haversine_km(a: Point, b: Point) -> float:
    """Great-circle distance between two points, in km."""
    dlat = math.radians(b.latitude - a.latitude)
    dlon = math.radians(b.longitude - a.longitude)
    h = (math.sin(dlat / 2) ** 2 + math.cos(math.radians(a.latitude))
         * math.cos(math.radians(b.latitude)) * math.sin(dlon / 2) ** 2)
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def distance_sql(latitude: str, longitude: str) -> str:
    """SQL for the distance in km from the columns `latitude`, `longitude` to the point given
    by the named parameters `near_lat` and `near_lon`; NULL when those are NULL."""
    lat0, lon0 = "%(near_lat)s::float8", "%(near_lon)s::float8"
    # least(1, ...) guards asin against rounding just above 1 for antipodal points. least()
    # skips NULLs, so without a point it would yield asin(1) (20,015 km): say NULL instead.
    return (
        f"(CASE WHEN {lat0} IS NULL OR {lon0} IS NULL THEN NULL ELSE"
        f" 2 * {EARTH_RADIUS_KM} * asin(least(1.0, sqrt("
        f"power(sin(radians({latitude} - {lat0}) / 2), 2)"
        f" + cos(radians({lat0})) * cos(radians({latitude}))"
        f" * power(sin(radians({longitude} - {lon0}) / 2), 2)))) END)"
    )


def near_params(near: Point | None, radius_km: float | None) -> dict[str, float | None]:
    """The query parameters `distance_sql` and a radius filter read."""
    return {"near_lat": near.latitude if near else None,
            "near_lon": near.longitude if near else None,
            "radius_km": radius_km}
