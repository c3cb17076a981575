"""Stand-ins for a faust stream and topic, for testing stream stages without a broker."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Message:
    value: bytes
    partition: int = 0
    offset: int = 0
    topic: str = "zc.ingest.v2"
    key: bytes | None = b"loc"


@dataclass
class Event:
    message: Message


@dataclass
class Stream:
    """Stands in for a faust stream: batches without acks, and the acks it was given."""

    batches: list[list[Event]]
    acked: list[int] = field(default_factory=list)

    async def noack_take(self, max_: int, within: float) -> AsyncIterator[Sequence[Event]]:
        for batch in self.batches:
            yield batch

    async def ack(self, event: Event) -> None:
        self.acked.append(event.message.offset)


class Topic:
    """Stands in for the dead-letter topic: keeps what was sent."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    async def send(self, key: Any, value: bytes) -> Any:
        self.sent.append(value)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    def get_topic_name(self) -> str:
        return "zc.deadletter.v1"
