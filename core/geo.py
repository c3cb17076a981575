"""Points on the earth and the great-circle distance between them.

The same haversine formula is written out in SQL by storage/geo.py (`distance_sql`), with the
same Earth radius, so a distance computed here and one a query computes agree.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

# `latitude,longitude` in decimal degrees, within -90..90 and -180..180: what `parse_point` takes,
# and the pattern the OpenAPI document gives such a parameter (so that the two cannot differ).
_LATITUDE = r"[-+]?(?:90(?:\.0+)?|[1-8]?[0-9](?:\.[0-9]+)?)"
_LONGITUDE = r"[-+]?(?:180(?:\.0+)?|(?:1[0-7][0-9]|[1-9]?[0-9])(?:\.[0-9]+)?)"
POINT_PATTERN = rf"^ *{_LATITUDE} *, *{_LONGITUDE} *$"
_POINT = re.compile(POINT_PATTERN)
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
    if not _POINT.match(text):
        raise ValueError(f"{text!r} is not 'latitude,longitude' in decimal degrees "
                         "(digits, a point, an optional sign: e.g. 52.0907,5.1214)")
    return Point(latitude, longitude)


def haversine_km(a: Point, b: Point) -> float:
    """Great-circle distance between two points, in km."""
    dlat = math.radians(b.latitude - a.latitude)
    dlon = math.radians(b.longitude - a.longitude)
    h = (math.sin(dlat / 2) ** 2 + math.cos(math.radians(a.latitude))
         * math.cos(math.radians(b.latitude)) * math.sin(dlon / 2) ** 2)
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))
