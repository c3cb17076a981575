"""The store stage: ingest messages -> archive, observations, latest state, positions.

One transaction per batch (storage/observations.py: COPY into staging, one upsert each into
history and latest state), then the batch is acknowledged. A message the API already mapped is
written as it came; one that was not mapped (sent again by the reconciler) is mapped here by its
adapter. The archive row of each message is marked processed in the same transaction (or
written, when the API keeps no write-ahead record): what is archived and not processed is what
the broker may have lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec
import structlog

from adapters import map_raw
from core.figures import ChangedFigure
from core.ingest import IngestMessage, decode_all, ingest_message, mapped_of
from core.messages import Position
from core.metrics import (
    END_TO_END_LATENCY,
    OBSERVATIONS_WRITTEN,
    POSITION_DUPLICATES,
    POSITIONS_WRITTEN,
)
from definitions import load_catalogue
from definitions.validation import DefinitionViolation
from storage.archive import mark_refused
from storage.observations import (
    StagedObservation,
    archive_processed,
    not_archived,
    stored_value,
    write_staged,
)
from storage.positions import upsert_positions
from streams.deadletter import reason_of
from streams.events import EventSender
from streams.sink import Sink
from streams.stage import DeadLetterQueue, Halt, Stage

log = structlog.get_logger()
Conn = Any


@dataclass(frozen=True)
class Ready:
    """What one topic message carries, ready to be written: its ingest messages (one, or a
    replay's several of one subject), their staging rows and positions."""

    messages: tuple[IngestMessage, ...]
    rows: list[StagedObservation]
    positions: list[Position]


def mapped(message: IngestMessage) -> IngestMessage:
    """The message with its observations and positions: mapped here when it was not yet."""
    if message.mapped:
        return message
    raw = message.raw_message()
    result = map_raw(raw)
    return ingest_message(raw, result.observations, result.positions)


def _rows(message: IngestMessage) -> list[StagedObservation]:
    """Staging rows of a mapped message, each observation's definition version known (the
    adapter checked its value; a replay may carry one that has gone)."""
    catalogue = load_catalogue()
    rows: list[StagedObservation] = []
    for location, code, version, value, reason, observed_at in message.observations or []:
        if catalogue.version(code, version) is None:
            raise DefinitionViolation(f"{code} v{version} is not a known definition version")
        number, text = stored_value(value)
        rows.append((location, code, observed_at, version, number, text, reason,
                     message.received_at, message.provider, message.source_format,
                     message.message_id))
    return rows


def _positions(message: IngestMessage) -> list[Position]:
    return [Position(unit_id=unit, unit_kind=kind, provider=message.provider,
                     latitude=lat, longitude=lon, accuracy_m=accuracy, speed_kmh=speed,
                     heading_deg=heading, observed_at=observed_at,
                     received_at=message.received_at, source_format=message.source_format)
            for unit, kind, observed_at, lat, lon, accuracy, speed, heading
            in message.positions]


def ready(messages: Sequence[IngestMessage]) -> Ready:
    """Staging rows and positions of mapped messages, in their order."""
    return Ready(tuple(messages), [row for m in messages for row in _rows(m)],
                 [position for m in messages for position in _positions(m)])


class StoreStage(Stage[Ready]):
    """Ingest topic -> PostgreSQL / TimescaleDB, one transaction per batch."""

    name = "store"

    def __init__(self, sink: Sink, dead_letters: DeadLetterQueue, halt: Halt, *,
                 batch_size: int, batch_seconds: float, copy: bool,
                 events: EventSender | None = None) -> None:
        super().__init__(dead_letters, halt)
        self._sink = sink
        self._copy = copy
        self._events = events
        self.batch_size = batch_size
        self.batch_seconds = batch_seconds

    def decode(self, message: Any) -> Ready:
        """Decode, map if needed, check definitions."""
        return ready([mapped(m) for m in decode_all(message.value)])

    async def handle(self, items: Sequence[tuple[Ready, Any]]) -> list[tuple[Any, BaseException]]:
        """Write the batch; messages the database refuses come back for the dead letters."""
        batch = [item for item, _ in items]
        # What each write attempt changed, by the messages it wrote: an attempt that failed
        # is replaced by the next one of the same messages, or split into single messages.
        changes: dict[frozenset[int], list[ChangedFigure]] = {}

        async def write(conn: Conn, part: Sequence[Ready]) -> None:
            changes[frozenset(map(id, part))] = await self._write(conn, part)

        refused = await self._sink.write(write, batch)
        refused_ids = {id(item) for item, _ in refused}
        written = [item for item in batch if id(item) not in refused_ids]
        _count(written)
        if self._events is not None and written:
            kept = [rows for part, rows in changes.items() if not part & refused_ids]
            await self._events.after_write([row for rows in kept for row in rows],
                                           [p.unit_id for r in written for p in r.positions])
        source = {id(item): message for item, message in items}
        for item, exc in refused:
            log.warning("message_refused_by_database",
                        message_ids=[str(m.message_id) for m in item.messages],
                        location=item.messages[0].location_id, error=str(exc))
        return [(source[id(item)], exc) for item, exc in refused]

    async def refused(self, letters: Sequence[tuple[Any, BaseException]]) -> None:
        """Archived messages that became dead letters are done: not sent again."""
        ids = []
        for message, exc in letters:
            try:
                ids += [(m.message_id, reason_of(exc)[0]) for m in decode_all(message.value)]
            except (msgspec.DecodeError, msgspec.ValidationError):
                continue  # not even an ingest message: nothing archived to mark
        if ids:
            await self._sink.run(mark_refused, ids)

    async def _write(self, conn: Conn, batch: Sequence[Ready]) -> list[ChangedFigure]:
        messages = [m for r in batch for m in r.messages]
        missing = set(await not_archived(conn, [m.message_id for m in messages]))
        await archive_processed(conn, [(m.raw_message(), mapped_of(m))
                                       for m in messages if m.message_id in missing])
        changed = await write_staged(conn, [row for r in batch for row in r.rows],
                                     copy=self._copy)
        new = await upsert_positions(conn, [p for r in batch for p in r.positions])
        total = sum(len(r.positions) for r in batch)
        POSITIONS_WRITTEN.inc(new)
        POSITION_DUPLICATES.inc(total - new)
        return changed


def _count(written: Sequence[Ready]) -> None:
    observations = sum(len(r.rows) for r in written)
    OBSERVATIONS_WRITTEN.inc(observations)
    now = datetime.now(UTC)
    messages = [m for item in written for m in item.messages]
    for message in messages:
        END_TO_END_LATENCY.observe((now - message.received_at).total_seconds())
    if written:
        log.info("messages_stored", messages=len(messages), observations=observations,
                 locations=len({m.location_id for m in messages}))
