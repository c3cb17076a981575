"""The three stream stages, each one small class with one job.

- `Normaliser`: raw provider message -> canonical observations (via the sector adapter).
- `Archiver`: raw provider message -> raw_message table (kept for replay).
- `ObservationSink`: observations -> observation + latest_observation tables.

Each takes a batch of events, turns failures into dead letters, finishes its output (broker acks
or database commit) and only then returns, after which faust acknowledges the batch.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import structlog

from adapters import AdapterError, AdapterResult, adapter_for
from adapters.base import error, meta_of
from core.messages import Observation, Position, RawMessage
from core.metrics import (
    END_TO_END_LATENCY,
    MESSAGES_CONSUMED,
    MESSAGES_PRODUCED,
    OBSERVATIONS_WRITTEN,
    POSITION_DUPLICATES,
    POSITIONS_WRITTEN,
)
from definitions import load_catalogue
from definitions.validation import check_observation
from storage.observations import upsert_observations, upsert_raw_messages
from storage.positions import upsert_positions
from streams.deadletter import DeadLetter, DlqLimit, dead_letter_of
from streams.delivery import finish_despite_cancel
from streams.sink import Sink

log = structlog.get_logger()
Batches = AsyncIterator[Sequence[Any]]


class DeadLetterQueue:
    """Produces dead letters and waits for the broker to acknowledge them, within limits.

    When a stage's `DlqLimit` is exceeded the worker stops at once, before this batch is
    acknowledged (faust acknowledges a batch even when the agent raises, so raising would lose
    it): nothing of the batch is committed, and the messages wait on the topic for the fix.
    """

    def __init__(self, topic: Any, limit: Callable[[], DlqLimit] = DlqLimit,
                 halt: Callable[[int], None] = os._exit) -> None:
        self._topic = topic
        self._new_limit = limit
        self._limits: dict[str, DlqLimit] = {}
        self._halt = halt

    async def put(self, letters: Sequence[DeadLetter], *, stage: str, processed: int) -> None:
        """Produce every letter of a batch of `processed` messages of `stage`; returns once all
        are acknowledged by the broker, or halts the worker when the stage's limit is exceeded.
        """
        limit = self._limits.setdefault(stage, self._new_limit())
        if (reason := limit.record(processed - len(letters), len(letters))) is not None:
            log.critical("dead_letter_limit_exceeded", stage=stage, reason=reason)
            self._halt(70)
            return
        pending = [await self._topic.send(key=d.key, value=d.to_json()) for d in letters]
        await asyncio.gather(*pending)
        if letters:
            MESSAGES_PRODUCED.labels(topic=self._topic.get_topic_name()).inc(len(letters))


def normalise(raw: RawMessage) -> AdapterResult:
    """Map one raw message with the adapter of its source format."""
    adapter = adapter_for(raw.source_format)
    if adapter is None:
        raise AdapterError([error("not-supported", "source_format",
                                  f"no adapter for source format {raw.source_format!r}")])
    return adapter.parse(raw.payload, meta_of(raw))


class BatchStage:
    """A faust agent body that processes batches; the batch is acked when `_process` returns."""

    stage = "stage"
    batch_size = 500
    batch_seconds = 0.2

    async def run(self, stream: Any) -> None:
        """faust agent body."""
        async for events in stream.take_events(self.batch_size, within=self.batch_seconds):
            await finish_despite_cancel(self._process(events))

    async def _process(self, events: Sequence[Any]) -> None:
        raise NotImplementedError


def checked(value: bytes) -> Observation:
    """Decode an observation and hold it against the definition version it claims."""
    obs = Observation.model_validate_json(value)
    check_observation(load_catalogue(), obs.definition, obs.definition_version, obs.value,
                      obs.unit)
    return obs


class Normaliser(BatchStage):
    """Raw messages -> observations topic; unmappable messages -> dead letters."""

    stage = "normalise"

    def __init__(self, observations_topic: Any, positions_topic: Any,
                 dead_letters: DeadLetterQueue) -> None:
        self._observations = observations_topic
        self._positions = positions_topic
        self._dead_letters = dead_letters

    async def _process(self, events: Sequence[Any]) -> None:
        MESSAGES_CONSUMED.labels(topic=events[0].message.topic).inc(len(events))
        pending, dead = [], []
        for event in events:
            try:
                result = normalise(RawMessage.model_validate_json(event.message.value))
            except Exception as exc:  # the error boundary: every failure becomes a dead letter
                dead.append(dead_letter_of(self.stage, event.message, exc))
                continue
            pending += [await self._send(self._observations, o.key(), o)
                        for o in result.observations]
            pending += [await self._send(self._positions, p.unit_id, p) for p in result.positions]
        await asyncio.gather(*pending)
        await self._dead_letters.put(dead, stage=self.stage, processed=len(events))

    @staticmethod
    async def _send(topic: Any, key: str, message: Observation | Position) -> Any:
        MESSAGES_PRODUCED.labels(topic=topic.get_topic_name()).inc()
        return await topic.send(key=key.encode(), value=message.model_dump_json().encode())


class Archiver(BatchStage):
    """Raw messages -> raw_message table, so every accepted message can be replayed."""

    stage = "archive"

    def __init__(self, sink: Sink) -> None:
        self._sink = sink

    async def _process(self, events: Sequence[Any]) -> None:
        # A raw message that does not decode is dead-lettered by the normaliser already.
        messages = []
        for event in events:
            try:
                messages.append(RawMessage.model_validate_json(event.message.value))
            except ValueError:
                continue
        refused = await self._sink.write(upsert_raw_messages, messages)
        for message, exc in refused:
            log.error("raw_message_refused", message_id=str(message.message_id), error=str(exc))


class ObservationSink(BatchStage):
    """Observations topic -> store, one transaction per batch."""

    stage = "sink"

    def __init__(self, sink: Sink, dead_letters: DeadLetterQueue, batch_size: int,
                 batch_seconds: float) -> None:
        self._sink = sink
        self._dead_letters = dead_letters
        self.batch_size = batch_size
        self.batch_seconds = batch_seconds

    async def _process(self, events: Sequence[Any]) -> None:
        MESSAGES_CONSUMED.labels(topic=events[0].message.topic).inc(len(events))
        dead: list[DeadLetter] = []
        decoded: list[tuple[Observation, Any]] = []
        for event in events:
            try:
                decoded.append((checked(event.message.value), event.message))
            except Exception as exc:  # the error boundary
                dead.append(dead_letter_of(self.stage, event.message, exc))
        observations = [obs for obs, _ in decoded]
        source = {id(obs): message for obs, message in decoded}
        refused = await self._sink.write(upsert_observations, observations)
        for obs, problem in refused:
            log.warning("observation_refused", provider=obs.provider, location=obs.location_id,
                        definition=obs.definition, error=str(problem))
            dead.append(dead_letter_of(self.stage, source[id(obs)], problem))
        refused_ids = {id(obs) for obs, _ in refused}
        await self._dead_letters.put(dead, stage=self.stage, processed=len(events))
        self._record_written([o for o in observations if id(o) not in refused_ids])

    @staticmethod
    def _record_written(observations: Sequence[Observation]) -> None:
        OBSERVATIONS_WRITTEN.inc(len(observations))
        log.info("observations_stored", count=len(observations),
                 locations=len({o.location_id for o in observations}))
        now = datetime.now(UTC)
        for obs in observations:
            END_TO_END_LATENCY.observe((now - obs.received_at).total_seconds())


class PositionSink(BatchStage):
    """Positions topic -> position history (once per unit and moment) and latest position."""

    stage = "sink"

    def __init__(self, sink: Sink, dead_letters: DeadLetterQueue) -> None:
        self._sink = sink
        self._dead_letters = dead_letters

    async def _process(self, events: Sequence[Any]) -> None:
        MESSAGES_CONSUMED.labels(topic=events[0].message.topic).inc(len(events))
        dead: list[DeadLetter] = []
        decoded: list[tuple[Position, Any]] = []
        for event in events:
            try:
                decoded.append((Position.model_validate_json(event.message.value),
                                event.message))
            except Exception as exc:  # the error boundary
                dead.append(dead_letter_of(self.stage, event.message, exc))
        source = {id(position): message for position, message in decoded}
        refused = await self._sink.write(store_positions, [p for p, _ in decoded])
        dead += [dead_letter_of(self.stage, source[id(p)], problem) for p, problem in refused]
        await self._dead_letters.put(dead, stage=self.stage, processed=len(events))


async def store_positions(conn: Any, positions: Sequence[Position]) -> None:
    """Write positions and count the new ones and the repeats (the same unit and moment)."""
    new = await upsert_positions(conn, positions)
    POSITIONS_WRITTEN.inc(new)
    POSITION_DUPLICATES.inc(len(positions) - new)
