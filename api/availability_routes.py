"""Live availability for care coordination centres (ZCV): JSON, per location and item."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import groupby
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field

from api.deps import ConnDep
from definitions import Catalogue, Definition, load_catalogue
from storage.availability import LatestFigure, live_availability
from storage.units import UnitPosition, latest_unit_positions

router = APIRouter(prefix="/v1", tags=["Live capacity (care coordination)"])
FigureValue = int | float | bool | str | None


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


class LocationAvailability(BaseModel):
    """One location with its latest figures."""

    location_id: str
    name: str
    organization_id: str
    sector: str
    roaz_region: str
    latitude: float
    longitude: float
    figures: list[Figure]


class AvailabilityResponse(BaseModel):
    """Live availability in a region (or nationally), as of `generated_at`."""

    region: str | None
    generated_at: datetime
    locations: list[LocationAvailability]


def typed_value(row: LatestFigure, definition: Definition | None) -> FigureValue:
    """The stored value in the shape of the definition's value type."""
    if row.value_text is not None or row.value is None:
        return row.value_text
    kind = definition.value_type if definition else "quantity"
    if kind == "boolean":
        return row.value != 0
    return int(row.value) if kind == "count" else row.value


def _figure(row: LatestFigure, definition: Definition | None, now: datetime) -> Figure:
    deadline = definition.freshness_deadline if definition else None
    value = typed_value(row, definition)
    return Figure(
        definition=row.definition, definition_version=row.definition_version,
        label=definition.label.en if definition else row.definition,
        unit=definition.unit if definition else "",
        value=value, value_type=definition.value_type if definition else "unknown",
        reported=value is not None,
        not_reported_reason=row.not_reported_reason, observed_at=row.observed_at,
        age_seconds=round((now - row.observed_at).total_seconds(), 1),
        # An item without a definition cannot vouch for its freshness: call it stale.
        stale=definition.is_stale(row.observed_at, now) if definition else True,
        freshness_deadline_seconds=int(deadline.total_seconds()) if deadline else 0,
    )


def _version_of(catalogue: Catalogue, row: LatestFigure) -> Definition | None:
    # The figure is explained by the version it was observed under, not by today's version.
    return catalogue.version(row.definition, row.definition_version) or catalogue.get(
        row.definition)


def _in_category(catalogue: Catalogue, row: LatestFigure, categories: set[str]) -> bool:
    definition = catalogue.get(row.definition)
    return definition is not None and definition.category in categories


def _locations(rows: list[LatestFigure], now: datetime,
               categories: set[str]) -> list[LocationAvailability]:
    catalogue = load_catalogue()
    result = []
    wanted = [r for r in rows if _in_category(catalogue, r, categories)]
    for _, group in groupby(wanted, key=lambda r: r.location_id):
        figures = list(group)
        first = figures[0]
        result.append(LocationAvailability(
            location_id=first.location_id, name=first.location_name,
            organization_id=first.organization_id, sector=first.sector,
            roaz_region=first.roaz_region, latitude=first.latitude, longitude=first.longitude,
            figures=[_figure(f, _version_of(catalogue, f), now) for f in figures],
        ))
    return result


def _check_region(region: str | None) -> None:
    if region is not None and region not in load_catalogue().regions:
        known = ", ".join(sorted(load_catalogue().regions))
        raise HTTPException(422, f"unknown ROAZ region {region!r}; one of {known}")


Region = Annotated[str | None, Query(description="ROAZ region code; omit for national")]
Sector = Annotated[str | None, Query(description="hospital, hap, gp-practice, vvt, ggz, ambulance")]


async def _live(conn: ConnDep, region: str | None, sector: str | None,
                categories: set[str]) -> AvailabilityResponse:
    _check_region(region)
    now = datetime.now(UTC)
    rows = await live_availability(conn, region=region, sector=sector)
    return AvailabilityResponse(region=region, generated_at=now,
                                locations=_locations(rows, now, categories))


@router.get("/availability", response_model=AvailabilityResponse)
async def availability(conn: ConnDep, region: Region = None,
                       sector: Sector = None) -> AvailabilityResponse:
    """Available capacity per location and item: the latest value, when it was observed, and
    whether it is stale; 'not reported' is distinct from 0."""
    return await _live(conn, region, sector, {"available_capacity"})


@router.get("/busyness", response_model=AvailabilityResponse)
async def busyness(conn: ConnDep, region: Region = None,
                   sector: Sector = None) -> AvailabilityResponse:
    """Busyness per location: SEH NEDOCS, HAP uitloop, VVT level, ambulance deployment."""
    return await _live(conn, region, sector, {"busyness"})


class UnitOut(BaseModel):
    """A mobile unit's latest position (and status, for ambulances)."""

    id: str
    kind: str
    organization_id: str
    label: str
    roaz_region: str
    latitude: float
    longitude: float
    observed_at: datetime
    age_seconds: float
    stale: bool
    speed_kmh: float | None
    heading_deg: float | None
    status: str | None
    status_observed_at: datetime | None


POSITION_DEFINITION = {"ambulance": "ambulance.vehicle.position",
                       "hap-visit-car": "hap.visit_car.position",
                       "district-nurse": "vvt.district_nurse.position"}


def _unit_out(unit: UnitPosition, now: datetime) -> UnitOut:
    definition = load_catalogue().get(POSITION_DEFINITION[unit.kind])
    stale = definition.is_stale(unit.observed_at, now) if definition else True
    return UnitOut(**vars(unit), stale=stale,
                   age_seconds=round((now - unit.observed_at).total_seconds(), 1))


@router.get("/units", response_model=list[UnitOut])
async def units(
    conn: ConnDep, region: Region = None,
    kind: Annotated[str | None, Query(description="ambulance, hap-visit-car, district-nurse")]
    = None,
) -> list[UnitOut]:
    """Where the mobile units are: latest position per unit, with its age and staleness."""
    _check_region(region)
    now = datetime.now(UTC)
    return [_unit_out(u, now) for u in await latest_unit_positions(conn, region=region,
                                                                   kind=kind)]
