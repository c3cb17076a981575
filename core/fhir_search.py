"""FHIR search parameters: which ones the platform supports, and their values parsed.

Declared once (`SEARCH_PARAMETERS`): the search routes read their parameters from here, the
CapabilityStatement lists them, and the OpenAPI document shows them. Parsing follows the FHIR R4
search rules for the types used: token (`[system]|[code]`), reference (`[type]/[id]` or `[id]`),
date (a prefix `eq ne gt lt ge le sa eb` and a value whose precision makes a range), and the
special `near` of Location (`[latitude]|[longitude]|[distance]|[units]`, km when the units are
left out). A comma inside one value means OR; a parameter given twice means AND. Every value
that does not parse is refused with an issue naming the parameter (400).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from core.ids import ID
from core.refusals import Invalid, IssueType, error

SearchType = Literal["token", "reference", "date", "string", "special", "number", "uri"]
SPEC = "http://hl7.org/fhir/SearchParameter/"
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
PAGE_SIZE, MAX_PAGE_SIZE, MAX_OFFSET = 50, 200, 10_000
NEAR_DEFAULT_KM = 50.0  # `near` without a distance: what a coordination centre calls near
# UCUM codes of the distance units `near` takes, in km.
DISTANCE_UNITS = {"km": 1.0, "m": 0.001, "[mi_i]": 1.609344, "mi": 1.609344}


@dataclass(frozen=True)
class SearchParameter:
    """One supported search parameter of one resource type."""

    name: str
    type: SearchType
    definition: str  # the canonical SearchParameter it implements
    documentation: str


def _spec(resource: str, name: str, kind: SearchType, documentation: str) -> SearchParameter:
    canonical = f"{SPEC}Resource-id" if name == "_id" else f"{SPEC}{resource}-{name}"
    return SearchParameter(name, kind, canonical, documentation)


def _id(resource: str) -> SearchParameter:
    return _spec(resource, "_id", "token", f"the {resource}'s logical id")


SEARCH_PARAMETERS: dict[str, tuple[SearchParameter, ...]] = {
    "Organization": (
        _id("Organization"),
        _spec("Organization", "identifier", "token",
              "URA or AGB-Z: `http://fhir.nl/fhir/NamingSystem/ura|00000104`, or the number "
              "alone"),
        _spec("Organization", "name", "string", "the name starts with this (case-insensitive)"),
    ),
    "Location": (
        _id("Location"),
        _spec("Location", "identifier", "token", "an identifier of the location"),
        _spec("Location", "name", "string", "the name starts with this (case-insensitive)"),
        _spec("Location", "type", "token",
              "a type coding, e.g. the sector: "
              "`https://zorgcapaciteit.nl/fhir/CodeSystem/sector|hospital`"),
        _spec("Location", "organization", "reference",
              "the managing organisation: `Organization/<id>` or `<id>`"),
        _spec("Location", "near", "special",
              "`latitude|longitude|distance|units` (WGS84; units km, m or [mi_i], km when left "
              "out; without a distance 50 km): within that great-circle distance, nearest "
              "first, each entry with the location-distance extension"),
    ),
    "HealthcareService": (
        _id("HealthcareService"),
        _spec("HealthcareService", "organization", "reference",
              "the providing organisation: `Organization/<id>` or `<id>`"),
        _spec("HealthcareService", "location", "reference",
              "a location it is offered at: `Location/<id>` or `<id>`"),
        _spec("HealthcareService", "name", "string",
              "the name starts with this (case-insensitive)"),
    ),
    "MeasureReport": (
        _spec("MeasureReport", "subject", "reference", "the location: `Location/<id>`"),
        _spec("MeasureReport", "measure", "uri",
              "the measure's canonical URL: `https://zorgcapaciteit.nl/fhir/Measure/"
              "available-capacity` or `.../busyness`"),
        _spec("MeasureReport", "date", "date",
              "when the figures were true, with a prefix: `ge2026-11-22`, "
              "`lt2026-11-22T14:00:00+01:00`; without date and period: the last 24 hours"),
        _spec("MeasureReport", "period", "date",
              "the period reported on (one moment here: the time of the figures)"),
    ),
}
# Result parameters every search takes besides its own; `_format` only as JSON.
RESULT_PARAMETERS = ("_count", "_offset", "_format")
JSON_FORMATS = frozenset({"json", "application/json", "application/fhir+json"})


def parameter(resource: str, name: str) -> SearchParameter | None:
    """The supported search parameter `name` of `resource`, or None."""
    return next((p for p in SEARCH_PARAMETERS[resource] if p.name == name), None)


class SearchRefused(Invalid):
    """A search the server does not run as asked: a value that does not parse, a modifier or
    prefix it does not support, an unknown parameter under `handling=strict` (always 400)."""

    @property
    def http_status(self) -> int:
        """400, whatever the issue's type (`invalid`, `not-supported`)."""
        return 400


def refused(param: str, message: str, code: IssueType = "invalid") -> SearchRefused:
    """A search parameter that does not parse or is not supported: 400 naming it."""
    return SearchRefused([error(code, param, message)])


def alternatives(value: str) -> list[str]:
    """The OR-ed values of one parameter value (`a,b`); `\\,` is a literal comma."""
    parts = re.split(r"(?<!\\),", value)
    return [part.replace("\\,", ",") for part in parts]


@dataclass(frozen=True)
class Token:
    """A token value: `system|code`; None means any, `no_system` the code without a system."""

    system: str | None
    code: str | None
    no_system: bool = False


def parse_token(value: str, param: str) -> Token:
    """`system|code`, `code` (any system), `system|` (any code), `|code` (no system)."""
    if "|" not in value:
        if not value:
            raise refused(param, "give a code, or system|code")
        return Token(None, value)
    system, _, code = value.partition("|")
    if not system and not code:
        raise refused(param, "give system|code, system| or |code")
    if not system:
        return Token(None, code, no_system=True)
    return Token(system, code or None)


def parse_reference(value: str, target: str, param: str) -> str:
    """The id a reference value names: `<target>/<id>`, `<id>`, or a URL ending in either."""
    parts = [p for p in value.split("/") if p]
    if not parts:
        raise refused(param, f"give {target}/<id> or <id>")
    if len(parts) >= 2 and parts[-2] != target and (len(parts) > 2 or "://" not in value):
        raise refused(param, f"{value!r} does not refer to a {target}")
    found = parts[-1]
    if not ID.fullmatch(found):
        raise refused(param, f"{found!r} is not a FHIR id")
    return found


@dataclass(frozen=True)
class Near:
    """A point (WGS84) and the distance from it that counts as near."""

    latitude: float
    longitude: float
    distance_km: float


def parse_near(value: str, param: str = "near") -> Near:
    """`latitude|longitude|distance|units`; distance and units may be left out."""
    parts = value.split("|")
    if not 2 <= len(parts) <= 4:
        raise refused(param, "give latitude|longitude|distance|units, e.g. 52.09|5.12|25|km")
    try:
        latitude, longitude = float(parts[0]), float(parts[1])
        distance = float(parts[2]) if len(parts) > 2 and parts[2] else None
    except ValueError:
        raise refused(param, f"{value!r}: latitude, longitude and distance are decimal "
                             "numbers") from None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise refused(param, f"{value!r} lies outside latitude -90..90 / longitude -180..180")
    unit = parts[3] if len(parts) > 3 and parts[3] else "km"
    if unit not in DISTANCE_UNITS:
        raise refused(param, f"unknown distance unit {unit!r}; one of "
                             f"{', '.join(DISTANCE_UNITS)} (UCUM)")
    if distance is not None and not 0 <= distance * DISTANCE_UNITS[unit] <= 20_100:
        raise refused(param, f"{value!r}: the distance must lie between 0 and half the Earth")
    km = NEAR_DEFAULT_KM if distance is None else distance * DISTANCE_UNITS[unit]
    return Near(latitude, longitude, km)


Prefix = Literal["eq", "ne", "gt", "lt", "ge", "le", "sa", "eb"]
PREFIXES: tuple[Prefix, ...] = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb")
_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?"
                   r"(Z|[+-]\d{2}:\d{2})?)?)?)?$")


@dataclass(frozen=True)
class DateRange:
    """A date search value: the prefix and the range [start, end) its precision spans."""

    prefix: Prefix
    start: datetime
    end: datetime

    def bounds(self) -> tuple[datetime | None, datetime | None, bool]:
        """(at or after, before, negated): the instants that match, as one range."""
        match self.prefix:
            case "eq":
                return self.start, self.end, False
            case "ne":
                return self.start, self.end, True
            case "gt" | "sa":
                return self.end, None, False
            case "lt" | "eb":
                return None, self.start, False
            case "ge":
                return self.start, None, False
            case _:  # le
                return None, self.end, False


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def parse_date(value: str, param: str) -> DateRange:
    """A prefixed date, dateTime or instant; without a timezone a date is Dutch local time."""
    prefix: Prefix = "eq"
    if value[:2] in PREFIXES:
        prefix, value = value[:2], value[2:]  # type: ignore[assignment]
    elif value[:2] == "ap":
        raise refused(param, "the prefix ap is not supported; give a range with ge and le",
                      "not-supported")
    found = _DATE.match(value)
    if found is None:
        raise refused(param, f"{value!r} is not a FHIR date: YYYY, YYYY-MM, YYYY-MM-DD or "
                             "YYYY-MM-DDThh:mm[:ss]+zz:zz, after an optional prefix")
    year, month, day, hour, minute, second, fraction, zone = found.groups()
    try:
        if hour is None:
            start_day = date(int(year), int(month or 1), int(day or 1))
            end_day = (start_day + timedelta(days=1) if day else _next_month(start_day)
                       if month else date(start_day.year + 1, 1, 1))
            return DateRange(prefix, datetime.combine(start_day, time(0), AMSTERDAM),
                             datetime.combine(end_day, time(0), AMSTERDAM))
        if zone is None:
            raise refused(param, f"{value!r}: a time needs a timezone, e.g. +01:00 or Z")
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise refused(param, f"{value!r} is not a date: {exc}") from None
    step = (timedelta(microseconds=1) if fraction else timedelta(seconds=1) if second
            else timedelta(minutes=1))
    return DateRange(prefix, moment, moment + step)


def last_day(now: datetime | None = None) -> DateRange:
    """The default time range of a MeasureReport search: the last 24 hours."""
    moment = (now or datetime.now(UTC)).replace(microsecond=0)
    return DateRange("ge", moment - timedelta(days=1), moment - timedelta(days=1))


def parse_count(value: str | None) -> int:
    """`_count`: the page size, 0 (only the total) to MAX_PAGE_SIZE; PAGE_SIZE by default."""
    if value is None:
        return PAGE_SIZE
    if not value.isdigit():
        raise refused("_count", f"{value!r}: give a whole number 0..{MAX_PAGE_SIZE}")
    return min(int(value), MAX_PAGE_SIZE)


def parse_offset(value: str | None) -> int:
    """`_offset`: where the page starts (the `next` links carry it)."""
    if value is None:
        return 0
    if not value.isdigit() or int(value) > MAX_OFFSET:
        raise refused("_offset", f"{value!r}: give a whole number 0..{MAX_OFFSET}; narrow the "
                                 "search to go further")
    return int(value)
