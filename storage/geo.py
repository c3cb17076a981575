"""Great-circle distance in SQL, without database extensions.

The same SQL must run on plain PostgreSQL and on TimescaleDB, so neither PostGIS nor
earthdistance is assumed: the haversine formula is written out as an expression, the same one
core/geo.py computes in Python (`haversine_km`).
"""

from __future__ import annotations

from core.geo import EARTH_RADIUS_KM, Point


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
