"""The planning module in PostgreSQL (migration 0016): slots, appointments, holds and visit
requests, the per-place rows that serialise holds, and the outbox of planning events.

Every change of state is one `UPDATE … WHERE status = <the state it was read in>` inside the
caller's transaction, on a row locked with `FOR UPDATE`: of two processes that try to move the
same request, the second finds it moved and gets a Conflict from the caller. Expiry is one
statement (`expire_due`), so a request expires exactly once whichever worker runs it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import class_row

from core.planning import AgendaSlot, Task
from storage.jsonb import jsonb

Conn = psycopg.AsyncConnection[Any]


async def record_slots(conn: Conn, *, location_id: str, slots: Sequence[AgendaSlot],
                       reported_at: datetime) -> None:
    """The slots of the agenda read at `reported_at`; slots an older agenda listed and this
    one does not become 'absent'. An agenda older than the one recorded changes nothing."""
    await conn.execute(
        "INSERT INTO planning_slot (location_id, slot_id, start_at, end_at, status, reported_at)"
        " SELECT %(loc)s, s.id, s.start_at, s.end_at, s.status, %(at)s"
        " FROM unnest(%(ids)s::text[], %(starts)s::timestamptz[], %(ends)s::timestamptz[],"
        "  %(statuses)s::text[]) AS s(id, start_at, end_at, status)"
        " ON CONFLICT (location_id, slot_id) DO UPDATE SET start_at = EXCLUDED.start_at,"
        " end_at = EXCLUDED.end_at, status = EXCLUDED.status, reported_at = EXCLUDED.reported_at"
        " WHERE planning_slot.reported_at <= EXCLUDED.reported_at",
        {"loc": location_id, "at": reported_at, "ids": [s.slot_id for s in slots],
         "starts": [s.start_at for s in slots], "ends": [s.end_at for s in slots],
         "statuses": [s.status for s in slots]})
    await conn.execute(
        "UPDATE planning_slot SET status = 'absent', reported_at = %s"
        " WHERE location_id = %s AND reported_at < %s AND status <> 'absent'",
        (reported_at, location_id, reported_at))


async def slot_for_booking(conn: Conn, *, location_id: str,
                           slot_id: str) -> AgendaSlot | None:
    """The slot, locked until the transaction ends (bookings of one slot queue here)."""
    async with conn.cursor(row_factory=class_row(AgendaSlot)) as cur:
        await cur.execute(
            "SELECT slot_id, start_at, end_at, status FROM planning_slot"
            " WHERE location_id = %s AND slot_id = %s FOR UPDATE", (location_id, slot_id))
        return await cur.fetchone()


@dataclass(frozen=True)
class Appointment:
    """A booked consult, with its location's facts."""

    id: uuid.UUID
    location_id: str
    slot_id: str
    slot_start: datetime
    slot_end: datetime
    status: str
    status_reason: str | None
    patient_ref: str | None
    reason: str | None
    requester_organization: str
    requested_by: str
    created_at: datetime
    answered_at: datetime | None
    closed_at: datetime | None
    provider_organization: str
    sector: str
    roaz_region: str


APPOINTMENT_SELECT = (
    "SELECT a.id, a.location_id, a.slot_id, a.slot_start, a.slot_end, a.status,"
    " a.status_reason, a.patient_ref, a.reason, a.requester_organization, a.requested_by,"
    " a.created_at, a.answered_at, a.closed_at, l.organization_id AS provider_organization,"
    " l.sector, l.roaz_region FROM appointment a JOIN location l ON l.id = a.location_id")


async def slot_taken(conn: Conn, *, location_id: str, slot_id: str) -> uuid.UUID | None:
    """The live appointment (pending or booked) on a slot, if any."""
    cur = await conn.execute(
        "SELECT id FROM appointment WHERE location_id = %s AND slot_id = %s"
        " AND status IN ('pending', 'booked')", (location_id, slot_id))
    row = await cur.fetchone()
    return None if row is None else row[0]


@dataclass(frozen=True)
class NewAppointment:
    """A booking as a ZCV makes it."""

    location_id: str
    slot: AgendaSlot
    patient_ref: str | None
    reason: str | None
    requester_organization: str
    requested_by: str


async def add_appointment(conn: Conn, new: NewAppointment) -> uuid.UUID:
    """Store a pending appointment; psycopg.errors.UniqueViolation when the slot is taken."""
    appointment_id = uuid.uuid4()
    await conn.execute(
        "INSERT INTO appointment (id, location_id, slot_id, slot_start, slot_end, status,"
        " patient_ref, reason, requester_organization, requested_by)"
        " VALUES (%s, %s, %s, %s, %s, 'pending', %s, %s, %s, %s)",
        (appointment_id, new.location_id, new.slot.slot_id, new.slot.start_at,
         new.slot.end_at, new.patient_ref, new.reason, new.requester_organization,
         new.requested_by))
    return appointment_id


async def get_appointment(conn: Conn, appointment_id: uuid.UUID, *,
                          lock: bool = False) -> Appointment | None:
    """One appointment (locked until the transaction ends with `lock`)."""
    async with conn.cursor(row_factory=class_row(Appointment)) as cur:
        await cur.execute(f"{APPOINTMENT_SELECT} WHERE a.id = %s"
                          f"{' FOR UPDATE OF a' if lock else ''}", (appointment_id,))
        return await cur.fetchone()


async def move_appointment(conn: Conn, *, appointment_id: uuid.UUID, status: str,
                           reason: str | None, answered: bool) -> None:
    """Put a (locked) appointment in its new state."""
    await conn.execute(
        "UPDATE appointment SET status = %s, status_reason = coalesce(%s, status_reason),"
        " answered_at = CASE WHEN %s THEN coalesce(answered_at, now()) ELSE answered_at END,"
        " closed_at = CASE WHEN %s = 'cancelled' THEN now() ELSE closed_at END WHERE id = %s",
        (status, reason, answered, status, appointment_id))


async def appointments(conn: Conn, *, provider: str | None = None,
                       requester: str | None = None, location_id: str | None = None,
                       status: str | None = None, limit: int = 200) -> list[Appointment]:
    """Appointments at a provider's locations or asked by a requester, newest first."""
    async with conn.cursor(row_factory=class_row(Appointment)) as cur:
        await cur.execute(
            f"{APPOINTMENT_SELECT} WHERE (%(p)s::text IS NULL OR l.organization_id = %(p)s)"
            " AND (%(r)s::text IS NULL OR a.requester_organization = %(r)s)"
            " AND (%(loc)s::text IS NULL OR a.location_id = %(loc)s)"
            " AND (%(s)s::text IS NULL OR a.status = %(s)s)"
            " ORDER BY a.created_at DESC LIMIT %(limit)s",
            {"p": provider, "r": requester, "loc": location_id, "s": status, "limit": limit})
        return await cur.fetchall()


TASK_COLUMNS = ", ".join(Task.__dataclass_fields__)


@dataclass(frozen=True)
class NewTask:
    """A hold or visit request as a ZCV asks it; it lives `ttl_seconds` unanswered."""

    kind: str
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
    ttl_seconds: float


async def add_task(conn: Conn, new: NewTask) -> Task:
    """Store a requested task; psycopg.errors.UniqueViolation for a unit with an open visit."""
    fields = [f for f in vars(new) if f != "ttl_seconds"]
    async with conn.cursor(row_factory=class_row(Task)) as cur:
        await cur.execute(
            f"INSERT INTO planning_task (id, status, expires_at, {', '.join(fields)})"
            " VALUES (%(id)s, 'requested', now() + make_interval(secs => %(ttl_seconds)s),"
            f" {', '.join(f'%({f})s' for f in fields)}) RETURNING {TASK_COLUMNS}",
            {**vars(new), "id": uuid.uuid4()})
        row = await cur.fetchone()
    assert row is not None
    return row


async def get_task(conn: Conn, task_id: uuid.UUID, *, lock: bool = False) -> Task | None:
    """One task (locked until the transaction ends with `lock`)."""
    async with conn.cursor(row_factory=class_row(Task)) as cur:
        await cur.execute(f"SELECT {TASK_COLUMNS} FROM planning_task WHERE id = %s"
                          f"{' FOR UPDATE' if lock else ''}", (task_id,))
        return await cur.fetchone()


async def move_task(conn: Conn, *, task_id: uuid.UUID, status: str, reason: str | None,
                    answered: bool) -> Task:
    """Put a (locked) task in its new state."""
    async with conn.cursor(row_factory=class_row(Task)) as cur:
        await cur.execute(
            "UPDATE planning_task SET status = %(s)s,"
            " status_reason = coalesce(%(r)s, status_reason),"
            " answered_at = CASE WHEN %(a)s THEN coalesce(answered_at, now())"
            "  ELSE answered_at END,"
            " closed_at = CASE WHEN %(s)s IN ('rejected', 'completed', 'cancelled', 'failed')"
            "  THEN now() ELSE closed_at END"
            f" WHERE id = %(id)s RETURNING {TASK_COLUMNS}",
            {"s": status, "r": reason, "a": answered, "id": task_id})
        row = await cur.fetchone()
    assert row is not None
    return row


async def tasks(conn: Conn, *, kind: str, provider: str | None = None,
                requester: str | None = None, status: str | None = None,
                limit: int = 200) -> list[Task]:
    """Tasks of a kind for a provider or asked by a requester, newest first. `status`
    'requested' means still waiting (not past its time to live), 'failed' includes those
    past it that the sweep has not recorded yet."""
    status_filter = {
        None: "TRUE",
        "requested": "status = 'requested' AND expires_at > now()",
        "failed": "(status = 'failed' OR (status = 'requested' AND expires_at <= now()))",
    }.get(status, "status = %(s)s")
    async with conn.cursor(row_factory=class_row(Task)) as cur:
        await cur.execute(
            f"SELECT {TASK_COLUMNS} FROM planning_task WHERE kind = %(k)s"
            " AND (%(p)s::text IS NULL OR provider_organization = %(p)s)"
            " AND (%(r)s::text IS NULL OR requester_organization = %(r)s)"
            f" AND {status_filter} ORDER BY created_at DESC LIMIT %(limit)s",
            {"k": kind, "p": provider, "r": requester, "s": status, "limit": limit})
        return await cur.fetchall()


@dataclass(frozen=True)
class OpenVisit:
    """A unit's open visit request: waiting for the provider's answer, or accepted."""

    unit_id: str
    id: uuid.UUID
    status: str
    urgency: str | None
    expires_at: datetime


async def open_visits(conn: Conn, unit_ids: Sequence[str]) -> dict[str, OpenVisit]:
    """The open visit request of each of `unit_ids` that has one (at most one: a unique
    index); a request past its time to live is not open, swept or not."""
    if not unit_ids:
        return {}
    async with conn.cursor(row_factory=class_row(OpenVisit)) as cur:
        await cur.execute(
            "SELECT unit_id, id, status, urgency, expires_at FROM planning_task"
            " WHERE kind = 'visit' AND unit_id = ANY(%s) AND (status = 'accepted'"
            " OR (status = 'requested' AND expires_at > now()))", (list(unit_ids),))
        return {visit.unit_id: visit for visit in await cur.fetchall()}


async def lock_place(conn: Conn, *, location_id: str, item: str) -> None:
    """Hold the place's row until the transaction ends: holds on one place, one at a time."""
    await conn.execute("INSERT INTO planning_place (location_id, item) VALUES (%s, %s)"
                       " ON CONFLICT DO NOTHING", (location_id, item))
    await conn.execute("SELECT 1 FROM planning_place WHERE location_id = %s AND item = %s"
                       " FOR UPDATE", (location_id, item))


async def live_holds(conn: Conn, *, location_id: str, item: str) -> int:
    """Holds that take a place now: accepted, or requested and not past their time to live."""
    cur = await conn.execute(
        "SELECT count(*) FROM planning_task WHERE kind = 'hold' AND location_id = %s"
        " AND held_item = %s AND (status = 'accepted' OR (status = 'requested'"
        " AND expires_at > now()))", (location_id, item))
    row = await cur.fetchone()
    return 0 if row is None else int(row[0])


async def reported_value(conn: Conn, *, location_id: str, item: str) -> float | None:
    """The provider's latest figure of an item (None: never sent, or not reported)."""
    cur = await conn.execute("SELECT value FROM latest_observation WHERE location_id = %s"
                             " AND definition = %s", (location_id, item))
    row = await cur.fetchone()
    return None if row is None or row[0] is None else float(row[0])


async def expire_due(conn: Conn, limit: int = 500) -> list[Task]:
    """Move every request past its time to live to failed (reason `expired`), in one
    statement: each expires once, whichever worker runs it, however often."""
    async with conn.cursor(row_factory=class_row(Task)) as cur:
        await cur.execute(
            "UPDATE planning_task SET status = 'failed', status_reason = 'expired',"
            " closed_at = now() WHERE id IN (SELECT id FROM planning_task"
            " WHERE status = 'requested' AND expires_at <= now() ORDER BY expires_at"
            f" LIMIT %s FOR UPDATE SKIP LOCKED) RETURNING {TASK_COLUMNS}", (limit,))
        return await cur.fetchall()


async def add_events(conn: Conn, events: Sequence[dict[str, Any]]) -> None:
    """Queue planning events for the events topic, in the caller's transaction, in one
    statement; their sequence numbers follow the order given."""
    if events:
        await conn.execute(
            "INSERT INTO planning_event (fields) SELECT e.fields FROM unnest(%s::jsonb[])"
            " WITH ORDINALITY AS e (fields, n) ORDER BY e.n", ([jsonb(e) for e in events],))


async def unpublished_events(conn: Conn, limit: int = 500) -> list[tuple[int, dict[str, Any]]]:
    """Events not yet sent, oldest first, locked (another worker skips them)."""
    cur = await conn.execute(
        "SELECT id, fields FROM planning_event WHERE published_at IS NULL ORDER BY id"
        " LIMIT %s FOR UPDATE SKIP LOCKED", (limit,))
    return [(int(row[0]), dict(row[1])) for row in await cur.fetchall()]


async def mark_published(conn: Conn, ids: Sequence[int]) -> None:
    """Record events as sent."""
    await conn.execute("UPDATE planning_event SET published_at = now() WHERE id = ANY(%s)",
                       (list(ids),))


@dataclass(frozen=True)
class PlanningCounts:
    """What the live figures of some locations show beside the provider's figure."""

    held: dict[tuple[str, str], int]  # (location, bed item) -> live holds
    booked: dict[tuple[str, str], int]  # (location, consult item) -> bookings it still counts


async def planning_counts(conn: Conn, *, location_ids: Sequence[str],
                          windows: Sequence[tuple[str, int]]) -> PlanningCounts:
    """Live holds per place, and per free-consult figure the live bookings of slots that the
    practice's latest agenda still calls free and that start within the figure's window."""
    cur = await conn.execute(
        "SELECT location_id, held_item, count(*) FROM planning_task WHERE kind = 'hold'"
        " AND location_id = ANY(%s) AND (status = 'accepted' OR (status = 'requested'"
        " AND expires_at > now())) GROUP BY 1, 2", (list(location_ids),))
    held = {(r[0], r[1]): int(r[2]) for r in await cur.fetchall()}
    cur = await conn.execute(
        "SELECT o.location_id, o.definition, count(*) FROM latest_observation o"
        " JOIN unnest(%s::text[], %s::int[]) AS w(item, hours) ON w.item = o.definition"
        " JOIN appointment a ON a.location_id = o.location_id"
        "  AND a.status IN ('pending', 'booked') AND a.slot_start >= o.observed_at"
        "  AND a.slot_start < o.observed_at + make_interval(hours => w.hours)"
        " JOIN planning_slot s ON s.location_id = a.location_id AND s.slot_id = a.slot_id"
        "  AND s.status = 'free'"
        " WHERE o.location_id = ANY(%s) GROUP BY 1, 2",
        ([w[0] for w in windows], [w[1] for w in windows], list(location_ids)))
    booked = {(r[0], r[1]): int(r[2]) for r in await cur.fetchall()}
    return PlanningCounts(held, booked)


async def open_requests(conn: Conn) -> list[tuple[str, str, int, float]]:
    """Per kind and sector: requests waiting for the provider, and the oldest one's age (s)."""
    cur = await conn.execute(
        "SELECT kind, sector, count(*), coalesce(max(extract(epoch FROM now() - created_at)),"
        " 0) FROM (SELECT 'appointment' AS kind, l.sector, a.created_at FROM appointment a"
        "  JOIN location l ON l.id = a.location_id WHERE a.status = 'pending'"
        "  UNION ALL SELECT kind, sector, created_at FROM planning_task"
        "  WHERE status = 'requested' AND expires_at > now()) open GROUP BY 1, 2")
    return [(r[0], r[1], int(r[2]), float(r[3])) for r in await cur.fetchall()]


async def forget_patients(conn: Conn, *, older_than_days: int) -> int:
    """Clear the pseudonymous patient reference of requests closed (or whose slot ended)
    more than `older_than_days` ago; returns how many were cleared."""
    cleared = 0
    for sql in (
        "UPDATE appointment SET patient_ref = NULL WHERE patient_ref IS NOT NULL"
        " AND greatest(slot_end, coalesce(closed_at, slot_end))"
        " < now() - make_interval(days => %s)",
        "UPDATE planning_task SET patient_ref = NULL WHERE patient_ref IS NOT NULL"
        " AND closed_at < now() - make_interval(days => %s)",
    ):
        cur = await conn.execute(sql, (older_than_days,))
        cleared += cur.rowcount
    return cleared
