"""The alerts stage: alert rules evaluated as events arrive, notifications stored and sent.

Reads the events topic (core/events.py): a figure event is checked against the threshold rules
of its location and its region (the region's roll-up, read in the same transaction) and clears
stale rules; a status event against status rules; a stale / fresh event against stale rules;
a planning event against the planning rules of the organisations party to the request.
New states and notifications are written in one transaction per batch (an event seen twice
raises nothing twice), then each notification goes to the events topic (for /v1/stream) and,
for a rule with a webhook, into the delivery queue that `WebhookSender` works through.

`WebhookSender`: POSTs each notification to its rule's URL, signed (core/alerts.py
`signature`), retried with backoff; a delivery that failed every try is marked failed, which
its owner sees on GET /v1/alert-rules and operators in zc_webhook_deliveries_total.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import httpx
import psycopg
import structlog

from core.alerts import (
    SIGNATURE_HEADER,
    AlertRule,
    Notification,
    PlanningRequest,
    Transition,
    backoff_seconds,
    describe,
    planning_applies,
    planning_firing,
    signature,
    status_firing,
    threshold_firing,
)
from core.events import (
    AlertRaised,
    Event,
    FigureChanged,
    Freshness,
    PlanningChanged,
    StatusChanged,
    decode,
    event_id,
)
from core.figures import item_matches
from core.metrics import ALERTS_RAISED, WEBHOOK_DELIVERIES
from definitions import load_catalogue
from storage import alerts as store
from streams.events import EventSender
from streams.sink import Sink
from streams.stage import DeadLetterQueue, Halt, Stage

log = structlog.get_logger()
Conn = psycopg.AsyncConnection[Any]
Sourced = tuple[Event, str]  # an event and its id on the topic
Watched = FigureChanged | StatusChanged | Freshness | PlanningChanged


def _request(event: PlanningChanged) -> PlanningRequest:
    return PlanningRequest(
        kind=event.kind, status=event.status, location_id=event.location_id,
        roaz_region=event.roaz_region, provider_organization=event.provider_organization,
        requester_organization=event.requester_organization)


def _applies(rule: AlertRule, event: Watched) -> bool:
    if isinstance(event, PlanningChanged):
        return planning_applies(rule, _request(event))
    if rule.location_id is not None and rule.location_id != event.location_id:
        return False
    if rule.roaz_region is not None and rule.roaz_region != event.roaz_region:
        return False
    return item_matches(event.definition, rule.definition)


def candidates(rules: Sequence[AlertRule], event: Event) -> list[AlertRule]:
    """The rules an event may change."""
    if isinstance(event, FigureChanged):
        kinds = {"threshold", "stale"}
    elif isinstance(event, StatusChanged):
        kinds = {"status"}
    elif isinstance(event, Freshness):
        kinds = {"stale"}
    elif isinstance(event, PlanningChanged):
        kinds = {"planning"}
    else:
        return []
    return [r for r in rules if r.kind in kinds and _applies(r, event)]


def subject_of(rule: AlertRule, event: Watched) -> str:
    """What a rule's state is kept for: the region for a region threshold, else the location
    (and the item, for a stale rule over several items); for a planning rule the request."""
    if isinstance(event, PlanningChanged):
        return f"{event.resource}/{event.id}"
    if rule.kind == "threshold" and rule.roaz_region is not None:
        return f"region:{rule.roaz_region}"
    if rule.kind == "stale":
        return f"{event.location_id}|{event.definition}"
    return event.location_id


def _value(event: FigureChanged) -> float | str | None:
    return event.value_text if event.value_text is not None else event.value


class AlertStage(Stage[Sourced]):
    """Events topic -> alert states and notifications."""

    name = "alerts"
    batch_size = 200
    batch_seconds = 0.05

    def __init__(self, sink: Sink, dead_letters: DeadLetterQueue, halt: Halt,
                 events: EventSender) -> None:
        super().__init__(dead_letters, halt)
        self._sink = sink
        self._events = events
        self._rules: list[AlertRule] = []
        self._rules_version: tuple[int, int] | None = None

    def decode(self, message: Any) -> Sourced:
        """An event and its id."""
        return decode(message.value), event_id(message.offset, round(message.timestamp * 1000))

    async def handle(self, items: Sequence[tuple[Sourced, Any]],
                     ) -> list[tuple[Any, BaseException]]:
        """Evaluate, store, then send the notifications."""
        rules = await self._current_rules()
        batch = [item for item, _ in items
                 if not isinstance(item[0], AlertRaised) and candidates(rules, item[0])]
        if batch:
            raised = await self._sink.run(self._evaluate, (rules, batch))
            ALERTS_RAISED.inc(len(raised))
            await self._events.send([_event(n) for n in raised])
            for n in raised:
                log.info("alert", rule=n.rule_id, state=n.state, message=n.message)
        return []

    async def _current_rules(self) -> list[AlertRule]:
        # A rule answered 201 applies to every event after it: a cheap look at the rules'
        # version each batch, the rules themselves read again only when it changed.
        version = await self._sink.run(lambda conn, _: store.rules_version(conn), None)
        if version != self._rules_version:
            self._rules = await self._sink.run(lambda conn, _: store.active_rules(conn), None)
            self._rules_version = version
        return self._rules

    async def _evaluate(self, conn: Conn, work: tuple[list[AlertRule], list[Sourced]],
                        ) -> list[Notification]:
        rules, batch = work
        async with conn.transaction():
            pairs = [(rule, event, source) for event, source in batch
                     if isinstance(event, Watched) for rule in candidates(rules, event)]
            keys = sorted({(rule.id, subject_of(rule, event)) for rule, event, _ in pairs})
            states = await store.firing_states(conn, keys)
            transitions: list[Transition] = []
            for rule, event, source in pairs:
                key = (rule.id, subject_of(rule, event))
                was = states.get(key, False)
                now, value = await _firing(conn, rule, event, was)
                if now == was:
                    continue
                states[key] = now
                transitions.append(_transition(rule, event, key[1], now, value, source))
            return await store.record(conn, transitions)


async def _firing(conn: Conn, rule: AlertRule, event: Watched,
                  was: bool) -> tuple[bool, float | str | None]:
    if isinstance(event, PlanningChanged):
        return planning_firing(event.status), f"{event.kind} {event.status}"
    if isinstance(event, Freshness):
        return event.stale, None
    if isinstance(event, StatusChanged):
        return status_firing(rule, event.value), event.value
    if rule.kind == "stale":
        return False, _value(event)  # a new figure: the feed is alive
    if rule.roaz_region is not None:
        definition = load_catalogue().get(rule.definition)
        rollup = definition.rollup if definition else "sum"
        value = await store.region_value(conn, rule.roaz_region, rule.definition, rollup)
        return threshold_firing(rule, value, was), value
    number = event.value if event.value_text is None else None
    return threshold_firing(rule, number, was), number


def _transition(rule: AlertRule, event: Watched, subject: str,
                firing: bool, value: float | str | None, source: str) -> Transition:
    where = (f"region {rule.roaz_region}" if subject.startswith("region:")
             else _where(event))
    return Transition(
        rule=rule, subject=subject, firing=firing, message=describe(rule, firing, where, value),
        location_id=None if subject.startswith("region:") else event.location_id,
        roaz_region=event.roaz_region,
        value=value if isinstance(value, float | int) else None,
        value_text=value if isinstance(value, str) else None, source_event=source)


def _where(event: Watched) -> str:
    if isinstance(event, PlanningChanged):  # where, and which request: the receiver acts on it
        place = (f"Location/{event.location_id}" if event.location_id is not None
                 else f"MobileUnit/{event.unit_id}")
        return f"{place} ({event.resource}/{event.id})"
    return event.location_name


def _event(n: Notification) -> AlertRaised:
    return AlertRaised(
        id=n.id, rule_id=n.rule_id, rule_name=n.rule_name,
        owner_organization_id=n.owner_organization_id, kind=n.kind, severity=n.severity,
        state=n.state, message=n.message, location_id=n.location_id, roaz_region=n.roaz_region,
        definition=n.definition, value=n.value_text if n.value is None else n.value,
        threshold=n.threshold, raised_at=n.raised_at, acknowledged_at=n.acknowledged_at,
        acknowledged_by=n.acknowledged_by)


def webhook_body(n: Notification) -> bytes:
    """What a webhook receives: the notification as /v1/alerts shows it."""
    data = {name: getattr(_event(n), name) for name in AlertRaised.__struct_fields__
            if name != "owner_organization_id"}
    return json.dumps(data, default=lambda v: v.isoformat(), separators=(",", ":")).encode()


class WebhookSender:
    """Each round: POST the due deliveries, record the outcome, schedule retries."""

    def __init__(self, sink: Sink, *, max_attempts: int, timeout: float) -> None:
        self._sink = sink
        self._max_attempts = max_attempts
        self._timeout = timeout

    async def run_once(self) -> int:
        """One round; returns how many deliveries were tried."""
        return await self._sink.run(self._round, None)

    async def _round(self, conn: Conn, _: None) -> int:
        async with conn.transaction():
            due = await store.due_deliveries(conn)
            if not due:
                return 0
            found = {n.id: n for n in await store.notifications(
                conn, ids=[d.notification_id for d in due])}
            async with httpx.AsyncClient(timeout=self._timeout) as client:
                for delivery in due:
                    await self._try(conn, client, delivery, found[delivery.notification_id])
        return len(due)

    async def _try(self, conn: Conn, client: httpx.AsyncClient, delivery: store.DueDelivery,
                   notification: Notification) -> None:
        body = webhook_body(notification)
        headers = {"Content-Type": "application/json",
                   SIGNATURE_HEADER: signature(delivery.webhook_secret,
                                               int(datetime.now(UTC).timestamp()), body),
                   "X-Zorgcapaciteit-Delivery": str(delivery.notification_id)}
        status: int | None = None
        try:
            answer = await client.post(delivery.webhook_url, content=body, headers=headers)
            status, error = answer.status_code, (None if answer.is_success
                                                 else f"HTTP {answer.status_code}")
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        attempts = delivery.attempts + 1
        if error is None:
            outcome, retry = "delivered", None
        elif attempts >= self._max_attempts:
            outcome, retry = "failed", None
        else:
            outcome, retry = "retry", backoff_seconds(attempts)
        WEBHOOK_DELIVERIES.labels(outcome=outcome).inc()
        if outcome != "delivered":
            log.warning("webhook_not_delivered", notification=delivery.notification_id,
                        attempts=attempts, error=error, outcome=outcome)
        await store.delivery_done(conn, delivery.notification_id, delivered=error is None,
                                  status=status, error=error, retry_in=retry)
