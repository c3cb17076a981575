"""Events of what changed, sent to the events topic (core/events.py) for /v1/stream and alerts.

- after each store batch is written: a figure event per latest figure that changed, a status
  event when an SEH status or admission stop changed, a fresh event when a stale figure was
  replaced, and the positions of the units that moved (at most one per unit every
  `position_event_seconds`; a unit held back is sent by the next round of the watcher);
- every `stale_check_seconds` (the stale watcher): a stale event per figure whose freshness
  deadline passed since the last round.

Events are sent after the write committed and before the batch is acknowledged, and the send
waits for the broker: a worker killed between the two loses those events (the figures are
stored; a client's next snapshot shows them), never sends one for a figure not stored.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from core.events import (
    Event,
    FigureChanged,
    Freshness,
    StatusChanged,
    UnitMoved,
    encode,
    is_status,
    status_value,
)
from core.figures import ChangedFigure, WentStale
from definitions import Catalogue, load_catalogue
from storage.freshness import went_stale
from storage.units import latest_unit_positions
from streams.sink import Sink

UNIT_STATUS = "ambulance.vehicle.status"


def _located(row: ChangedFigure | WentStale) -> dict[str, Any]:
    return {"location_id": row.location_id, "location_name": row.location_name,
            "organization_id": row.organization_id, "sector": row.sector,
            "roaz_region": row.roaz_region, "latitude": row.latitude,
            "longitude": row.longitude}


def figure_events(changed: Iterable[ChangedFigure], catalogue: Catalogue,
                  now: datetime) -> list[Event]:
    """The events of latest figures that changed at registered locations."""
    events: list[Event] = []
    for row in changed:
        if row.location_name is None:
            continue  # a mobile unit's status: its position event says it
        located = _located(row)
        events.append(FigureChanged(
            **located, definition=row.definition, definition_version=row.definition_version,
            value=row.value, value_text=row.value_text,
            not_reported_reason=row.not_reported_reason, observed_at=row.observed_at,
            received_at=row.received_at, provider=row.provider))
        definition = catalogue.version(row.definition, row.definition_version)
        if definition is None:
            continue
        if is_status(definition):
            value = status_value(row.value, row.value_text, definition)
            previous = status_value(row.previous_value, row.previous_value_text, definition)
            if value != previous:
                events.append(StatusChanged(**located, definition=row.definition, value=value,
                                            previous=previous, observed_at=row.observed_at))
        was = row.previous_observed_at
        if was is not None and definition.is_stale(was, now) and not definition.is_stale(
                row.observed_at, now):
            events.append(Freshness(**located, definition=row.definition,
                                    observed_at=row.observed_at, stale=False))
    return events


def stale_events(rows: Iterable[WentStale]) -> list[Event]:
    """The events of figures that went past their freshness deadline."""
    return [Freshness(**_located(row), definition=row.definition, observed_at=row.observed_at,
                      stale=True) for row in rows]


def deadlines(catalogue: Catalogue) -> dict[str, float]:
    """Seconds until stale, per item (its current version)."""
    return {d.code: d.freshness_deadline.total_seconds() for d in catalogue.current_all()}


class PositionThrottle:
    """At most one position event per unit every `interval` seconds; what is held back is
    sent later (`held`), so the last position of a unit that stopped is never missing."""

    def __init__(self, interval: float) -> None:
        self._interval = interval
        self._sent: dict[str, float] = {}
        self._held: set[str] = set()

    def due(self, units: Iterable[str]) -> list[str]:
        """Which of `units` may be sent now; the others are held."""
        now = time.monotonic()
        ready = []
        for unit in set(units):
            if now - self._sent.get(unit, -1e9) >= self._interval:
                self._sent[unit] = now
                self._held.discard(unit)
                ready.append(unit)
            else:
                self._held.add(unit)
        return sorted(ready)

    def held(self) -> list[str]:
        """The units held back that may go now."""
        return self.due(list(self._held)) if self._held else []


class EventSender:
    """Sends events to the events topic and waits for the broker."""

    def __init__(self, topic: Any, sink: Sink, position_seconds: float) -> None:
        self._topic = topic
        self._sink = sink
        self.throttle = PositionThrottle(position_seconds)

    async def send(self, events: Sequence[Event]) -> None:
        """Send and wait until the broker has them."""
        pending = [await self._topic.send(value=encode(e)) for e in events]
        await asyncio.gather(*pending)

    async def after_write(self, changed: Sequence[ChangedFigure], units: Iterable[str]) -> None:
        """The events of a written batch: figures, statuses, and the units that moved."""
        events = figure_events(changed, load_catalogue(), datetime.now(UTC))
        moved = {*units, *(c.location_id for c in changed
                           if c.location_name is None and c.definition == UNIT_STATUS)}
        events += await self._units(self.throttle.due(moved))
        if events:
            await self.send(events)

    async def _units(self, ids: Sequence[str]) -> list[Event]:
        if not ids:
            return []
        found = await self._sink.run(_unit_positions, ids)
        return [UnitMoved(**{k: v for k, v in vars(u).items() if k != "distance_km"})
                for u in found]

    async def held_units(self) -> None:
        """Send the positions held back by the throttle."""
        events = await self._units(self.throttle.held())
        if events:
            await self.send(events)


async def _unit_positions(conn: psycopg.AsyncConnection[Any], ids: Sequence[str]) -> list[Any]:
    return await latest_unit_positions(conn, kind=None, units=ids)


class StaleWatcher:
    """Each round: stale events for the figures whose deadline passed since the last round."""

    def __init__(self, sink: Sink, sender: EventSender) -> None:
        self._sink = sink
        self._sender = sender
        self._since: datetime | None = None

    async def run_once(self, *, stale: bool = True) -> None:
        """One round: positions held back by the throttle, and (`stale`: this worker is the
        one that looks) the figures gone stale since the last round. A failed round is
        repeated by the next: `since` only moves on success."""
        await self._sender.held_units()
        if not stale:
            return
        until = datetime.now(UTC)
        since = self._since or until - timedelta(seconds=1)
        rows = await self._sink.run(_went_stale, (since, until))
        if rows:
            await self._sender.send(stale_events(rows))
        self._since = until


async def _went_stale(conn: psycopg.AsyncConnection[Any],
                      window: tuple[datetime, datetime]) -> list[WentStale]:
    return await went_stale(conn, deadlines(load_catalogue()), *window)
