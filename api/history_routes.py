"""History of one item for a location, a region or the country (management information)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from adapters.base import instant_problem
from api.access import CAPACITY_READERS, Access, PrincipalDep, add_route
from api.availability_routes import (
    REGION_CODES,
    FigureValue,
    Neighbours,
    number_as,
    regions_in_scope,
)
from api.contract import refusal
from api.deps import ConnDep
from api.ownership import read_scope
from api.query_types import IsoMoment
from core.access import check_owner
from core.identity import Principal
from core.refusals import Forbidden, Invalid, NotFound
from definitions import Definition, load_catalogue
from storage.facilities import get_location
from storage.history import HistoryPoint, Resolution, Scope, history, range_problem


class Point(BaseModel):
    """One point of a history: a bucket's figure, or (raw) one observation."""

    bucket: datetime | None = Field(description="start of the bucket (UTC); null for raw")
    observed_at: datetime | None = Field(description="raw: when it was observed; else null")
    value: FigureValue = Field(description="the figure; null when not reported")
    locations: int = Field(description="locations that reported a value in the bucket")
    location_id: str | None = Field(description="raw: the location observed; else null")


class HistoryResponse(BaseModel):
    """The history of one item over [from, to)."""

    definition: str
    rollup: str
    resolution: str
    location: str | None
    regions: list[str] | None = Field(description="null for a location or national")
    start: datetime = Field(alias="from")
    end: datetime = Field(alias="to")
    points: list[Point]


def _point(point: HistoryPoint, definition: Definition, raw: bool) -> Point:
    value = point.value_text if point.value_text is not None else number_as(definition,
                                                                            point.value)
    return Point(bucket=None if raw else point.at, observed_at=point.at if raw else None,
                 value=value, locations=point.locations, location_id=point.location_id)


DEFINITION_CODES = {"enum": sorted(d.code for d in load_catalogue().current_all())}


def _definition(code: str) -> Definition:
    definition = load_catalogue().get(code)
    if definition is None:
        raise Invalid(f"unknown definition {code!r}; see GET /v1/definitions", "definition")
    return definition


async def subject_scope(conn: ConnDep, principal: Principal, location: str | None,
                        region: str | None, neighbours: bool) -> Scope:
    """What the history (or a forecast) covers, within what the caller may read: one
    location, or regions; 422 for both, 403 outside the caller's reach."""
    if location is not None and region is not None:
        raise Invalid("give location or region, not both", "location")
    if location is None:
        regions = regions_in_scope(region, neighbours)
        if read_scope(principal, regions).organization is not None:
            raise Forbidden("a provider reads the history of its own locations: give "
                            "location=<id>", "location")
        return Scope(location_id=None, regions=regions)
    found = await get_location(conn, location)
    if found is None:
        raise NotFound(f"Location/{location} is not registered", "location")
    if principal.role == "provider":
        check_owner(principal, found.organization_id, f"Location/{location}", "location")
    else:
        read_scope(principal, [found.roaz_region])
    return Scope(location_id=location, regions=None)


def _range(start: datetime | None, end: datetime | None,
           resolution: Resolution) -> tuple[datetime, datetime]:
    end = end or datetime.now(UTC)
    start = start or end - timedelta(days=1)
    if start.tzinfo is None or end.tzinfo is None:
        raise Invalid("'from' and 'to' need a timezone, e.g. 2026-11-22T13:00:00Z", "from")
    for name, moment in (("from", start), ("to", end)):
        if (odd := instant_problem(moment, name)) is not None:
            raise Invalid([odd])
    problem = range_problem(start, end, resolution)
    if problem:
        raise Invalid(problem, "from")
    return start, end


async def item_history(
    conn: ConnDep,
    principal: PrincipalDep,
    definition: Annotated[str, Query(description="definition code, e.g. "
                                                 "`hospital.beds.ic.available`",
                                     json_schema_extra=DEFINITION_CODES)],
    location: Annotated[str | None, Query(description="one location id")] = None,
    region: Annotated[str | None, Query(description="a ROAZ region: the item rolled up "
                                                    "across its locations",
                                        json_schema_extra=REGION_CODES)] = None,
    neighbours: Neighbours = False,
    start: Annotated[IsoMoment | None, Query(
        alias="from", description="start (inclusive, ISO 8601 with timezone); default: "
                                  "24 h before `to`")] = None,
    end: Annotated[IsoMoment | None, Query(
        alias="to", description="end (exclusive); default: now")] = None,
    resolution: Annotated[Resolution, Query(
        description="raw (every observation, at most 31 days), 5m, 1h or 1d (UTC days; at "
                    "most 400 days)")] = "1h",
) -> HistoryResponse:
    """The history of one item for a location, a region (with its neighbours) or, with
    neither, the whole country; oldest first. Buckets combine observations by the item's
    roll-up rule: per location the last value of the bucket (sum, latest items) or the sum
    (cumulative items); across locations the sum (sum, cumulative) or the value observed last
    (latest). Not reported stays null, never 0."""
    item = _definition(definition)
    scope = await subject_scope(conn, principal, location, region, neighbours)
    start, end = _range(start, end, resolution)
    points = await history(conn, definition=definition, rollup=item.rollup, scope=scope,
                           start=start, end=end, resolution=resolution)
    return HistoryResponse(
        definition=definition, rollup=item.rollup, resolution=resolution, location=location,
        regions=None if scope.regions is None else list(scope.regions),
        **{"from": start, "to": end},
        points=[_point(p, item, resolution == "raw") for p in points])


def router() -> APIRouter:
    """History for ZCVs (their regions) and providers (their own locations)."""
    built = APIRouter(prefix="/v1", tags=["History (management information)"])
    add_route(built, "/history", item_history, methods=["GET"], response_model=HistoryResponse,
              response_model_by_alias=True,
              responses={404: refusal(404, "the location is not registered")},
              rule=Access(CAPACITY_READERS, "read history", "read"))
    return built
