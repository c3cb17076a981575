"""What the planning routes share: who may ask and answer, the event every change queues, the
metrics each act counts.

A ZCV books, holds and requests only where it may read (its regions and their neighbours, or
nationally with a national grant); a provider answers only requests for its own
organisation's locations and units. Every change of state queues one planning event in the
transaction that makes it (storage/planning.py `add_event`); the stream worker sends it to the
events topic (streams/planning.py).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import psycopg
from fastapi import Request
from pydantic import Field

from api.fhir_body import JsonBody, json_body, json_request_body
from api.ownership import neighbour_map
from core.access import check_owner, check_regions
from core.identity import Principal
from core.metrics import PLANNING_ANSWER_SECONDS, PLANNING_REQUESTS
from core.planning import Action, Party, answer_seconds
from core.refusals import Conflict, Forbidden
from storage import planning as store

Conn = psycopg.AsyncConnection[Any]
# The outcome each act is counted as in zc_planning_requests_total.
OUTCOMES: dict[Action, str] = {"accept": "accepted", "decline": "declined",
                               "cancel": "cancelled", "complete": "completed",
                               "expire": "expired"}
PatientRef = Field(None, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$",
                   description="a pseudonymous reference the ZCV chose for the patient (no "
                               "name, BSN or birth date); cleared after the retention period")


class AnswerIn(JsonBody):
    """Why (optional): a decline's or cancellation's reason in words."""

    reason: str | None = Field(None, max_length=500)


# An answer's body may be left out; one that is sent is an AnswerIn object, never `null`.
ANSWER_BODY = json_request_body(AnswerIn, required=False)


async def answer_reason(request: Request) -> str | None:
    """The reason an answer's body gives: None when there is no body; for a body that is not an
    AnswerIn object, 422 (400 on a FHIR endpoint, `api.fhir_body.unreadable`)."""
    return (await json_body(request, AnswerIn)).reason if await request.body() else None


def check_may_ask(principal: Principal, region: str) -> None:
    """A ZCV asks only in regions it may read."""
    check_regions(principal, [region], neighbour_map())


def party_of(principal: Principal, *, provider: str, requester: str, what: str) -> Party:
    """Which side of a request the caller is on; Forbidden for anyone else."""
    if principal.role == "provider":
        check_owner(principal, provider, what, "id")
        return "provider"
    if principal.organization != requester:
        raise Forbidden(f"{what} was asked by Organization/{requester}; this client acts for "
                        f"Organization/{principal.organization}", "id")
    return "zcv"


def may_see(principal: Principal, *, provider: str, requester: str) -> bool:
    """Whether the caller is on either side of a request."""
    return principal.organization in (provider, requester)


def taken(what: str, expression: str) -> Conflict:
    """The 409 of a slot or place another request took first."""
    return Conflict(f"{what} was taken by another request at the same moment", expression)


async def queue_event(conn: Conn, *, resource: str, id: str, kind: str, action: str,
                      status: str, previous: str | None, location_id: str | None,
                      unit_id: str | None, item: str | None, sector: str, roaz_region: str,
                      provider: str, requester: str, expires_at: datetime | None) -> None:
    """Queue the planning event of a change, in the caller's transaction."""
    await store.add_events(conn, [{
        "resource": resource, "id": id, "kind": kind, "action": action, "status": status,
        "previous": previous, "location_id": location_id, "unit_id": unit_id, "item": item,
        "sector": sector, "roaz_region": roaz_region, "provider_organization": provider,
        "requester_organization": requester,
        "expires_at": expires_at.isoformat() if expires_at else None,
        "at": datetime.now(UTC).isoformat()}])


def count_act(kind: str, sector: str, action: Action, created_at: datetime) -> None:
    """Count an answer or cancellation, and time a provider's first answer."""
    PLANNING_REQUESTS.labels(kind=kind, sector=sector, outcome=OUTCOMES[action]).inc()
    if action in ("accept", "decline"):
        PLANNING_ANSWER_SECONDS.labels(kind=kind, sector=sector).observe(
            answer_seconds(created_at, datetime.now(UTC)))
