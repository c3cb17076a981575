"""Positions of mobile units in Traccar's OsmAnd protocol, which vehicle trackers already speak.

Two forms reach `/osmand` (see `api/osmand_routes.py`, which wraps what the tracker sent):

- `{"query": {...}}`: the query string of `GET`/`POST /osmand?id=...&lat=...` (or a form body),
  as the OsmAnd app, older Traccar Clients and hardware trackers send it. Values are text.
  `id` (or `deviceid`) is the unit, `lat`/`lon` (or `location=lat,lon`) the WGS84 position,
  `timestamp` Unix seconds (milliseconds above 2^31, as Traccar reads it) or ISO 8601 with a
  timezone, `speed` in KNOTS, `bearing`/`heading` in degrees, `accuracy` in metres;
  `valid=false` says the tracker has no fix. `altitude`, `batt`, `hdop`, `charge` are read by
  Traccar but have no place here; other parameters are ignored with a warning.
- `{"body": {...}}`: the JSON of the Traccar Client apps (transistorsoft background
  geolocation): `{"device_id": ..., "location": {"timestamp": ISO 8601, "coords": {"latitude",
  "longitude", "speed" (METRES PER SECOND), "heading", "accuracy", "altitude"}, "is_moving",
  "battery": {...}, ...}}`, or `"location": [...]` with several reports (batch sync). A report
  without `coords` (a heartbeat) carries no position.

Speeds become km/h (1 kn = 1.852 km/h, 1 m/s = 3.6 km/h). A negative speed, heading or accuracy
is the trackers' "not known" (-1 in the apps) and is stored as not known. A report without a fix
(`valid=false`, position 0,0, no coords) is acknowledged with a warning and stores nothing, so
the tracker moves on. A report stamped more than 5 minutes after receipt is filtered out with a
warning (trackers take their clock from GPS; such a time is a broken clock, and refusing it
would make the tracker resend it forever). Within one payload a repeated moment
is kept once. Across payloads the store keeps one row per unit and moment (primary key of table
`position`): a retried report is dropped there and counted in `zc_position_duplicates_total`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from adapters.base import (
    AdapterError,
    AdapterResult,
    Issue,
    MessageMeta,
    Payload,
    check_observed_at,
    error,
    json_object,
    parse_instant,
    warning,
)
from core.messages import Position
from core.mobile_units import KIND_OF_SECTOR, UnitKind
from core.retention import POSITION_RETENTION

KNOT_IN_KMH = 1.852
METRE_PER_SECOND_IN_KMH = 3.6
# Traccar's rule: a larger Unix number cannot be seconds (that is the year 2038), so it is ms.
LAST_UNIX_SECOND = 2**31 - 1
UNIX_TEXT = re.compile(r"^\d+(\.\d+)?$", re.ASCII)

MediaType = Literal["application/fhir+json", "application/json", "text/csv"]
Subject = Literal["location", "mobile-unit"]

QUERY_USED = {"id", "deviceid", "lat", "lon", "location", "timestamp", "speed", "bearing",
              "heading", "accuracy", "valid"}
# Read by Traccar, but the Position model has no place for them: accepted without a warning.
QUERY_NOT_STORED = {"altitude", "batt", "hdop", "charge", "driverUniqueId"}


@dataclass(frozen=True)
class Fix:
    """One location report with a position, in our units, before the payload-wide checks."""

    where: str  # the element the report came from, e.g. `query` or `location[2]`
    observed_at: datetime
    latitude: float
    longitude: float
    accuracy_m: float | None
    speed_kmh: float | None
    heading_deg: float | None


class Reading:
    """Collects the problems of one payload, so they are all reported together."""

    def __init__(self) -> None:
        self.errors: list[Issue] = []
        self.warnings: list[Issue] = []

    def number(self, raw: Any, expression: str, *, text: bool) -> float | None:
        """A finite number (from text when `text`), or None after noting the error."""
        value: float | None = None
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            value = float(raw)
        elif text and isinstance(raw, str):
            try:
                value = float(raw)
            except ValueError:
                value = None
        if value is None or not math.isfinite(value):
            hint = " (give a JSON number, not text)" if isinstance(raw, str) and not text else ""
            self.errors.append(error("invalid", expression, f"not a number: {raw!r}{hint}"))
            return None
        return value

    def coordinate(self, raw: Any, expression: str, limit: float, *, text: bool) -> float | None:
        """A latitude (limit 90) or longitude (limit 180) in WGS84 decimal degrees."""
        value = self.number(raw, expression, text=text)
        if value is not None and not -limit <= value <= limit:
            self.errors.append(error("value", expression, f"{value} lies outside "
                                     f"-{limit:g}..{limit:g} degrees (WGS84 decimal degrees)"))
            return None
        return value

    def optional(self, raw: Any, expression: str, *, text: bool) -> float | None:
        """An optional non-negative figure; absent or negative (the app's 'unknown') is None."""
        if raw is None or raw == "":
            return None
        value = self.number(raw, expression, text=text)
        return None if value is None or value < 0 else value

    def heading(self, raw: Any, expression: str, *, text: bool) -> float | None:
        """Degrees clockwise from north, 0..360; negative means not known."""
        value = self.optional(raw, expression, text=text)
        if value is not None and value > 360:
            self.errors.append(error("value", expression,
                                     f"heading {value} is not within 0..360 degrees"))
            return None
        return value

    def instant(self, raw: Any, expression: str) -> datetime | None:
        """Unix seconds (ms above 2^31) or ISO 8601 with a timezone."""
        try:
            return _instant(raw, expression)
        except AdapterError as exc:
            self.errors += exc.issues
            return None


def _is_unix_time(raw: Any) -> bool:
    if isinstance(raw, bool):
        return False
    if isinstance(raw, str):
        return UNIX_TEXT.match(raw) is not None
    return isinstance(raw, int | float)


def _instant(raw: Any, expression: str) -> datetime:
    if not _is_unix_time(raw):
        return parse_instant(raw, expression)
    unix = float(raw)
    seconds = unix / 1000 if unix > LAST_UNIX_SECOND else unix
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise AdapterError([error("invalid", expression,
                                  f"not a Unix time in seconds: {raw!r}")]) from exc


def _kmh(value: float | None, factor: float) -> float | None:
    # Rounded to 0.01 km/h: the conversion factors otherwise leave float noise in the figure.
    return None if value is None else round(value * factor, 2)


def _query_coordinates(query: dict[str, Any], reading: Reading) -> tuple[float, float] | None:
    """`lat` and `lon`, or `location=lat,lon`, in WGS84 decimal degrees; None after errors."""
    sent: list[tuple[Any, str]]
    if "location" in query and "lat" not in query and "lon" not in query:
        parts = str(query["location"]).split(",")
        if len(parts) != 2:
            reading.errors.append(error("invalid", "query.location", "give location as "
                                        f"'latitude,longitude', got {query['location']!r}"))
            return None
        sent = [(parts[0], "query.location"), (parts[1], "query.location")]
    else:
        sent = [(query.get("lat"), "query.lat"), (query.get("lon"), "query.lon")]
    missing = [at for raw, at in sent if raw is None]
    reading.errors += [error("required", at, "give the position in WGS84 decimal degrees as "
                             "lat and lon") for at in missing]
    if missing:
        return None
    latitude = reading.coordinate(sent[0][0], sent[0][1], 90, text=True)
    longitude = reading.coordinate(sent[1][0], sent[1][1], 180, text=True)
    return None if latitude is None or longitude is None else (latitude, longitude)


def _query_fix(query: dict[str, Any], meta: MessageMeta, reading: Reading) -> Fix | None:
    """The one report of a query string, or None when it has no position fix."""
    query = {k: v for k, v in query.items() if v not in ("", None)}  # Traccar skips empty ones
    unknown = sorted(set(query) - QUERY_USED - QUERY_NOT_STORED)
    if unknown:
        reading.warnings.append(warning("not-supported", "query", "ignored parameter(s): "
                                        f"{', '.join(unknown)}"))
    if str(query.get("valid", "true")).lower() in ("false", "0"):
        reading.warnings.append(warning("business-rule", "query.valid",
                                        "the tracker reports no valid fix; no position stored"))
        return None
    coordinates = _query_coordinates(query, reading)
    observed_at = _query_time(query, meta, reading)
    speed = reading.optional(query.get("speed"), "query.speed", text=True)
    heading_at = "query.bearing" if "bearing" in query else "query.heading"
    heading = reading.heading(query.get("bearing", query.get("heading")), heading_at, text=True)
    accuracy = reading.optional(query.get("accuracy"), "query.accuracy", text=True)
    if coordinates is None or observed_at is None:
        return None
    return Fix("query", observed_at, *coordinates, accuracy,
               _kmh(speed, KNOT_IN_KMH), heading)


def _query_time(query: dict[str, Any], meta: MessageMeta, reading: Reading) -> datetime | None:
    if "timestamp" in query:
        return reading.instant(query["timestamp"], "query.timestamp")
    # Traccar stamps a report without time on arrival; receipt time keeps a replay identical.
    reading.warnings.append(warning("required", "query.timestamp", "no timestamp: the time of "
                                    "receipt is used; send the time of the fix"))
    return meta.received_at


def _json_reports(body: dict[str, Any], reading: Reading) -> list[tuple[str, Any]]:
    """Each report of the JSON body with its element: one object, or a list (batch sync)."""
    location = body.get("location")
    if isinstance(location, dict):
        return [("location", location)]
    if isinstance(location, list) and location:
        return [(f"location[{i}]", report) for i, report in enumerate(location)]
    reading.errors.append(error("required", "location", "give location as an object, or a "
                                "non-empty list of objects, with timestamp and coords"))
    return []


def _json_fix(report: Any, where: str, reading: Reading) -> Fix | None:
    """One JSON location report, or None when it has no position (or is faulty)."""
    if not isinstance(report, dict):
        reading.errors.append(error("structure", where, "a location report must be an object"))
        return None
    if "timestamp" not in report:
        reading.errors.append(error("required", f"{where}.timestamp",
                                    "give the time of the fix (ISO 8601 with timezone)"))
        return None
    observed_at = reading.instant(report["timestamp"], f"{where}.timestamp")
    coords = report.get("coords")
    if coords is None:
        reading.warnings.append(warning("required", f"{where}.coords", "a report without "
                                        "coords (e.g. a heartbeat) stores no position"))
        return None
    if not isinstance(coords, dict):
        reading.errors.append(error("structure", f"{where}.coords", "coords must be an object"))
        return None
    at = f"{where}.coords"
    latitude = _required_coordinate(coords, "latitude", at, 90, reading)
    longitude = _required_coordinate(coords, "longitude", at, 180, reading)
    speed = reading.optional(coords.get("speed"), f"{at}.speed", text=False)
    heading = reading.heading(coords.get("heading"), f"{at}.heading", text=False)
    accuracy = reading.optional(coords.get("accuracy"), f"{at}.accuracy", text=False)
    if latitude is None or longitude is None or observed_at is None:
        return None
    return Fix(where, observed_at, latitude, longitude, accuracy,
               _kmh(speed, METRE_PER_SECOND_IN_KMH), heading)


def _required_coordinate(coords: dict[str, Any], name: str, at: str, limit: float,
                         reading: Reading) -> float | None:
    if coords.get(name) is None:
        reading.errors.append(error("required", f"{at}.{name}",
                                    f"give {name} in WGS84 decimal degrees"))
        return None
    return reading.coordinate(coords[name], f"{at}.{name}", limit, text=False)


def _without_null_island(fixes: list[Fix], reading: Reading) -> list[Fix]:
    """Drop 0,0: trackers without a fix send it (Traccar reads it as 'no position' too)."""
    for fix in fixes:
        if fix.latitude == 0 and fix.longitude == 0:
            reading.warnings.append(warning("business-rule", fix.where, "position 0,0 means "
                                            "the tracker has no fix; no position stored"))
    return [fix for fix in fixes if fix.latitude != 0 or fix.longitude != 0]


def _not_in_future(fixes: list[Fix], meta: MessageMeta, reading: Reading) -> list[Fix]:
    """Drop reports stamped in the future (a tracker with a wrong clock), or older than the
    position history kept (30 days: one that was buffered too long), with a warning.

    Refusing them would make the tracker resend the same report forever and hold back every
    report queued behind it; dropping them keeps the rest flowing.
    """
    kept = []
    for fix in fixes:
        late = check_observed_at(fix.observed_at, meta, f"{fix.where}.timestamp",
                                 POSITION_RETENTION)
        if late is None:
            kept.append(fix)
        else:
            reading.warnings.append(warning("business-rule", late.expression,
                                            f"{late.diagnostics}; this report was not stored"))
    return kept


def _once_per_moment(fixes: list[Fix], reading: Reading) -> list[Fix]:
    """The first report of each moment; a repeat in the same payload is noted and dropped."""
    first: dict[datetime, Fix] = {}
    for fix in fixes:
        if fix.observed_at in first:
            reading.warnings.append(warning(
                "business-rule", f"{fix.where}.timestamp",
                f"repeats the moment of {first[fix.observed_at].where}; kept once"))
            continue
        first[fix.observed_at] = fix
    return list(first.values())


def _unit_kind(meta: MessageMeta) -> UnitKind:
    # The API tells the unit's sector (meta.sector); the kind of unit follows from it.
    kind = KIND_OF_SECTOR.get(meta.sector)
    if kind is None:
        raise AdapterError([error("business-rule", "unit", f"mobile unit {meta.location_id} has "
                                  f"sector {meta.sector!r}; positions are kept for ambulance, "
                                  "hap (visit car) and vvt (district nurse) units")])
    return kind


class OsmAndAdapter:
    """Traccar OsmAnd protocol (query string or Traccar Client JSON) -> positions."""

    source_format = "osmand"
    sector = "any"
    media_type: MediaType = "application/json"
    path: str | None = None  # its own routes, GET and POST /osmand: see api/osmand_routes.py
    subject: Subject = "mobile-unit"
    needs_mapping = False
    summary = "Positions of mobile units from trackers (Traccar OsmAnd protocol)"
    examples = Path(__file__).parent / "examples" / "osmand"

    def location_of(self, payload: Payload) -> str:
        """The mobile unit: the tracker's device id (`id`/`deviceid`, or JSON `device_id`)."""
        form, content = _form(payload)
        if form == "query":
            device = content.get("id") or content.get("deviceid")
            where, rule = "query.id", "give the unit's id as parameter id"
        else:
            device = content.get("device_id")
            where, rule = "device_id", "give the unit's id as device_id"
        if not isinstance(device, str | int) or isinstance(device, bool) or device == "":
            raise AdapterError([error("required", where, f"{rule} (registered with "
                                      "PUT /v1/mobile-units/{id})")])
        return str(device)

    def parse(self, payload: Payload, meta: MessageMeta) -> AdapterResult:
        """One position per report with a fix; every problem in the payload refuses it whole."""
        form, content = _form(payload)
        reading = Reading()
        if form == "query":
            fixes = [_query_fix(content, meta, reading)]
        else:
            fixes = [_json_fix(report, where, reading)
                     for where, report in _json_reports(content, reading)]
        found = _not_in_future(_without_null_island([f for f in fixes if f is not None], reading),
                               meta, reading)
        if reading.errors:
            raise AdapterError(reading.errors)
        kind = _unit_kind(meta)
        positions = [_position(fix, kind, meta) for fix in _once_per_moment(found, reading)]
        return AdapterResult([], reading.warnings, positions)


def _form(payload: Payload) -> tuple[Literal["query", "body"], dict[str, Any]]:
    """Which form the route wrapped (`query` or `body`) and its content."""
    wrapped = json_object(payload, "payload")
    for form in ("query", "body"):
        if form in wrapped:
            return form, json_object(wrapped[form], form)
    raise AdapterError([error("structure", "payload", "expected {'query': {...}} or "
                              "{'body': {...}} as built by the /osmand route")])


def _position(fix: Fix, kind: UnitKind, meta: MessageMeta) -> Position:
    return Position(
        unit_id=meta.location_id, unit_kind=kind, provider=meta.provider,
        latitude=fix.latitude, longitude=fix.longitude, accuracy_m=fix.accuracy_m,
        speed_kmh=fix.speed_kmh, heading_deg=fix.heading_deg, observed_at=fix.observed_at,
        received_at=meta.received_at, source_format=meta.source_format,
    )


ADAPTER = OsmAndAdapter()
