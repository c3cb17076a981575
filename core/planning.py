"""The pure rules of the planning module: the states of a booking, a hold and a visit request,
which act moves one to which state, and how holds and bookings show next to a provider's
reported figure. No I/O: storage applies these under row locks (storage/planning.py).

States follow FHIR R4: an `Appointment` is `pending` (booked by a ZCV, the provider has not
answered), `booked` (the provider accepted) or `cancelled` (declined, or cancelled by either
side); a hold or a visit request is a `Task`: `requested` → `accepted` / `rejected`, then
`completed`; `cancelled` by the ZCV that asked; and a request nobody answered within its time
to live `failed` with the reason `expired` (FHIR Task has no state of that name).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, TypeVar

from core.refusals import Conflict, Invalid

AppointmentStatus = Literal["pending", "booked", "cancelled"]
TaskStatus = Literal["requested", "accepted", "rejected", "completed", "cancelled", "failed"]
TaskKind = Literal["hold", "visit"]
Party = Literal["zcv", "provider", "platform"]
Action = Literal["accept", "decline", "cancel", "complete", "expire"]

# Who may do what, from which state, to which state.
APPOINTMENT_MOVES: dict[tuple[AppointmentStatus, Action], tuple[frozenset[Party],
                                                                AppointmentStatus]] = {
    ("pending", "accept"): (frozenset({"provider"}), "booked"),
    ("pending", "decline"): (frozenset({"provider"}), "cancelled"),
    ("pending", "cancel"): (frozenset({"zcv", "provider"}), "cancelled"),
    ("booked", "cancel"): (frozenset({"zcv", "provider"}), "cancelled"),
}
TASK_MOVES: dict[tuple[TaskStatus, Action], tuple[frozenset[Party], TaskStatus]] = {
    ("requested", "accept"): (frozenset({"provider"}), "accepted"),
    ("requested", "decline"): (frozenset({"provider"}), "rejected"),
    ("requested", "cancel"): (frozenset({"zcv"}), "cancelled"),
    ("requested", "expire"): (frozenset({"platform"}), "failed"),
    ("accepted", "complete"): (frozenset({"provider"}), "completed"),
    ("accepted", "cancel"): (frozenset({"zcv", "provider"}), "cancelled"),
}
# Taking a slot / a place: a pending or booked appointment takes its slot; a requested or
# accepted hold takes one place of its category.
SLOT_TAKEN: frozenset[str] = frozenset({"pending", "booked"})
PLACE_TAKEN: frozenset[str] = frozenset({"requested", "accepted"})
OPEN: frozenset[str] = frozenset({"pending", "requested"})  # waiting for the provider
# The shortest time to live a hold or visit request may ask for.
MIN_TTL = timedelta(seconds=1)


S = TypeVar("S", bound=str)


def _move(moves: dict[tuple[S, Action], tuple[frozenset[Party], S]], what: str,
                  current: S, action: Action, by: Party) -> S:
    found = moves.get((current, action))
    if found is None:
        raise Conflict(f"{what} is {current}: it cannot be {_past(action)} now", "status")
    parties, target = found
    if by not in parties:
        raise Conflict(f"only the {' or the '.join(sorted(parties))} may {action} a {current} "
                       f"{what.split('/')[0]}", "status")
    return target


def _past(action: Action) -> str:
    return {"accept": "accepted", "decline": "declined", "cancel": "cancelled",
            "complete": "completed", "expire": "expired"}[action]


def appointment_after(current: AppointmentStatus, action: Action, by: Party,
                      what: str = "Appointment") -> AppointmentStatus:
    """The appointment's state after `action` by `by`; Conflict (409) when it may not."""
    return _move(APPOINTMENT_MOVES, what, current, action, by)


def task_after(current: TaskStatus, action: Action, by: Party,
               what: str = "Task") -> TaskStatus:
    """The task's state after `action` by `by`; Conflict (409) when it may not."""
    return _move(TASK_MOVES, what, current, action, by)


def hold_ttl(default: timedelta, asked_seconds: int | None) -> timedelta:
    """The time to live of a new hold: what was asked, at most the category's default."""
    if asked_seconds is None:
        return default
    asked = timedelta(seconds=asked_seconds)
    if asked < MIN_TTL or asked > default:
        raise Invalid(f"ttl_seconds must lie between {int(MIN_TTL.total_seconds())} and "
                      f"{int(default.total_seconds())} (this category's default)",
                      "ttl_seconds")
    return asked


def is_live(status: str, expires_at: datetime | None, now: datetime) -> bool:
    """Whether a hold still takes a place at `now`: requested and not past its time to live
    (the expiry sweep may not have run yet), or accepted."""
    if status == "requested":
        return expires_at is None or expires_at > now
    return status in PLACE_TAKEN


def shown_status(status: TaskStatus, expires_at: datetime | None, now: datetime) -> TaskStatus:
    """The state a reader sees: a request past its time to live is `failed` even before the
    expiry sweep recorded it."""
    if status == "requested" and expires_at is not None and expires_at <= now:
        return "failed"
    return status


@dataclass(frozen=True)
class Task:
    """A hold on a bed place or a visit request to a mobile unit, as stored
    (storage/planning.py)."""

    id: uuid.UUID
    kind: str
    status: str
    status_reason: str | None
    location_id: str | None
    category: str | None
    held_item: str | None
    unit_id: str | None
    visit_latitude: float | None
    visit_longitude: float | None
    urgency: str | None
    provider_organization: str
    sector: str
    roaz_region: str
    requester_organization: str
    requested_by: str
    patient_ref: str | None
    reason: str | None
    created_at: datetime
    expires_at: datetime
    answered_at: datetime | None
    closed_at: datetime | None


@dataclass(frozen=True)
class AgendaSlot:
    """A slot of a practice's agenda, as its Slot bundle listed it (bookable when `free`)."""

    slot_id: str
    start_at: datetime
    end_at: datetime
    status: str


@dataclass(frozen=True)
class Agenda:
    """A practice's agenda as one Slot bundle gave it: when it was read, and its slots."""

    location_id: str
    read_at: datetime
    slots: tuple[AgendaSlot, ...]


def bookable(slot: AgendaSlot | None, now: datetime) -> str | None:
    """Why a slot cannot be booked now (None: it can): unknown, not free, or started."""
    if slot is None:
        return "is not in the practice's latest agenda"
    if slot.status != "free":
        return f"is {slot.status} in the practice's latest agenda"
    if slot.start_at <= now:
        return "has already started"
    return None


@dataclass(frozen=True)
class HeldFigure:
    """A bed figure with the holds on it, side by side: the provider's figure unchanged."""

    available: int | None
    held: int
    available_unheld: int | None


def held_figure(available: float | None, held: int) -> HeldFigure:
    """`available` as reported (None: not reported), the live holds on it, and what is left
    unheld (never below 0; unknown when the figure is)."""
    if available is None:
        return HeldFigure(None, held, None)
    return HeldFigure(int(available), held, max(int(available) - held, 0))


def free_after_bookings(reported: float | None, booked: int) -> int | None:
    """A free-consult figure lowered by the bookings made on slots it still counts as free
    (never below 0; unknown stays unknown)."""
    if reported is None:
        return None
    return max(int(reported) - booked, 0)


def may_hold(available: float | None, held: int) -> bool:
    """Whether one more hold fits: the reported figure is known and above the live holds."""
    return available is not None and available - held >= 1


def answer_seconds(created_at: datetime, answered_at: datetime) -> float:
    """How long the provider took to answer (for the metric), never negative."""
    return max((answered_at - created_at).total_seconds(), 0.0)
