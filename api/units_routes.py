"""Where the mobile units are, and the nearest available ones to a point (ZCV, JSON)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.access import CAPACITY_READERS, ZCV, Access, PrincipalDep, add_route
from api.availability_routes import (
    POINT,
    Near,
    RadiusKm,
    Region,
    check_region,
    point_of,
    required_point,
)
from api.deps import ConnDep
from api.ownership import default_regions, read_scope
from core.mobile_units import UNIT_KINDS, UnitKind
from definitions import load_catalogue
from storage.planning import OpenVisit, open_visits
from storage.units import UnitPosition, latest_unit_positions, nearest_units


class VisitRequestOut(BaseModel):
    """A unit's open visit request, as the planning module keeps it."""

    id: uuid.UUID
    status: str = Field(description="requested (waiting for the provider) or accepted")
    urgency: str | None
    expires_at: datetime = Field(description="until when a waiting request may be answered")


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
    stale: bool = Field(description="the position is older than its item's freshness deadline")
    speed_kmh: float | None
    heading_deg: float | None
    status: str | None = Field(description="ambulances: latest LSIV vehicle status code")
    status_observed_at: datetime | None
    available: bool = Field(
        description="ambulances: the latest status is one in which a vehicle can be dispatched "
                    "(5 free, 6 at post); other kinds: the position is fresh")
    distance_km: float | None = Field(
        None, description="great-circle distance to `near`; null when no point was given")
    visit_request: VisitRequestOut | None = Field(
        None, description="the open request a ZCV made of the unit (docs/planning.md: a visit "
                          "of a HAP car or district nurse; for an ambulance, a request to the "
                          "dispatch centre, beside its LSIV status), waiting or accepted; null "
                          "when none")


def available_statuses() -> list[str]:
    """The LSIV vehicle status codes in which an ambulance can be dispatched."""
    return sorted(c for c, s in load_catalogue().vehicle_statuses.items() if s.available)


def _position_stale(unit: UnitPosition, now: datetime) -> bool:
    definition = load_catalogue().get(UNIT_KINDS[unit.kind].position_item)
    return definition.is_stale(unit.observed_at, now) if definition else True


def unit_out(unit: UnitPosition, now: datetime, visit: OpenVisit | None = None) -> UnitOut:
    """The API shape of a unit's latest position, with age, staleness and availability, and
    its open visit request if it has one."""
    stale = _position_stale(unit, now)
    available = (unit.status in available_statuses() if unit.kind == "ambulance"
                 else not stale)
    distance = None if unit.distance_km is None else round(unit.distance_km, 2)
    request = None if visit is None else VisitRequestOut(
        id=visit.id, status=visit.status, urgency=visit.urgency, expires_at=visit.expires_at)
    return UnitOut(**{**vars(unit), "distance_km": distance}, stale=stale, available=available,
                   age_seconds=round((now - unit.observed_at).total_seconds(), 1),
                   visit_request=request)


async def units_out(conn: ConnDep, found: list[UnitPosition], now: datetime) -> list[UnitOut]:
    """`found` in the API's shape, each visitable unit with its open visit request."""
    visits = await open_visits(conn, [u.id for u in found])
    return [unit_out(u, now, visits.get(u.id)) for u in found]


Kind = Annotated[UnitKind | None, Query(description=", ".join(UNIT_KINDS))]


async def units(conn: ConnDep, principal: PrincipalDep, region: Region = None,
                kind: Kind = None, near: Near = None, radius_km: RadiusKm = None,
                ) -> list[UnitOut]:
    """Where the mobile units are: latest position per unit, with its age and staleness; nearest
    first (with `distance_km`) and within `radius_km` when `near` is given."""
    check_region(region)
    point = point_of(near, radius_km)
    scope = read_scope(principal, None if region is None else [region])
    now = datetime.now(UTC)
    found = await latest_unit_positions(conn, regions=scope.regions, kind=kind,
                                        organization=scope.organization, near=point,
                                        radius_km=radius_km)
    return await units_out(conn, found, now)


async def nearest(
    conn: ConnDep,
    principal: PrincipalDep,
    near: Annotated[str, Query(description="`latitude,longitude` (WGS84) of the incident",
                               examples=["52.0907,5.1214"], json_schema_extra=POINT)],
    kind: Annotated[UnitKind, Query(description="which kind of unit")] = "ambulance",
    n: Annotated[int, Query(ge=1, le=100, description="how many units")] = 5,
    available: Annotated[bool, Query(
        description="only available units: ambulances in a status that can be dispatched, "
                    "other kinds with a fresh position")] = True,
) -> list[UnitOut]:
    """The N units of a kind nearest to a point (great-circle distance), nearest first, with
    the age and staleness of each position and, for ambulances, the latest vehicle status.
    Within the caller's regions and their neighbours, unless it reads nationally."""
    point = required_point(near)
    now = datetime.now(UTC)
    statuses, fresh_since = None, None
    if available and kind == "ambulance":
        statuses = available_statuses()
    elif available:
        definition = load_catalogue().get(UNIT_KINDS[kind].position_item)
        fresh_since = now - definition.freshness_deadline if definition else now
    found = await nearest_units(conn, near=point, kind=kind, n=n, statuses=statuses,
                                fresh_since=fresh_since,
                                regions=default_regions(principal, None))
    return await units_out(conn, found, now)


def router() -> APIRouter:
    """Where the units are (ZCVs; providers see their own), and the nearest ones (ZCVs)."""
    built = APIRouter(prefix="/v1", tags=["Live capacity (care coordination)"])
    add_route(built, "/units", units, methods=["GET"], response_model=list[UnitOut],
              rule=Access(CAPACITY_READERS, "read units", "read"))
    add_route(built, "/units/nearest", nearest, methods=["GET"], response_model=list[UnitOut],
              rule=Access(ZCV, "read nearest units", "read"))
    return built
