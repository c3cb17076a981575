"""Live availability for care coordination centres (ZCV): JSON, per location and item."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import groupby
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field

from api.deps import ConnDep
from definitions import Definition, load_catalogue
from storage.availability import LatestFigure, live_availability

router = APIRouter(prefix="/v1", tags=["Live capacity (care coordination)"])


class Figure(BaseModel):
    """The latest figure of one item at one location. `value` null means not reported."""

    definition: str
    definition_version: int
    label: str
    unit: str
    value: float | None
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


def _figure(row: LatestFigure, definition: Definition | None, now: datetime) -> Figure:
    deadline = definition.freshness_deadline if definition else None
    return Figure(
        definition=row.definition, definition_version=row.definition_version,
        label=definition.label.en if definition else row.definition,
        unit=definition.unit if definition else "",
        value=row.value, reported=row.value is not None,
        not_reported_reason=row.not_reported_reason, observed_at=row.observed_at,
        age_seconds=round((now - row.observed_at).total_seconds(), 1),
        # An item without a definition cannot vouch for its freshness: call it stale.
        stale=definition.is_stale(row.observed_at, now) if definition else True,
        freshness_deadline_seconds=int(deadline.total_seconds()) if deadline else 0,
    )


def _locations(rows: list[LatestFigure], now: datetime) -> list[LocationAvailability]:
    catalogue = load_catalogue()
    result = []
    for _, group in groupby(rows, key=lambda r: r.location_id):
        figures = list(group)
        first = figures[0]
        result.append(LocationAvailability(
            location_id=first.location_id, name=first.location_name,
            organization_id=first.organization_id, sector=first.sector,
            roaz_region=first.roaz_region, latitude=first.latitude, longitude=first.longitude,
            figures=[_figure(f, catalogue.get(f.definition), now) for f in figures],
        ))
    return result


@router.get("/availability", response_model=AvailabilityResponse)
async def availability(
    conn: ConnDep,
    region: Annotated[str | None, Query(description="ROAZ region code; omit for national")] = None,
    sector: Annotated[str | None, Query(description="hospital, hap, vvt, ...")] = None,
) -> AvailabilityResponse:
    """Per location and item: the latest value, when it was observed, and whether it is stale."""
    if region is not None and region not in load_catalogue().regions:
        known = ", ".join(sorted(load_catalogue().regions))
        raise HTTPException(422, f"unknown ROAZ region {region!r}; one of {known}")
    now = datetime.now(UTC)
    rows = await live_availability(conn, region=region, sector=sector)
    return AvailabilityResponse(region=region, generated_at=now, locations=_locations(rows, now))
