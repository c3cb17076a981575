"""Reading one LSIV feed message (our shape `lsiv/v1`, see docs/lsiv.md) into typed parts.

Pure, like every adapter: the stream stages use it to learn the vehicle of a message and its
status before the message is wrapped as raw input, and the adapter uses it to map it. Every
problem is collected first and raised together, so a dispatch centre sees all of them at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from adapters.base import (
    MAX_CLOCK_SKEW,
    AdapterError,
    Issue,
    Payload,
    error,
    json_object,
    parse_instant,
)
from core.ids import ID
from definitions import load_catalogue

Kind = Literal["vehicle-status", "avls-position"]
KINDS: tuple[Kind, ...] = ("vehicle-status", "avls-position")
# Which urgency classes a vehicle type can serve: A is fully equipped, B is a zorgambulance.
CAPABILITIES = {"A": ("A1", "A2", "B"), "B": ("B",)}
# Where Dutch ambulances drive: the Netherlands and the border area (hospitals in Antwerp,
# Aachen, ...). A fix outside it, such as (0, 0), is an AVLS error, not a ride.
SERVICE_AREA = {"lat": (50.0, 54.0), "lon": (2.5, 8.0)}
LIMITS = {"speed_kmh": (0.0, 300.0), "heading_deg": (0.0, 360.0), "accuracy_m": (0.0, 10_000.0)}
# A vehicle id is also the mobile unit id (the API's rule for unit ids).
VEHICLE_ID = ID
ENVELOPE = {"kind", "message_id", "vehicle", "at"}
FIELDS = {"vehicle-status": ENVELOPE | {"status"}, "avls-position": ENVELOPE | {"position"}}
VEHICLE_FIELDS = {"id", "call_sign", "rav_region", "type"}
POSITION_FIELDS = {"lat", "lon", *LIMITS}


@dataclass(frozen=True)
class LsivVehicle:
    """An ambulance as LSIV names it."""

    id: str
    call_sign: str
    rav_region: str
    type: Literal["A", "B"]

    @property
    def capabilities(self) -> list[str]:
        """The urgency classes the vehicle can serve."""
        return list(CAPABILITIES[self.type])


@dataclass(frozen=True)
class LsivPosition:
    """An AVLS fix, WGS84."""

    latitude: float
    longitude: float
    speed_kmh: float | None
    heading_deg: float | None
    accuracy_m: float | None


@dataclass(frozen=True)
class LsivMessage:
    """One feed message: a status change (`status`) or an AVLS position (`position`)."""

    kind: Kind
    message_id: str
    vehicle: LsivVehicle
    at: datetime
    status: str | None = None
    position: LsivPosition | None = None


def _text(body: Mapping[str, Any], name: str, where: str, problems: list[Issue],
          max_length: int = 128) -> str:
    value = body.get(name)
    if isinstance(value, str) and 0 < len(value) <= max_length:
        return value
    problems.append(error("required" if value is None else "value", f"{where}{name}",
                          f"give {name} as text of 1 to {max_length} characters"))
    return ""


def _unknown(body: Mapping[str, Any], known: set[str], where: str) -> list[Issue]:
    # A typo must not be silently ignored.
    return [error("structure", f"{where}{name}", f"unknown field {name!r}; expected one of "
                  f"{', '.join(sorted(known))}") for name in body if name not in known]


def _object(body: Mapping[str, Any], name: str, problems: list[Issue]) -> Mapping[str, Any]:
    value = body.get(name)
    if isinstance(value, dict):
        return value
    problems.append(error("required" if value is None else "structure", name,
                          f"give {name} as a JSON object"))
    return {}


def _vehicle(body: Mapping[str, Any], problems: list[Issue]) -> LsivVehicle:
    vehicle = _object(body, "vehicle", problems)
    if not isinstance(body.get("vehicle"), dict):  # refused by _object: a stand-in
        return LsivVehicle("", "", "", "A")
    problems += _unknown(vehicle, VEHICLE_FIELDS, "vehicle.")
    vehicle_id = _text(vehicle, "id", "vehicle.", problems, 64)
    if vehicle_id and not VEHICLE_ID.fullmatch(vehicle_id):
        problems.append(error("value", "vehicle.id", "use only letters, digits, '-' and '.' "
                              f"in a vehicle id, got {vehicle_id!r}"))
    call_sign = _text(vehicle, "call_sign", "vehicle.", problems, 32)
    region = vehicle.get("rav_region")
    if not isinstance(region, str) or region not in load_catalogue().safety_regions:
        problems.append(error("value", "vehicle.rav_region", "give the RAV region as the "
                              f"veiligheidsregio code vr01 to vr25, got {region!r}"))
    kind = vehicle.get("type")
    if not isinstance(kind, str) or kind not in CAPABILITIES:
        problems.append(error("value", "vehicle.type", "give the vehicle type: 'A' (fully "
                              f"equipped, A1/A2/B) or 'B' (zorgambulance, B only), got {kind!r}"))
    return LsivVehicle(vehicle_id, call_sign, str(region), "B" if kind == "B" else "A")


def _status(body: Mapping[str, Any], problems: list[Issue]) -> str | None:
    status = body.get("status")
    statuses = load_catalogue().vehicle_statuses
    if isinstance(status, str) and status in statuses:
        return status
    problems.append(error("value", "status", "give the LSIV vehicle status as text, one of "
                          f"{', '.join(statuses)}; got {status!r}"))
    return None


def _number(body: Mapping[str, Any], name: str, bounds: tuple[float, float],
            problems: list[Issue], why: str = "") -> float | None:
    value = body.get(name)
    if value is None:
        return None
    low, high = bounds
    if isinstance(value, bool) or not isinstance(value, int | float):
        problems.append(error("value", f"position.{name}", f"give {name} as a number, "
                              f"got {value!r}"))
        return None
    if not low <= value <= high:
        problems.append(error("value", f"position.{name}", f"{name} must lie within "
                              f"[{low:g}, {high:g}]{why}, got {value:g}"))
        return None
    return float(value)


def _position(body: Mapping[str, Any], problems: list[Issue]) -> LsivPosition | None:
    fix = _object(body, "position", problems)
    if not isinstance(body.get("position"), dict):  # refused by _object
        return None
    problems += _unknown(fix, POSITION_FIELDS, "position.")
    area = " (the Netherlands and its border area)"
    for name in ("lat", "lon"):
        if fix.get(name) is None:
            problems.append(error("required", f"position.{name}", f"give {name} (WGS84 degrees)"))
    latitude = _number(fix, "lat", SERVICE_AREA["lat"], problems, area)
    longitude = _number(fix, "lon", SERVICE_AREA["lon"], problems, area)
    extras = {name: _number(fix, name, bounds, problems) for name, bounds in LIMITS.items()}
    if latitude is None or longitude is None:
        return None
    return LsivPosition(latitude, longitude, **extras)


def _at(body: Mapping[str, Any], received_at: datetime, problems: list[Issue]) -> datetime:
    if "at" not in body:
        problems.append(error("required", "at", "give the moment of the status or fix "
                              "(ISO 8601 with timezone)"))
        return received_at
    try:
        moment = parse_instant(body["at"], "at")
    except AdapterError as exc:
        problems += exc.issues
        return received_at
    if moment > received_at + MAX_CLOCK_SKEW:
        problems.append(error("business-rule", "at", f"time {moment.isoformat()} lies in the "
                              f"future (received {received_at.isoformat()}, max skew "
                              f"{MAX_CLOCK_SKEW})"))
    return moment


def _kind(body: Mapping[str, Any], problems: list[Issue]) -> Kind | None:
    kind = body.get("kind")
    for known in KINDS:
        if kind == known:
            return known
    problems.append(error("value", "kind", f"give kind {' or '.join(KINDS)}, got {kind!r}"))
    return None


def read_message(payload: Payload, received_at: datetime) -> LsivMessage:
    """The typed message, or AdapterError with every problem (element and rule)."""
    body = json_object(payload, "LSIV message")
    problems: list[Issue] = []
    kind = _kind(body, problems)
    problems += _unknown(body, FIELDS[kind] if kind else set().union(*FIELDS.values()), "")
    message_id = _text(body, "message_id", "", problems)
    vehicle = _vehicle(body, problems)
    at = _at(body, received_at, problems)
    status = _status(body, problems) if kind == "vehicle-status" else None
    position = _position(body, problems) if kind == "avls-position" else None
    if problems or kind is None:
        raise AdapterError(problems)
    return LsivMessage(kind, message_id, vehicle, at, status, position)


def vehicle_id_of(payload: Payload) -> str:
    """The vehicle the message is about; AdapterError if it names none."""
    vehicle = json_object(payload, "LSIV message").get("vehicle")
    vehicle_id = vehicle.get("id") if isinstance(vehicle, dict) else None
    if not isinstance(vehicle_id, str) or not vehicle_id:
        raise AdapterError([error("required", "vehicle.id", "give the vehicle id as text")])
    return vehicle_id
