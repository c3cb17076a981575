"""Holds on bed places and visit requests to mobile units: small JSON resources whose states are
FHIR Task's (core/planning.py).

`POST /v1/holds` — a ZCV holds one place of a bed category (reference/planning.yaml) at a
location, with a reason and a time to live (the category's default, or shorter). It fits while
the provider's latest figure is above the live holds on it; otherwise 409. Holds on one place
are counted and added one at a time (a locked row per place), so two ZCVs holding the last bed
get one 201 and one 409 whichever API process each reached. The provider accepts (the hold
becomes an admission announcement), declines with a reason, or lets it expire; accepted, it is
completed when the patient is admitted. Live availability shows the holds beside the
provider's figure, which they never change.

`POST /v1/visits` — a ZCV asks a HAP visit car or district-nursing team for a visit (where the
patient is, urgency); the unit's organisation accepts or declines. One open visit per unit.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import psycopg
from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field

from api.access import CAPACITY_READERS, ZCV, Access, AuditDep, PrincipalDep, add_route
from api.contract import refusal
from api.deps import ConnDep
from api.fhir_body import JsonBody
from api.planning import (
    ANSWER_BODY,
    PatientRef,
    answer_reason,
    check_may_ask,
    count_act,
    may_see,
    party_of,
    queue_event,
    taken,
)
from core.identity import Principal
from core.metrics import PLANNING_REQUESTS
from core.planning import Action, Task, TaskStatus, hold_ttl, may_hold, shown_status, task_after
from core.refusals import Conflict, Invalid, NotFound
from definitions import load_catalogue
from definitions.planning import load_planning
from storage import planning as store
from storage.alerts import location_facts
from storage.planning import NewTask
from storage.units import get_unit

TaskId = Annotated[uuid.UUID, Path(description="the hold's or visit request's id")]
TaskAction = Annotated[Literal["accept", "decline", "complete", "cancel"], Path(
    description="accept / decline / complete: the provider; cancel: the ZCV that asked (or "
                "the provider, once accepted)")]
StatusFilter = Annotated[TaskStatus | None, Query(
    description="requested (still waiting), accepted, rejected, completed, cancelled, failed "
                "(expired unanswered)")]


# The urgencies a visit may be asked with (the schema's enum and the check: one list).
NTS_URGENCIES = [u.code for u in load_catalogue().urgencies.get("nts", [])]


class HoldIn(JsonBody):
    """A hold as a ZCV places it."""

    location_id: str = Field(min_length=1, max_length=64)
    category: str = Field(min_length=1, max_length=120, description=(
        "a bed category of reference/planning.yaml, e.g. vvt.beds.elv_low_complex"),
        json_schema_extra={"enum": [c.category for c in load_planning().hold_categories]})
    reason: str = Field(min_length=1, max_length=500)
    ttl_seconds: int | None = Field(None, ge=1, le=86_400, description=(
        "time to live unanswered; default (and at most) the category's"))
    patient_ref: str | None = PatientRef


class VisitIn(JsonBody):
    """A visit request as a ZCV asks it."""

    unit_id: str = Field(min_length=1, max_length=64)
    latitude: float = Field(ge=50.5, le=53.7, description="where the patient is (WGS84)")
    longitude: float = Field(ge=3.2, le=7.3)
    urgency: str = Field(min_length=2, max_length=3, description="NTS urgency, U0 … U5",
                         json_schema_extra={"enum": [*NTS_URGENCIES]})
    reason: str | None = Field(None, max_length=500)
    patient_ref: str | None = PatientRef


class TaskOut(BaseModel):
    """A hold or a visit request, in FHIR Task states."""

    id: uuid.UUID
    kind: Literal["hold", "visit"]
    status: TaskStatus = Field(description="requested, accepted, rejected, completed, "
                                           "cancelled, or failed (status_reason: expired)")
    status_reason: str | None
    location_id: str | None
    category: str | None
    item: str | None = Field(description="the item the hold counts against")
    unit_id: str | None
    latitude: float | None
    longitude: float | None
    urgency: str | None
    provider_organization: str
    requester_organization: str
    sector: str
    roaz_region: str
    reason: str | None
    patient_ref: str | None
    created_at: datetime
    expires_at: datetime
    remaining_seconds: float | None = Field(description="time left to answer; null once "
                                                        "answered or closed")
    answered_at: datetime | None
    closed_at: datetime | None


class TasksResponse(BaseModel):
    """Holds or visit requests, newest first."""

    requests: list[TaskOut]


def task_out(t: Task, now: datetime) -> TaskOut:
    """The API shape of a task (a request past its time to live shows as failed/expired)."""
    status = shown_status(t.status, t.expires_at, now)  # type: ignore[arg-type]
    expired = status == "failed" and t.status == "requested"
    return TaskOut(
        id=t.id, kind=t.kind, status=status,
        status_reason="expired" if expired else t.status_reason, location_id=t.location_id,
        category=t.category, item=t.held_item, unit_id=t.unit_id, latitude=t.visit_latitude,
        longitude=t.visit_longitude, urgency=t.urgency,
        provider_organization=t.provider_organization,
        requester_organization=t.requester_organization, sector=t.sector,
        roaz_region=t.roaz_region, reason=t.reason, patient_ref=t.patient_ref,
        created_at=t.created_at, expires_at=t.expires_at,
        remaining_seconds=round(max((t.expires_at - now).total_seconds(), 0.0), 1)
        if status == "requested" else None,
        answered_at=t.answered_at, closed_at=t.closed_at)


async def _queue(conn: ConnDep, t: Task, action: str, previous: str | None) -> None:
    await queue_event(conn, resource="Task", id=str(t.id), kind=t.kind, action=action,
                      status=t.status, previous=previous, location_id=t.location_id,
                      unit_id=t.unit_id, item=t.held_item, sector=t.sector,
                      roaz_region=t.roaz_region, provider=t.provider_organization,
                      requester=t.requester_organization, expires_at=t.expires_at)


async def hold(conn: ConnDep, principal: PrincipalDep, audit: AuditDep,
               body: HoldIn) -> TaskOut:
    """Hold one place of a bed category at a location: 201 with the hold; 409 when no place
    is left unheld (the provider's figure, minus live holds); 403 outside your regions."""
    category = load_planning().category(body.category)
    if category is None:
        known = ", ".join(c.category for c in load_planning().hold_categories)
        raise Invalid(f"{body.category!r} cannot be held; one of {known}", "category")
    ttl = hold_ttl(category.ttl, body.ttl_seconds)
    audit.target = f"Location/{body.location_id}"
    facts = await location_facts(conn, body.location_id)
    if facts is None:
        raise NotFound(f"Location/{body.location_id} is not registered", "location_id")
    provider, region = facts
    check_may_ask(principal, region)
    sector = await _location_sector(conn, body.location_id)
    if sector != category.sector:
        raise Invalid(f"Location/{body.location_id} is a {sector} location; {body.category} "
                      f"beds are {category.sector} beds", "category")
    await store.lock_place(conn, location_id=body.location_id, item=category.available)
    held = await store.live_holds(conn, location_id=body.location_id, item=category.available)
    available = await store.reported_value(conn, location_id=body.location_id,
                                           item=category.available)
    if not may_hold(available, held):
        PLANNING_REQUESTS.labels(kind="hold", sector=sector, outcome="conflict").inc()
        figure = "not reported" if available is None else f"{int(available)} available"
        raise Conflict(f"no {body.category} place left unheld at Location/{body.location_id}:"
                       f" {figure}, {held} held", "category")
    created = await store.add_task(conn, NewTask(
        kind="hold", location_id=body.location_id, category=category.category,
        held_item=category.available, unit_id=None, visit_latitude=None, visit_longitude=None,
        urgency=None, provider_organization=provider, sector=sector, roaz_region=region,
        requester_organization=principal.organization, requested_by=principal.subject,
        patient_ref=body.patient_ref, reason=body.reason, ttl_seconds=ttl.total_seconds()))
    audit.target = f"Hold/{created.id}"
    await _queue(conn, created, "requested", None)
    PLANNING_REQUESTS.labels(kind="hold", sector=sector, outcome="requested").inc()
    return task_out(created, datetime.now(UTC))


async def _location_sector(conn: ConnDep, location_id: str) -> str:
    cur = await conn.execute("SELECT sector FROM location WHERE id = %s", (location_id,))
    row = await cur.fetchone()
    return "unknown" if row is None else str(row[0])


def _check_urgency(urgency: str) -> None:
    if urgency not in NTS_URGENCIES:
        raise Invalid(f"urgency must be one of {', '.join(NTS_URGENCIES)}", "urgency")


async def visit(conn: ConnDep, principal: PrincipalDep, audit: AuditDep,
                body: VisitIn) -> TaskOut:
    """Ask a HAP visit car or district-nursing team for a visit: 201 with the request; 409
    when the unit already has an open visit request; 403 outside your regions."""
    _check_urgency(body.urgency)
    audit.target = f"MobileUnit/{body.unit_id}"
    unit = await get_unit(conn, body.unit_id)
    if unit is None:
        raise NotFound(f"mobile unit {body.unit_id} is not registered", "unit_id")
    kind = load_planning().visit_unit(unit.kind)
    if kind is None:
        raise Invalid(f"a {unit.kind} is not requested here (ambulances: through the "
                      "dispatch centre)", "unit_id")
    check_may_ask(principal, unit.roaz_region)
    try:
        async with conn.transaction():  # a savepoint: the 409 below needs a usable connection
            created = await store.add_task(conn, NewTask(
                kind="visit", location_id=None, category=None, held_item=None,
                unit_id=unit.id, visit_latitude=body.latitude,
                visit_longitude=body.longitude, urgency=body.urgency,
                provider_organization=unit.organization_id, sector=kind.sector,
                roaz_region=unit.roaz_region, requester_organization=principal.organization,
                requested_by=principal.subject, patient_ref=body.patient_ref,
                reason=body.reason, ttl_seconds=kind.ttl.total_seconds()))
    except psycopg.errors.UniqueViolation:
        PLANNING_REQUESTS.labels(kind="visit", sector=kind.sector, outcome="conflict").inc()
        raise taken(f"mobile unit {unit.id}", "unit_id") from None
    audit.target = f"Visit/{created.id}"
    await _queue(conn, created, "requested", None)
    PLANNING_REQUESTS.labels(kind="visit", sector=kind.sector, outcome="requested").inc()
    return task_out(created, datetime.now(UTC))


async def _act(conn: ConnDep, principal: Principal, kind: str, task_id: uuid.UUID,
               action: Action, reason: str | None) -> TaskOut:
    found = await store.get_task(conn, task_id, lock=True)
    what = f"{kind.capitalize()}/{task_id}"
    if found is None or found.kind != kind or (principal.role == "zcv" and not may_see(
            principal, provider=found.provider_organization,
            requester=found.requester_organization)):
        raise NotFound(f"{what} is not known", "task_id")
    by = party_of(principal, provider=found.provider_organization,
                  requester=found.requester_organization, what=what)
    now = datetime.now(UTC)
    current = shown_status(found.status, found.expires_at, now)  # type: ignore[arg-type]
    if current == "failed":  # only an expired request fails

        raise Conflict(f"{what} expired unanswered at {found.expires_at.isoformat()}",
                       "task_id")
    status = task_after(current, action, by, what)
    moved = await store.move_task(conn, task_id=task_id, status=status, reason=reason,
                                  answered=action in ("accept", "decline"))
    await _queue(conn, moved, action, found.status)
    count_act(kind, found.sector, action, found.created_at)
    return task_out(moved, now)


Handler = Callable[..., Awaitable[Any]]


def _acts(kind: str) -> tuple[Handler, Handler, Handler]:
    async def act(request: Request, conn: ConnDep, principal: PrincipalDep, audit: AuditDep,
                  task_id: TaskId, action: TaskAction) -> TaskOut:
        """Answer (provider: accept, decline, complete) or cancel a request; the body (a
        reason) may be left out, but one that is sent is an object (`null` is refused)."""
        audit.target = f"{kind.capitalize()}/{task_id}"
        return await _act(conn, principal, kind, task_id, action,
                          await answer_reason(request))

    async def listing(conn: ConnDep, principal: PrincipalDep,
                      status: StatusFilter = None) -> TasksResponse:
        """The provider's requests (for its locations and units) or the ZCV's own."""
        found = await store.tasks(
            conn, kind=kind,
            provider=principal.organization if principal.role == "provider" else None,
            requester=principal.organization if principal.role != "provider" else None,
            status=status)
        now = datetime.now(UTC)
        return TasksResponse(requests=[task_out(t, now) for t in found])

    async def one(conn: ConnDep, principal: PrincipalDep, task_id: TaskId) -> TaskOut:
        """One request, to either side of it."""
        found = await store.get_task(conn, task_id)
        if found is None or found.kind != kind or not may_see(
                principal, provider=found.provider_organization,
                requester=found.requester_organization):
            raise NotFound(f"{kind.capitalize()}/{task_id} is not known", "task_id")
        return task_out(found, datetime.now(UTC))

    return act, listing, one


NOT_KNOWN = {404: refusal(404, "not known to you")}


def router() -> APIRouter:
    """Holds and visit requests."""
    built = APIRouter(prefix="/v1", tags=["Planning: holds and visits"])
    add_route(built, "/holds", hold, methods=["POST"], status_code=201,
              response_model=TaskOut,
              responses={404: refusal(404, "the location is not registered"),
                         409: refusal(409, "no place left unheld")},
              rule=Access(ZCV, "hold beds", "write"))
    add_route(built, "/visits", visit, methods=["POST"], status_code=201,
              response_model=TaskOut,
              responses={404: refusal(404, "the unit is not registered"),
                         409: refusal(409, "the unit has an open visit request")},
              rule=Access(ZCV, "request visits", "write"))
    for path, kind in (("/holds", "hold"), ("/visits", "visit")):
        act, listing, one = _acts(kind)
        add_route(built, path, listing, methods=["GET"], response_model=TasksResponse,
                  name=f"list_{kind}s", rule=Access(CAPACITY_READERS, f"read {kind}s", "read"))
        add_route(built, f"{path}/{{task_id}}", one, methods=["GET"], response_model=TaskOut,
                  name=f"read_{kind}", responses=NOT_KNOWN,
                  rule=Access(CAPACITY_READERS, f"read {kind}s", "read"))
        add_route(built, f"{path}/{{task_id}}/{{action}}", act, methods=["POST"],
                  response_model=TaskOut, name=f"answer_{kind}",
                  openapi_extra=ANSWER_BODY,
                  responses={**NOT_KNOWN, 409: refusal(409, "not in a state that allows this")},
                  rule=Access(CAPACITY_READERS, f"answer {kind}s", "write"))
    return built
