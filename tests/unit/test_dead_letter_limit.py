"""The dead-letter limit: a few bad messages are dead-lettered, a broken stage halts the worker."""

from __future__ import annotations

import asyncio
from typing import Any

from streams.deadletter import DeadLetter, DlqLimit
from streams.stages import DeadLetterQueue


def letter(n: int) -> DeadLetter:
    return DeadLetter("normalise", "invalid", "bad", "zc.ingest.raw.v1", 0, n, None, b"x")


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


class FakeTopic:
    def __init__(self) -> None:
        self.sent: list[bytes] = []

    async def send(self, key: Any, value: bytes) -> Any:
        self.sent.append(value)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    def get_topic_name(self) -> str:
        return "zc.deadletter.v1"


def test_the_queue_halts_before_producing_when_a_stage_breaks_its_limit() -> None:
    topic, halts = FakeTopic(), []
    queue = DeadLetterQueue(topic, limit=lambda: DlqLimit(max_consecutive=3), halt=halts.append)

    async def scenario() -> None:
        await queue.put([letter(1), letter(2)], stage="normalise", processed=5)
        await queue.put([letter(3)], stage="sink", processed=1)  # another stage, its own limit
        await queue.put([letter(n) for n in range(4, 8)], stage="normalise", processed=4)

    asyncio.run(scenario())
    assert len(topic.sent) == 3  # the last batch was not dead-lettered ...
    assert halts == [70]  # ... the worker was stopped instead, so it is not acknowledged
