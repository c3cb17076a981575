"""Consult booking (HAP, GP practice) in FHIR R4: Slot, Appointment, AppointmentResponse.

The practice's agenda arrives as a Slot bundle (`POST /fhir/consult-slots`): its slots with an
id become bookable. A ZCV finds them with `GET /fhir/Slot?location=…` and books one with
`POST /fhir/Appointment` (the slot, the practice Location, a pseudonymous `Patient/<ref>`):
the appointment is `pending` and the free U3/U4 figure drops at once. The practice sees it
(`GET /fhir/Appointment?actor=Location/…&status=pending`, the planning events on /v1/stream)
and answers with `POST /fhir/AppointmentResponse` (`accepted`: booked; `declined`:
cancelled, the slot free again). Either side cancels with `POST /fhir/Appointment/{id}/$cancel`.
Two bookings of one slot at the same moment: one 201, one 409 (a unique index, whichever API
process each reached).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import psycopg
from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field

from api.access import CAPACITY_READERS, PROVIDER, ZCV, Access, AuditDep, PrincipalDep, add_route
from api.contract import FhirJSONResponse, refusal
from api.deps import ConnDep
from api.fhir_body import JsonBody
from api.planning import (
    ANSWER_BODY,
    answer_reason,
    check_may_ask,
    count_act,
    may_see,
    party_of,
    queue_event,
    taken,
)
from core.access import check_owner
from core.identity import Principal
from core.metrics import PLANNING_REQUESTS
from core.planning import Action, AppointmentStatus, appointment_after, bookable
from core.refusals import Conflict, Forbidden, Invalid, NotFound
from storage import planning as store
from storage.alerts import location_facts
from storage.planning import Appointment

AppointmentId = Annotated[uuid.UUID, Path(description="the Appointment's id")]
LOCATION = "Location/"
SLOT = "Slot/"
PATIENT = "Patient/"
ID_PATTERN = r"^[A-Za-z0-9\-.]{1,64}$"


class Reference(JsonBody):
    """A FHIR Reference: `<type>/<id>`."""

    reference: str = Field(min_length=3, max_length=200)


def _to(*kinds: str) -> str:
    """The pattern of a literal reference to one of `kinds`, as `_id_of` reads it."""
    return rf"^({'|'.join(kinds)})/[^/\x00]+$"


class SlotReference(JsonBody):
    """The slot booked: `Slot/<id>`."""

    reference: str = Field(max_length=200, pattern=_to("Slot"))


class ActorReference(JsonBody):
    """A participant: `Location/<id>` (the practice) or `Patient/<pseudonymous reference>`."""

    reference: str = Field(max_length=200, pattern=_to("Location", "Patient"))


class AppointmentReference(JsonBody):
    """The booking answered: `Appointment/<id>`."""

    reference: str = Field(max_length=200, pattern=_to("Appointment"))


class LocationReference(JsonBody):
    """The practice answering: `Location/<id>`."""

    reference: str = Field(max_length=200, pattern=_to("Location"))


class ParticipantIn(JsonBody):
    """A participant of the booking: the practice Location, and the patient (pseudonymous)."""

    actor: ActorReference
    status: Literal["needs-action", "accepted", "tentative"] = "needs-action"


class AppointmentIn(JsonBody):
    """An Appointment as a ZCV books it: one slot, the Location, optionally the patient's
    pseudonymous reference and a short reason. Nothing else about the patient is taken."""

    resourceType: Literal["Appointment"]
    status: Literal["proposed", "pending", "booked"] = "proposed"
    slot: list[SlotReference] = Field(min_length=1, max_length=1)
    participant: list[ParticipantIn] = Field(min_length=1, max_length=2)
    description: str | None = Field(None, max_length=500)


class ResponseIn(JsonBody):
    """The practice's answer to a booking."""

    resourceType: Literal["AppointmentResponse"]
    appointment: AppointmentReference
    actor: LocationReference | None = None
    participantStatus: Literal["accepted", "declined"]
    comment: str | None = Field(None, max_length=500)


class ParticipantOut(BaseModel):
    """A participant as the Appointment shows it."""

    actor: Reference
    status: str


class CodeableText(BaseModel):
    """A CodeableConcept with text only."""

    text: str


class AppointmentOut(BaseModel):
    """An Appointment: pending (the practice has not answered), booked, or cancelled."""

    resourceType: Literal["Appointment"] = "Appointment"
    id: str
    status: AppointmentStatus
    start: datetime
    end: datetime
    created: datetime
    slot: list[Reference]
    participant: list[ParticipantOut]
    description: str | None = None
    cancelationReason: CodeableText | None = None


class BundleEntry(BaseModel):
    """One resource of a searchset."""

    resource: dict[str, Any]


class SearchBundle(BaseModel):
    """A Bundle searchset."""

    resourceType: Literal["Bundle"] = "Bundle"
    type: Literal["searchset"] = "searchset"
    total: int
    entry: list[BundleEntry]


def _id_of(text: str, prefix: str, where: str) -> str:
    if not text.startswith(prefix) or len(text) == len(prefix) or "/" in text[len(prefix):]:
        raise Invalid(f"expected '{prefix}<id>'; got {text!r}", where)
    return text[len(prefix):]


def _party_status(status: str) -> str:
    return {"pending": "needs-action", "booked": "accepted"}.get(status, "declined")


def appointment_out(a: Appointment, principal: Principal) -> AppointmentOut:
    """The FHIR shape of a stored appointment (the patient only to either side of it)."""
    participants = [ParticipantOut(actor=Reference(reference=f"{LOCATION}{a.location_id}"),
                                   status=_party_status(a.status))]
    if a.patient_ref and may_see(principal, provider=a.provider_organization,
                                 requester=a.requester_organization):
        participants.append(ParticipantOut(
            actor=Reference(reference=f"{PATIENT}{a.patient_ref}"), status="accepted"))
    return AppointmentOut(
        id=str(a.id), status=a.status,
        start=a.slot_start, end=a.slot_end, created=a.created_at,
        slot=[Reference(reference=f"{SLOT}{a.slot_id}")], participant=participants,
        description=a.reason,
        cancelationReason=CodeableText(text=a.status_reason) if a.status_reason else None)


def _booking(body: AppointmentIn) -> tuple[str, str, str | None]:
    """(location, slot, patient reference) of a booking; 422 naming what is missing."""
    slot_id = _id_of(body.slot[0].reference, SLOT, "Appointment.slot[0].reference")
    locations, patients = [], []
    for i, participant in enumerate(body.participant):
        text = participant.actor.reference
        where = f"Appointment.participant[{i}].actor.reference"
        if text.startswith(LOCATION):
            locations.append(_id_of(text, LOCATION, where))
        elif text.startswith(PATIENT):
            patients.append(_id_of(text, PATIENT, where))
        else:
            raise Invalid("a participant is the practice 'Location/<id>' or the patient "
                          "'Patient/<pseudonymous reference>'", where)
    if len(locations) != 1:
        raise Invalid("name the practice as exactly one participant 'Location/<id>'",
                      "Appointment.participant")
    for patient in patients:
        if len(patient) > 64:
            raise Invalid("a patient reference is at most 64 characters",
                          "Appointment.participant")
    return locations[0], slot_id, patients[0] if patients else None


async def book(conn: ConnDep, principal: PrincipalDep, audit: AuditDep,
               body: AppointmentIn) -> FhirJSONResponse:
    """Book a free slot for a patient: 201 with the pending Appointment; 409 when another
    booking took the slot first (or it is no longer free); 403 outside your regions."""
    location_id, slot_id, patient = _booking(body)
    audit.target = f"{LOCATION}{location_id}/{SLOT}{slot_id}"
    facts = await location_facts(conn, location_id)
    if facts is None:
        raise NotFound(f"Location/{location_id} is not registered", "Appointment.participant")
    provider, region = facts
    check_may_ask(principal, region)
    slot = await store.slot_for_booking(conn, location_id=location_id, slot_id=slot_id)
    what = f"Slot/{slot_id} at Location/{location_id}"
    if slot is None:
        raise NotFound(f"{what} is not in the practice's latest agenda", "Appointment.slot[0]")
    sector = await _sector(conn, location_id)
    taken_by = await store.slot_taken(conn, location_id=location_id, slot_id=slot_id)
    why = bookable(slot, datetime.now(UTC))
    if taken_by is not None or slot.status != "free":
        PLANNING_REQUESTS.labels(kind="appointment", sector=sector, outcome="conflict").inc()
        raise taken(what, "Appointment.slot[0]") if taken_by else Conflict(
            f"{what} {why}", "Appointment.slot[0]")
    if why is not None:
        raise Invalid(f"{what} {why}", "Appointment.slot[0]")
    try:
        appointment_id = await store.add_appointment(conn, store.NewAppointment(
            location_id=location_id, slot=slot, patient_ref=patient, reason=body.description,
            requester_organization=principal.organization, requested_by=principal.subject))
    except psycopg.errors.UniqueViolation:
        PLANNING_REQUESTS.labels(kind="appointment", sector=sector, outcome="conflict").inc()
        raise taken(f"Slot/{slot_id} at Location/{location_id}", "Appointment.slot[0]") from None
    audit.target = f"Appointment/{appointment_id}"
    await queue_event(conn, resource="Appointment", id=str(appointment_id), kind="appointment",
                      action="requested", status="pending", previous=None,
                      location_id=location_id, unit_id=None, item=None, sector=sector,
                      roaz_region=region, provider=provider,
                      requester=principal.organization, expires_at=None)
    PLANNING_REQUESTS.labels(kind="appointment", sector=sector, outcome="requested").inc()
    stored = await store.get_appointment(conn, appointment_id)
    assert stored is not None
    return FhirJSONResponse(appointment_out(stored, principal).model_dump(mode="json",
                                                                          exclude_none=True),
                            status_code=201,
                            headers={"Location": f"/fhir/Appointment/{appointment_id}"})


async def _sector(conn: ConnDep, location_id: str) -> str:
    cur = await conn.execute("SELECT sector FROM location WHERE id = %s", (location_id,))
    row = await cur.fetchone()
    return "unknown" if row is None else str(row[0])


async def _act(conn: ConnDep, principal: Principal, appointment_id: uuid.UUID,
               action: Action, reason: str | None) -> Appointment:
    """Move an appointment by one act of the caller; the event and metrics with it."""
    found = await store.get_appointment(conn, appointment_id, lock=True)
    what = f"Appointment/{appointment_id}"
    if found is None or (principal.role == "zcv" and not may_see(
            principal, provider=found.provider_organization,
            requester=found.requester_organization)):
        raise NotFound(f"{what} is not known", "id")
    by = party_of(principal, provider=found.provider_organization,
                  requester=found.requester_organization, what=what)
    status = appointment_after(found.status, action, by, what)  # type: ignore[arg-type]
    await store.move_appointment(conn, appointment_id=appointment_id, status=status,
                                 reason=reason, answered=action in ("accept", "decline"))
    await queue_event(conn, resource="Appointment", id=str(appointment_id), kind="appointment",
                      action=action, status=status, previous=found.status,
                      location_id=found.location_id, unit_id=None, item=None,
                      sector=found.sector, roaz_region=found.roaz_region,
                      provider=found.provider_organization,
                      requester=found.requester_organization, expires_at=None)
    count_act("appointment", found.sector, action, found.created_at)
    moved = await store.get_appointment(conn, appointment_id)
    assert moved is not None
    return moved


async def respond(conn: ConnDep, principal: PrincipalDep, audit: AuditDep,
                  body: ResponseIn) -> FhirJSONResponse:
    """The practice accepts (the Appointment becomes booked) or declines (cancelled, the slot
    free again) a pending booking at one of its own locations: 200 with the Appointment."""
    raw_id = _id_of(body.appointment.reference, "Appointment/", "AppointmentResponse.appointment")
    try:
        appointment_id = uuid.UUID(raw_id)
    except ValueError:
        raise NotFound(f"Appointment/{raw_id} is not known",
                       "AppointmentResponse.appointment") from None
    audit.target = f"Appointment/{appointment_id}"
    if body.actor is not None:
        actor = _id_of(body.actor.reference, LOCATION, "AppointmentResponse.actor")
        found = await store.get_appointment(conn, appointment_id)
        if found is not None and found.location_id != actor:
            raise Invalid(f"Appointment/{appointment_id} is at Location/{found.location_id}, "
                          f"not at Location/{actor}", "AppointmentResponse.actor")
    action: Action = "accept" if body.participantStatus == "accepted" else "decline"
    moved = await _act(conn, principal, appointment_id, action, body.comment)
    return FhirJSONResponse(appointment_out(moved, principal).model_dump(mode="json",
                                                                         exclude_none=True))


async def cancel(request: Request, conn: ConnDep, principal: PrincipalDep, audit: AuditDep,
                 appointment_id: AppointmentId) -> FhirJSONResponse:
    """Cancel a pending or booked appointment, by the ZCV that booked it or the practice.
    The body may be left out; when sent it is an object with an optional `reason`."""
    audit.target = f"Appointment/{appointment_id}"
    moved = await _act(conn, principal, appointment_id, "cancel",
                       await answer_reason(request))
    return FhirJSONResponse(appointment_out(moved, principal).model_dump(mode="json",
                                                                         exclude_none=True))


async def read_appointment(conn: ConnDep, principal: PrincipalDep,
                           appointment_id: AppointmentId) -> FhirJSONResponse:
    """One appointment, to the practice and to the ZCV that booked it."""
    found = await store.get_appointment(conn, appointment_id)
    if found is None or not may_see(principal, provider=found.provider_organization,
                                    requester=found.requester_organization):
        raise NotFound(f"Appointment/{appointment_id} is not known", "id")
    return FhirJSONResponse(appointment_out(found, principal).model_dump(mode="json",
                                                                         exclude_none=True))


Actor = Annotated[str | None, Query(max_length=200, pattern=r"^Location/[A-Za-z0-9\-.]{1,64}$",
                                    description="`Location/<id>`: bookings at that location")]
StatusQuery = Annotated[AppointmentStatus | None, Query(description="pending, booked or "
                                                                    "cancelled")]


async def search_appointments(conn: ConnDep, principal: PrincipalDep, actor: Actor = None,
                              status: StatusQuery = None) -> FhirJSONResponse:
    """Appointments: a practice's at its own locations, a ZCV's own bookings; newest first."""
    location_id = actor[len(LOCATION):] if actor else None
    if principal.role == "provider" and location_id is not None:
        facts = await location_facts(conn, location_id)
        if facts is None:
            raise NotFound(f"Location/{location_id} is not registered", "actor")
        check_owner(principal, facts[0], f"Location/{location_id}", "actor")
    found = await store.appointments(
        conn, provider=principal.organization if principal.role == "provider" else None,
        requester=principal.organization if principal.role != "provider" else None,
        location_id=location_id, status=status)
    bundle = SearchBundle(total=len(found), entry=[
        BundleEntry(resource=appointment_out(a, principal).model_dump(mode="json",
                                                                      exclude_none=True))
        for a in found])
    return FhirJSONResponse(bundle.model_dump(mode="json"))


SlotLocation = Annotated[str, Query(pattern=ID_PATTERN, description="the practice Location id")]


async def search_slots(conn: ConnDep, principal: PrincipalDep,
                       location: SlotLocation) -> FhirJSONResponse:
    """The bookable slots of a practice: free in its latest agenda, not started, not booked."""
    facts = await location_facts(conn, location)
    if facts is None:
        raise NotFound(f"Location/{location} is not registered", "location")
    if principal.role == "provider":
        check_owner(principal, facts[0], f"Location/{location}", "location")
    elif principal.role == "zcv":
        check_may_ask(principal, facts[1])
    else:
        raise Forbidden("slots are read by ZCVs and the practice", "role")
    cur = await conn.execute(
        "SELECT s.slot_id, s.start_at, s.end_at FROM planning_slot s WHERE s.location_id = %s"
        " AND s.status = 'free' AND s.start_at > now() AND NOT EXISTS (SELECT 1 FROM"
        " appointment a WHERE a.location_id = s.location_id AND a.slot_id = s.slot_id"
        " AND a.status IN ('pending', 'booked')) ORDER BY s.start_at LIMIT 500", (location,))
    rows = await cur.fetchall()
    entries = [BundleEntry(resource={
        "resourceType": "Slot", "id": row[0], "status": "free",
        "start": row[1].isoformat(), "end": row[2].isoformat(),
        "schedule": {"reference": f"{LOCATION}{location}"}}) for row in rows]
    return FhirJSONResponse(SearchBundle(total=len(entries), entry=entries).model_dump())


NOT_KNOWN = {404: refusal(404, "the appointment is not known to you")}
CONFLICT = {409: refusal(409, "the slot was taken by another booking, or the appointment is "
                              "not in a state that allows this act")}


def router() -> APIRouter:
    """Slots, Appointments and AppointmentResponses (FHIR R4)."""
    built = APIRouter(prefix="/fhir", tags=["Planning: consult booking (FHIR)"])
    add_route(built, "/Slot", search_slots, methods=["GET"], response_model=SearchBundle,
              response_class=FhirJSONResponse,
              responses={404: refusal(404, "the location is not registered")},
              rule=Access(CAPACITY_READERS, "read bookable slots", "read"))
    add_route(built, "/Appointment", book, methods=["POST"], status_code=201,
              response_model=AppointmentOut, response_class=FhirJSONResponse,
              responses={404: refusal(404, "the location is not registered"), **CONFLICT},
              rule=Access(ZCV, "book consults", "write"))
    add_route(built, "/Appointment", search_appointments, methods=["GET"],
              response_model=SearchBundle, response_class=FhirJSONResponse,
              responses={404: refusal(404, "the location is not registered")},
              rule=Access(CAPACITY_READERS, "read appointments", "read"))
    add_route(built, "/Appointment/{appointment_id}", read_appointment, methods=["GET"],
              response_model=AppointmentOut, response_class=FhirJSONResponse,
              responses=NOT_KNOWN, rule=Access(CAPACITY_READERS, "read appointments", "read"))
    add_route(built, "/Appointment/{appointment_id}/$cancel", cancel, methods=["POST"],
              response_model=AppointmentOut, response_class=FhirJSONResponse,
              openapi_extra=ANSWER_BODY,
              responses={**NOT_KNOWN, **CONFLICT}, never={422},
              rule=Access(CAPACITY_READERS, "cancel appointments", "write"))
    add_route(built, "/AppointmentResponse", respond, methods=["POST"],
              response_model=AppointmentOut, response_class=FhirJSONResponse,
              responses={**NOT_KNOWN, **CONFLICT},
              rule=Access(PROVIDER, "answer bookings", "write"))
    return built
