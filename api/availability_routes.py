"""Live availability and busyness for care coordination centres (ZCV): JSON, per location.

The filters shared by the live queries (region and its neighbours, sector, item, a point and a
radius) are parsed here once, as the dependency `live_filters_of` builds per category (its
`item` lists what the category has). Each figure carries the consistency rules it breaks
together with the location's other latest figures (`flags`), computed as the answer is built,
from the rows of the same one query.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from adapters.base import MAX_CLOCK_SKEW
from api.access import CAPACITY_READERS, Access, PrincipalDep, add_route
from api.deps import ConnDep
from api.ownership import read_scope
from core.figures import FigureFields, item_filters, item_matches
from core.geo import POINT_PATTERN, Point, parse_point
from core.identity import Principal
from core.planning import free_after_bookings, held_figure
from core.refusals import Invalid
from core.retention import EARLIEST_YEAR
from definitions import Catalogue, Definition, load_catalogue
from definitions.catalogue import SECTORS
from definitions.planning import load_planning
from definitions.rules import RuleSet, Violation
from storage.availability import LiveLocation, live_locations
from storage.planning import PlanningCounts, planning_counts

FigureValue = int | float | bool | str | None


class Flag(BaseModel):
    """A consistency rule (definitions/rules/*.yaml) that this figure breaks together with
    other latest figures of its location, which may have come in other messages."""

    model_config = ConfigDict(populate_by_name=True)

    rule: str = Field(description="the rule's id, e.g. hospital.beds.ic.occupied-within-staffed")
    rule_version: int
    severity: Literal["refuse", "warn"] = Field(
        description="refuse: figures of one message that break it are refused, so these came "
                    "from different messages or moments; warn: it can be true, e.g. in a surge")
    message: str = Field(description="the figures compared and why they should fit")
    with_items: list[str] = Field(alias="with", description="the other items compared")


class Figure(BaseModel):
    """The latest figure of one item at one location. `value` null means not reported."""

    definition: str
    definition_version: int
    label: str
    unit: str
    value: FigureValue = Field(
        description="number, true/false or text as the definition's value type says; "
                    "null means not reported")
    value_type: str
    reported: bool = Field(description="false: the provider said it does not know (not 0)")
    not_reported_reason: str | None
    observed_at: datetime
    age_seconds: float
    stale: bool = Field(description="older than the item's freshness deadline")
    freshness_deadline_seconds: int
    flags: list[Flag] = Field(
        default_factory=list,
        description="consistency rules this figure breaks with the location's other latest "
                    "figures; empty when they fit or cannot be compared (not reported)")
    available: int | None = Field(
        None, description="bed items that can be held (docs/planning.md): the provider's own "
                          "figure, as `value`, shown beside `held` and `available_unheld`; "
                          "null for other items and when not reported")
    held: int | None = Field(
        None, description="bed items that can be held (docs/planning.md): places held by ZCVs "
                          "now; `value` stays the provider's own figure")
    available_unheld: int | None = Field(
        None, description="bed items that can be held: `value` minus `held`, never below 0; "
                          "null when the figure is not reported")
    booked: int | None = Field(
        None, description="free-consult items: slots booked through the platform that the "
                          "practice's latest agenda still counted as free; already subtracted "
                          "from `value`")


class LocationAvailability(BaseModel):
    """One location with its latest figures."""

    location_id: str
    name: str
    organization_id: str
    sector: str
    roaz_region: str
    latitude: float
    longitude: float
    distance_km: float | None = Field(
        None, description="great-circle distance to `near`; null when no point was given")
    figures: list[Figure]


class AvailabilityResponse(BaseModel):
    """Live figures in a region (or nationally), as of `generated_at`."""

    region: str | None
    regions: list[str] | None = Field(
        description="the ROAZ regions covered (with neighbours when asked); null = national")
    generated_at: datetime
    locations: list[LocationAvailability] = Field(
        description="by location id, or nearest first when `near` was given")


def typed_value(row: FigureFields, definition: Definition | None) -> FigureValue:
    """The stored value in the shape of the definition's value type."""
    return number_as(definition, row.value) if row.value_text is None else row.value_text


def number_as(definition: Definition | None, value: float | None) -> FigureValue:
    """A stored number as the definition's value type says: count → int, boolean → bool."""
    if value is None:
        return None
    kind = definition.value_type if definition else "quantity"
    if kind == "boolean":
        return value != 0
    return int(value) if kind == "count" else value


def _flag(violation: Violation, item: str) -> Flag:
    rule = violation.rule
    return Flag(rule=rule.id, rule_version=rule.version, severity=rule.severity,
                message=violation.describe(),
                with_items=[other for other in violation.items if other != item])


IMPLAUSIBLE_TIME = "platform.observed-time-plausible"


def implausible_time(observed_at: datetime, now: datetime) -> Flag | None:
    """A flag for a stored figure whose observed time cannot be true: before 1900, or ahead
    of now (a time the platform refuses today, or one it could not read back at all: see
    storage/timestamps.py). The figure is shown, stale, rather than failing its region."""
    if observed_at.year >= EARLIEST_YEAR and observed_at <= now + MAX_CLOCK_SKEW:
        return None
    return Flag(rule=IMPLAUSIBLE_TIME, rule_version=1, severity="refuse", with_items=[],
                message=f"the stored observed time {observed_at.isoformat()} cannot be true "
                        f"(before {EARLIEST_YEAR} or in the future): the figure is shown as "
                        "stale; do not rely on it until the provider sends it again")


@dataclass(frozen=True)
class Planned:
    """What the planning module adds to one figure: live holds or counted bookings."""

    held: int | None = None
    booked: int | None = None


def _figure(row: FigureFields, definition: Definition | None, now: datetime,
            broken: list[Violation], planned: Planned = Planned()) -> Figure:
    deadline = definition.freshness_deadline if definition else None
    value = typed_value(row, definition)
    available = held = unheld = None
    if planned.held is not None:
        side = held_figure(row.value, planned.held)
        available, held, unheld = side.available, side.held, side.available_unheld
    if planned.booked is not None:
        value = free_after_bookings(row.value, planned.booked)
    odd_time = implausible_time(row.observed_at, now)
    flags = [_flag(violation, row.definition) for violation in broken]
    return Figure(
        definition=row.definition, definition_version=row.definition_version,
        label=definition.label.en if definition else row.definition,
        unit=definition.unit if definition else "",
        value=value, value_type=definition.value_type if definition else "unknown",
        reported=value is not None,
        not_reported_reason=row.not_reported_reason, observed_at=row.observed_at,
        age_seconds=round((now - row.observed_at).total_seconds(), 1),
        # An item without a definition cannot vouch for its freshness: call it stale.
        stale=odd_time is not None or (definition.is_stale(row.observed_at, now)
                                       if definition else True),
        freshness_deadline_seconds=int(deadline.total_seconds()) if deadline else 0,
        flags=flags if odd_time is None else [odd_time, *flags],
        available=available, held=held, available_unheld=unheld, booked=planned.booked,
    )


def _version_of(catalogue: Catalogue, row: FigureFields) -> Definition | None:
    # The figure is explained by the version it was observed under, not by today's version.
    return catalogue.version(row.definition, row.definition_version) or catalogue.get(
        row.definition)


def _locations(rows: Sequence[LiveLocation], now: datetime, rules: RuleSet,
               shown: Collection[str] | None = None,
               counts: PlanningCounts | None = None) -> list[LocationAvailability]:
    """The locations of `rows` with their figures of the `shown` items (None: all), each
    flagged with the rules it breaks against the location's other figures."""
    catalogue = load_catalogue()
    result = []
    for row in rows:
        broken = rules.flags({f.definition: f.value if f.value_text is None else None
                              for f in row.figures})
        figures = row.figures if shown is None else [
            f for f in row.figures if f.definition in shown]
        if not figures:
            continue  # it reports only items fetched to compare with
        result.append(LocationAvailability(
            location_id=row.location_id, name=row.location_name,
            organization_id=row.organization_id, sector=row.sector,
            roaz_region=row.roaz_region, latitude=row.latitude, longitude=row.longitude,
            distance_km=None if row.distance_km is None else round(row.distance_km, 2),
            figures=[_figure(f, _version_of(catalogue, f), now, broken.get(f.definition, []),
                             _planned(row.location_id, f, counts)) for f in figures],
        ))
    return result


def _planned(location_id: str, row: FigureFields, counts: PlanningCounts | None) -> Planned:
    if counts is None:
        return Planned()
    key = (location_id, row.definition)
    planning = load_planning()
    if row.definition in planning.held_items():
        return Planned(held=counts.held.get(key, 0))
    if any(w.item == row.definition for w in planning.consult_windows):
        return Planned(booked=counts.booked.get(key, 0))
    return Planned()


async def planning_counts_of(conn: ConnDep, rows: Sequence[LiveLocation]) -> PlanningCounts:
    """Holds and bookings of the locations in `rows` that report a holdable or bookable item."""
    planning = load_planning()
    planned = {*planning.held_items(), *(w.item for w in planning.consult_windows)}
    locations = sorted({r.location_id for r in rows
                        if any(f.definition in planned for f in r.figures)})
    if not locations:
        return PlanningCounts({}, {})
    return await planning_counts(conn, location_ids=locations, windows=[
        (w.item, w.hours) for w in planning.consult_windows])


def check_region(region: str | None) -> None:
    """422 for a region code that is not one of the ten ROAZ regions."""
    if region is not None and region not in load_catalogue().regions:
        known = ", ".join(sorted(load_catalogue().regions))
        raise Invalid(f"unknown ROAZ region {region!r}; one of {known}", "region")


def regions_in_scope(region: str | None, neighbours: bool) -> list[str] | None:
    """The region, plus its neighbours when asked; None (national) without a region."""
    check_region(region)
    if region is None:
        if neighbours:
            raise Invalid("neighbours=true needs a region", "neighbours")
        return None
    if not neighbours:
        return [region]
    return [region, *load_catalogue().regions[region].neighbours]


def check_sector(sector: str | None) -> None:
    """422 for a sector code that is not one of the six."""
    if sector is not None and sector not in SECTORS:
        raise Invalid(f"unknown sector {sector!r}; one of {', '.join(SECTORS)}", "sector")


def point_of(near: str | None, radius_km: float | None) -> Point | None:
    """The parsed `near` point; 422 when malformed or when a radius comes without it."""
    if near is None:
        if radius_km is not None:
            raise Invalid("radius_km needs near=latitude,longitude", "radius_km")
        return None
    return required_point(near)


def required_point(near: str) -> Point:
    """`near` parsed as a point; 422 naming the problem otherwise."""
    try:
        return parse_point(near)
    except ValueError as exc:
        raise Invalid(f"near: {exc}", "near") from None


def check_item(item: str | None, codes: list[str]) -> None:
    """422 when `item` is neither a definition code nor a prefix of one among `codes`."""
    if item is not None and not any(item_matches(code, item) for code in codes):
        raise Invalid(f"no {', '.join(sorted({c.split('.')[0] for c in codes}))} item is or "
                      f"starts with {item!r}; see GET /v1/definitions", "item")


# The codes the checks above take, as the document's enums (the same lists, declared once).
REGION_CODES = {"enum": sorted(load_catalogue().regions)}
SECTOR_CODES = {"enum": list(SECTORS)}
Region = Annotated[str | None, Query(description="ROAZ region code, e.g. `west`; omit for "
                                                 "national", json_schema_extra=REGION_CODES)]
Neighbours = Annotated[bool, Query(description="also the regions bordering `region`")]
SectorFilter = Annotated[str | None, Query(description="sector of the location: "
                                                       + ", ".join(SECTORS),
                                           json_schema_extra=SECTOR_CODES)]
ITEM_TEXT = ("a definition code (`hospital.beds.ic.available`) or a prefix of whole "
             "dot-separated segments (`hospital.beds.ic`, `vvt.beds.elv_palliative`)")
Item = Annotated[str | None, Query(description=ITEM_TEXT)]
# The document's pattern is the one parse_point applies (core/geo.py).
POINT = {"pattern": POINT_PATTERN}
Near = Annotated[str | None, Query(
    description="`latitude,longitude` (WGS84): order by distance to this point",
    examples=["52.0907,5.1214"], json_schema_extra=POINT)]
RadiusKm = Annotated[float | None, Query(gt=0, le=500,
                                         description="only within this many km of `near`")]


@dataclass(frozen=True)
class LiveFilters:
    """The filters of a live query, checked."""

    region: str | None
    regions: list[str] | None
    sector: str | None
    item: str | None
    near: Point | None
    radius_km: float | None


def live_filters(region: Region = None, neighbours: Neighbours = False,
                 sector: SectorFilter = None, item: Item = None, near: Near = None,
                 radius_km: RadiusKm = None) -> LiveFilters:
    """The shared query parameters of the live endpoints, validated (422 otherwise)."""
    check_sector(sector)
    return LiveFilters(region=region, regions=regions_in_scope(region, neighbours),
                       sector=sector, item=item, near=point_of(near, radius_km),
                       radius_km=radius_km)


def live_filters_of(category: str) -> Callable[..., Awaitable[LiveFilters]]:
    """`live_filters` as a dependency of the endpoint of one category: its `item` parameter
    lists the codes and prefixes the category has (what `check_item` takes), so the document
    says which filters exist."""
    items = {"enum": item_filters(category_codes(category))}

    async def dependency(region: Region = None, neighbours: Neighbours = False,
                         sector: SectorFilter = None,
                         item: str | None = Query(None, description=ITEM_TEXT,  # noqa: B008
                                                  json_schema_extra=items),
                         near: Near = None, radius_km: RadiusKm = None) -> LiveFilters:
        # async: a plain def would cost a thread hop.
        return live_filters(region, neighbours, sector, item, near, radius_km)

    return dependency


def category_codes(category: str) -> list[str]:
    """Every item code in a category."""
    return sorted(d.code for d in load_catalogue().current_all() if d.category == category)


async def live(conn: ConnDep, principal: Principal, filters: LiveFilters,
               category: str) -> AvailabilityResponse:
    """The latest figures of one category's items, filtered, within what the caller may read,
    flagged by the rules in force today. The items the rules compare them with are read in
    the same query and left out of the answer."""
    codes = category_codes(category)
    check_item(filters.item, codes)
    scope = read_scope(principal, filters.regions)
    now = datetime.now(UTC)
    shown = frozenset(c for c in codes if filters.item is None or item_matches(c, filters.item))
    rules = load_catalogue().rules.in_force(now.date())
    rows = await live_locations(
        conn, regions=scope.regions, organization=scope.organization, sector=filters.sector,
        definitions=sorted(shown | rules.partners(shown)), near=filters.near,
        radius_km=filters.radius_km)
    counts = (await planning_counts_of(conn, rows) if category == "available_capacity"
              else None)
    return AvailabilityResponse(region=filters.region, regions=filters.regions,
                                generated_at=now,
                                locations=_locations(rows, now, rules, shown, counts))


async def availability(
    conn: ConnDep, principal: PrincipalDep,
    filters: Annotated[LiveFilters, Depends(availability_filters)],
) -> AvailabilityResponse:
    """Available capacity per location and item: the latest value, when it was observed, its
    age, whether it is stale, and the definition version; 'not reported' is distinct from 0.

    Narrow it by ROAZ region (with its neighbours), sector, item or item prefix, and a radius
    around a point (then nearest first, each location with its `distance_km`)."""
    return await live(conn, principal, filters, "available_capacity")


async def busyness(
    conn: ConnDep, principal: PrincipalDep,
    filters: Annotated[LiveFilters, Depends(busyness_filters)],
) -> AvailabilityResponse:
    """Busyness per location: SEH NEDOCS, HAP uitloop, VVT level, ambulance deployment; the
    same filters as /v1/availability. Per region: /v1/busyness/regions."""
    return await live(conn, principal, filters, "busyness")


availability_filters = live_filters_of("available_capacity")
busyness_filters = live_filters_of("busyness")


def router() -> APIRouter:
    """The live per-location queries."""
    built = APIRouter(prefix="/v1", tags=["Live capacity (care coordination)"])
    add_route(built, "/availability", availability, methods=["GET"],
              response_model=AvailabilityResponse,
              rule=Access(CAPACITY_READERS, "read availability", "read"))
    add_route(built, "/busyness", busyness, methods=["GET"], response_model=AvailabilityResponse,
              rule=Access(CAPACITY_READERS, "read busyness", "read"))
    return built
