"""The one error boundary of every stream stage, written once.

A stage takes a batch of events without acknowledging them (faust's `noack_take`), decodes each
one, handles the decoded ones (writes them, or produces what follows from them), sends what
failed to the dead-letter topic with its reason, and only then acknowledges the batch, so that
an offset is committed only after its message was written.

- A message that cannot be decoded or is refused (by its adapter, by the database) becomes a
  dead letter; `DlqLimit` per stage and partition says when refusing has become the norm
  rather than the exception (a bad deploy).
- Anything else (a bug, a limit exceeded) halts the worker before the batch is acknowledged:
  faust crashes the app, logs are flushed and connections closed, the process exits non-zero
  and its supervisor starts it again; the batch is consumed again from the last commit.
- A batch's work runs shielded from cancellation (`finish_despite_cancel`), so a stop in the
  middle of a write waits for the write.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

import structlog

from core.metrics import MESSAGES_CONSUMED, MESSAGES_PRODUCED, STAGE_HALTS
from streams.deadletter import DeadLetter, DlqLimit, dead_letter_of
from streams.delivery import finish_despite_cancel

log = structlog.get_logger()
Item = TypeVar("Item")
Halt = Callable[[BaseException], Awaitable[None]]


class StageHalted(Exception):
    """A stage refused to go on: its batch is not acknowledged."""


class DeadLetterQueue:
    """Produces dead letters and waits for the broker's acknowledgement, within limits kept per
    stage and partition (one stage, or one partition of it, failing does not hide behind the
    others' successes)."""

    def __init__(self, topic: Any, limit: Callable[[], DlqLimit] = DlqLimit) -> None:
        self._topic = topic
        self._new_limit = limit
        self._limits: dict[tuple[str, int], DlqLimit] = {}

    def check(self, stage: str, partition: int, valid: int, invalid: int) -> None:
        """StageHalted when the partition's refusals pass the stage's limit."""
        limit = self._limits.setdefault((stage, partition), self._new_limit())
        reason = limit.record(valid, invalid)
        if reason is not None:
            raise StageHalted(f"dead-letter limit of {stage} partition {partition}: {reason}")

    async def put(self, letters: Sequence[DeadLetter]) -> None:
        """Produce the letters; returns once the broker acknowledged every one."""
        pending = [await self._topic.send(key=d.key, value=d.to_json()) for d in letters]
        await asyncio.gather(*pending)
        if letters:
            MESSAGES_PRODUCED.labels(topic=self._topic.get_topic_name()).inc(len(letters))


class Stage(Generic[Item]):
    """One stream stage: `decode` one message, `handle` a batch of decoded ones.

    `handle` returns the items it refused with the reason (they become dead letters); anything
    it raises halts the worker. Subclasses set `name`, and may set `batch_size` and
    `batch_seconds`.
    """

    name = "stage"
    batch_size = 500
    batch_seconds = 0.1

    def __init__(self, dead_letters: DeadLetterQueue, halt: Halt) -> None:
        self._dead_letters = dead_letters
        self._halt = halt

    def decode(self, message: Any) -> Item:
        """The item one message carries; raises what makes it a dead letter."""
        raise NotImplementedError

    async def handle(self, items: Sequence[tuple[Item, Any]]) -> list[tuple[Any, BaseException]]:
        """Do the stage's work for (item, message) pairs; returns (message, reason) refused."""
        raise NotImplementedError

    async def refused(self, letters: Sequence[tuple[Any, BaseException]]) -> None:
        """Called once the batch's dead letters are on their topic (the store stage marks
        their archived messages done)."""

    async def run(self, stream: Any) -> None:
        """faust agent body: batches, each acknowledged only once its work is done."""
        async for events in stream.noack_take(self.batch_size, within=self.batch_seconds):
            try:
                await finish_despite_cancel(self._process(events))
            except StageHalted as exc:
                await self._stop(exc)
            except Exception as exc:  # noqa: BLE001 - the boundary: anything unhandled halts
                await self._stop(exc)
            for event in events:
                await stream.ack(event)

    async def _process(self, events: Sequence[Any]) -> None:
        MESSAGES_CONSUMED.labels(topic=events[0].message.topic).inc(len(events))
        decoded: list[tuple[Item, Any]] = []
        refused: list[tuple[Any, BaseException]] = []
        for event in events:
            try:
                decoded.append((self.decode(event.message), event.message))
            except Exception as exc:  # noqa: BLE001 - the boundary: a bad message, a dead letter
                refused.append((event.message, exc))
        refused += await self.handle(decoded) if decoded else []
        dead = [dead_letter_of(self.name, message, exc) for message, exc in refused]
        self._check_limits(events, dead)
        await self._dead_letters.put(dead)
        if refused:
            await self.refused(refused)

    def _check_limits(self, events: Sequence[Any], dead: Sequence[DeadLetter]) -> None:
        counts: dict[int, list[int]] = {}
        for event in events:
            counts.setdefault(event.message.partition, [0, 0])[0] += 1
        for letter in dead:
            counts[letter.partition][1] += 1
        for partition, (seen, refused) in sorted(counts.items()):
            self._dead_letters.check(self.name, partition, seen - refused, refused)

    async def _stop(self, exc: BaseException) -> None:
        """Halt the worker without acknowledging the batch, and wait to be cancelled."""
        STAGE_HALTS.labels(stage=self.name).inc()
        log.critical("stage_halted", stage=self.name, reason=f"{type(exc).__name__}: {exc}")
        await self._halt(exc)
        await asyncio.Event().wait()  # never returns: the stop cancels this agent
