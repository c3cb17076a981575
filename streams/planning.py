"""The planning timer: expiry of unanswered requests, the outbox to the events topic, gauges.

Each round, in this order:

1. **Expire**: every hold or visit request past its time to live moves to `failed` (reason
   `expired`) in one statement, with its audit record and its planning event in the same
   transaction (storage/planning.py `expire_due`). The deadline is a column, so a restart of
   any process neither revives nor loses a request, and a request expires exactly once
   however many workers run the round. (Readers do not wait for the round: a request past
   its deadline already counts as expired in every answer, core/planning.py `is_live`.)
2. **Publish**: planning events written by the API and by step 1 go to the events topic, in
   order; an event is marked sent only after the broker acknowledged it. A worker stopped in
   between sends it again with the same `sequence` (at least once; readers drop a repeat).
3. **Gauges**: requests waiting for the provider, and the oldest one's age (the alert on
   requests left unanswered, ops/prometheus/alerts.yml).
4. **Retention**: patient references of requests closed longer ago than
   PLANNING_PATIENT_RETENTION_DAYS are cleared.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
import psycopg
import structlog

from core.audit_chain import AuditRecord
from core.events import PlanningChanged
from core.metrics import (
    PLANNING_EVENTS_SENT,
    PLANNING_OLDEST_OPEN_SECONDS,
    PLANNING_OPEN_REQUESTS,
    PLANNING_REQUESTS,
    declare_planning,
)
from core.planning import Task
from definitions.planning import load_planning
from storage import audit as audit_store
from storage import planning as store
from streams.events import EventSender
from streams.sink import Sink

log = structlog.get_logger()
Conn = psycopg.AsyncConnection[Any]
EXPIRY_ACTOR = "platform:planning-expiry"


def expiry_record(task: Task, at: datetime) -> AuditRecord:
    """The audit record of one expiry: the platform acted, nobody answered."""
    return AuditRecord(
        at=at, request_id=f"expiry-{task.id}", client_id=EXPIRY_ACTOR, organization=None,
        role="platform", action=f"expire {task.kind}s",
        target=f"{task.kind.capitalize()}/{task.id}", outcome="accepted", status=200,
        reason=f"unanswered at its deadline {task.expires_at.isoformat()}")


def expiry_event(task: Task, at: datetime) -> dict[str, Any]:
    """The fields of an expiry's planning event."""
    return {"resource": "Task", "id": str(task.id), "kind": task.kind, "action": "expire",
            "status": task.status, "previous": "requested", "location_id": task.location_id,
            "unit_id": task.unit_id, "item": task.held_item, "sector": task.sector,
            "roaz_region": task.roaz_region, "provider_organization": task.provider_organization,
            "requester_organization": task.requester_organization,
            "expires_at": task.expires_at.isoformat(), "at": at.isoformat()}


def planning_event(sequence: int, fields: dict[str, Any]) -> PlanningChanged:
    """The event of an outbox row."""
    return msgspec.convert({**fields, "sequence": sequence}, PlanningChanged, strict=False)


async def expire(conn: Conn, _: None = None) -> list[Task]:
    """Expire what is due, audited and queued for the stream, in one transaction."""
    async with conn.transaction():
        expired = await store.expire_due(conn)
        now = datetime.now(UTC)
        await store.add_events(conn, [expiry_event(task, now) for task in expired])
        await audit_store.append(conn, [expiry_record(t, now) for t in expired])
    for task in expired:
        PLANNING_REQUESTS.labels(kind=task.kind, sector=task.sector, outcome="expired").inc()
        log.info("planning_expired", kind=task.kind, id=str(task.id), sector=task.sector,
                 location=task.location_id, unit=task.unit_id)
    return expired


class PlanningTimer:
    """One round: expire, publish, measure, forget (module docstring)."""

    def __init__(self, sink: Sink, events: EventSender, *, retention_days: int) -> None:
        self._sink = sink
        self._events = events
        self._retention_days = retention_days
        declare_planning(load_planning().metric_pairs())

    async def run_once(self) -> None:
        """One round."""
        await self._sink.run(expire, None)
        await self._sink.run(self._publish, None)
        await self._sink.run(self._measure, None)

    async def _publish(self, conn: Conn, _: None) -> int:
        async with conn.transaction():
            pending = await store.unpublished_events(conn)
            if not pending:
                return 0
            await self._events.send([planning_event(i, fields) for i, fields in pending])
            await store.mark_published(conn, [i for i, _ in pending])
        PLANNING_EVENTS_SENT.inc(len(pending))
        return len(pending)

    async def _measure(self, conn: Conn, _: None) -> None:
        seen = await store.open_requests(conn)
        for kind, sector in load_planning().metric_pairs():  # none open: 0, not gone
            PLANNING_OPEN_REQUESTS.labels(kind=kind, sector=sector).set(0)
            PLANNING_OLDEST_OPEN_SECONDS.labels(kind=kind, sector=sector).set(0)
        for kind, sector, count, oldest in seen:
            PLANNING_OPEN_REQUESTS.labels(kind=kind, sector=sector).set(count)
            PLANNING_OLDEST_OPEN_SECONDS.labels(kind=kind, sector=sector).set(oldest)
        async with conn.transaction():
            await store.forget_patients(conn, older_than_days=self._retention_days)

