"""The one error boundary of the stream stages, without a broker: bad messages become dead
letters, a batch is acknowledged only after its work, and a broken stage halts unacknowledged."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

from streams.deadletter import DlqLimit
from streams.stage import DeadLetterQueue, Stage
from tests.stage_fakes import Event, Message, Stream, Topic


def test_scattered_bad_messages_stay_within_the_limit() -> None:
    limit = DlqLimit(max_invalid_ratio=0.5, max_consecutive=10, min_seen=20, window=100)
    for _ in range(50):
        assert limit.record(valid=9, invalid=1) is None


def test_too_many_in_a_row_is_a_broken_stage() -> None:
    limit = DlqLimit(max_invalid_ratio=0.9, max_consecutive=10, min_seen=1000, window=1000)
    assert limit.record(valid=0, invalid=10) is None
    reason = limit.record(valid=0, invalid=1)
    assert reason is not None and "11 messages in a row" in reason
    assert DlqLimit(max_consecutive=10).record(valid=1, invalid=5) is None


def test_too_high_a_share_over_the_window_is_a_broken_stage() -> None:
    limit = DlqLimit(max_invalid_ratio=0.5, max_consecutive=10_000, min_seen=20, window=100)
    assert limit.record(valid=5, invalid=9) is None  # too few seen to judge
    reason = limit.record(valid=2, invalid=6)
    assert reason is not None and "15 of the last 22" in reason


class Numbers(Stage[int]):
    """Decodes digits, refuses odd numbers, breaks on 9."""

    name = "numbers"

    def __init__(self, dead_letters: DeadLetterQueue, halts: list[BaseException]) -> None:
        async def halt(reason: BaseException) -> None:
            halts.append(reason)

        super().__init__(dead_letters, halt)
        self.handled: list[int] = []

    def decode(self, message: Any) -> int:
        return int(message.value)

    async def handle(self, items: Sequence[tuple[int, Any]]) -> list[tuple[Any, BaseException]]:
        if any(n == 9 for n, _ in items):
            raise RuntimeError("a bug")
        self.handled += [n for n, _ in items if n % 2 == 0]
        return [(message, ValueError(f"{n} is odd")) for n, message in items if n % 2]


def events(*values: bytes, partition: int = 0, first: int = 0) -> list[Event]:
    return [Event(Message(v, partition, first + i)) for i, v in enumerate(values)]


async def run_until_halted(stage: Numbers, stream: Stream, halts: list[BaseException]) -> None:
    task = asyncio.create_task(stage.run(stream))
    for _ in range(100):
        await asyncio.sleep(0)
        if halts or task.done():
            break
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def test_bad_messages_become_dead_letters_and_the_batch_is_acked_after_the_work() -> None:
    topic = Topic()
    halts: list[BaseException] = []
    stage = Numbers(DeadLetterQueue(topic), halts)
    stream = Stream([events(b"2", b"x", b"3", b"4")])
    asyncio.run(run_until_halted(stage, stream, halts))
    assert stage.handled == [2, 4] and halts == []
    letters = [json.loads(sent) for sent in topic.sent]
    assert [(d["stage"], d["source"]["offset"], d["detail"]) for d in letters] == [
        ("numbers", 1, "ValueError: invalid literal for int() with base 10: b'x'"),
        ("numbers", 2, "ValueError: 3 is odd")]
    assert stream.acked == [0, 1, 2, 3]


def test_an_unhandled_error_halts_the_worker_and_acknowledges_nothing() -> None:
    topic = Topic()
    halts: list[BaseException] = []
    stage = Numbers(DeadLetterQueue(topic), halts)
    stream = Stream([events(b"2"), events(b"4", b"9", first=1), events(b"6", first=3)])
    asyncio.run(run_until_halted(stage, stream, halts))
    assert [str(h) for h in halts] == ["a bug"]
    assert stream.acked == [0]  # the broken batch and everything after it stay unacknowledged
    assert stage.handled == [2]


def test_the_limit_is_kept_per_partition() -> None:
    topic = Topic()
    halts: list[BaseException] = []
    queue = DeadLetterQueue(topic, limit=lambda: DlqLimit(max_consecutive=3))
    stage = Numbers(queue, halts)
    stream = Stream([events(b"1", b"3", partition=0),
                     events(b"5", b"7", partition=1, first=10),  # its own count: 2 in a row
                     events(b"2", partition=1, first=12),
                     events(b"11", b"13", partition=0, first=2)])  # partition 0: 4 in a row
    asyncio.run(run_until_halted(stage, stream, halts))
    assert len(halts) == 1 and "numbers partition 0" in str(halts[0])
    assert stream.acked == [0, 1, 10, 11, 12]
    assert len(topic.sent) == 4  # the last batch was not dead-lettered: the worker halted
