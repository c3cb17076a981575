"""The events topic, tailed by every API process and fanned out to its /v1/stream clients.

Each API process reads the (single-partition) events topic on its own, from the end, with a
consumer that commits nothing: every process sees every event under the same id (its offset),
so a client may reconnect to any process. The newest `recent` events stay in memory for clients
that reconnect; one that missed more is caught up from the topic itself (kept for hours), and
one whose last event the topic no longer holds (too old, or the broker lost its log) is told to
reload its snapshot (`Reset`).
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import msgspec
import structlog
from confluent_kafka import Consumer, KafkaError, TopicPartition

from core.events import Event, decode, event_id

log = structlog.get_logger()
POLL_SECONDS = 0.2


@dataclass(frozen=True)
class Received:
    """An event with its place on the topic."""

    offset: int
    timestamp_ms: int
    event: Event

    @property
    def id(self) -> str:
        """The id a client sees."""
        return event_id(self.offset, self.timestamp_ms)


@dataclass(frozen=True)
class Reset:
    """The client must reload its snapshot: `reason` says why."""

    reason: str


Item = Received | Reset


@dataclass(eq=False)  # kept in a set, by identity
class Subscriber:
    """One connected client: what it may receive, and its queue."""

    wants: Callable[[Event], bool]
    queue: asyncio.Queue[Item] = field(default_factory=lambda: asyncio.Queue(maxsize=10000))
    overflowed: bool = False


def _consumer(bootstrap: str) -> Consumer:
    return Consumer({
        "bootstrap.servers": bootstrap,
        # Never committed: the id only keeps this process's consumer apart from the others.
        "group.id": f"zc-api-events-{uuid.uuid4()}",
        "enable.auto.commit": False,
        "auto.offset.reset": "latest",
        "enable.partition.eof": False,
        # An event is worth a few ms to a triagist's board: ask the broker not to hold a fetch
        # for long (librdkafka's default waits up to 500 ms for more data).
        "fetch.wait.max.ms": 20,
    })


def _received(message: object) -> Received | None:
    offset, (_, stamp), value = (message.offset(),  # type: ignore[attr-defined]
                                 message.timestamp(),  # type: ignore[attr-defined]
                                 message.value())  # type: ignore[attr-defined]
    try:
        return Received(offset, stamp, decode(value))
    except (msgspec.DecodeError, msgspec.ValidationError):
        log.warning("event_undecodable", offset=offset)
        return None


class EventsHub:
    """Tails the events topic in a thread; subscribers get what they may read."""

    def __init__(self, bootstrap: str, topic: str, recent: int) -> None:
        self._bootstrap = bootstrap
        self._topic = topic
        self.recent: deque[Received] = deque(maxlen=recent)
        self._subscribers: set[Subscriber] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        # Where the tail reads next. Known before the process reports itself started, so an
        # event produced after that is never skipped by a tail still looking for the end.
        self._next: int | None = None
        self._positioned = threading.Event()

    async def start(self, ready_within: float = 10.0) -> None:
        """Start tailing from the end of the topic as it is now; wait (at most `ready_within`
        s, the broker may be away) until that end is known."""
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._tail, name="events-hub", daemon=True)
        self._thread.start()
        if not await asyncio.to_thread(self._positioned.wait, ready_within):
            log.warning("events_tail_not_positioned", waited_s=ready_within)

    async def close(self) -> None:
        """Stop tailing."""
        self._stop.set()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, 10)

    def subscribe(self, wants: Callable[[Event], bool]) -> Subscriber:
        """A new subscriber, receiving from now on."""
        subscriber = Subscriber(wants)
        self._subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        """Stop delivering to `subscriber`."""
        self._subscribers.discard(subscriber)

    @property
    def subscribers(self) -> int:
        """How many clients are connected to this process."""
        return len(self._subscribers)

    def _tail(self) -> None:
        while not self._stop.is_set():
            consumer = _consumer(self._bootstrap)
            try:
                consumer.assign([TopicPartition(self._topic, 0, self._start_offset(consumer))])
                self._positioned.set()
                self._poll(consumer)
            except Exception as exc:  # noqa: BLE001 - the tail must outlive a broker outage
                log.warning("events_tail_failed", error=str(exc))
                self._stop.wait(1.0)
            finally:
                consumer.close()

    def _start_offset(self, consumer: Consumer) -> int:
        """After a broker outage: where the tail stopped (no gap). At start: the end now."""
        if self._next is not None:
            return self._next
        _, high = consumer.get_watermark_offsets(TopicPartition(self._topic, 0), timeout=5.0)
        return int(high)

    def _poll(self, consumer: Consumer) -> None:
        while not self._stop.is_set():
            message = consumer.poll(POLL_SECONDS)
            if message is None:
                continue
            error = message.error()
            if error is not None:
                if error.code() != KafkaError._PARTITION_EOF:
                    log.info("events_tail_error", error=str(error))
                continue
            self._next = int(message.offset() or 0) + 1
            received = _received(message)
            if received is not None and self._loop is not None:
                self._loop.call_soon_threadsafe(self._deliver, received)

    def _deliver(self, received: Received) -> None:
        last = self.recent[-1] if self.recent else None
        if last is not None and received.offset <= last.offset:
            # The topic started again (the broker lost its log): what clients hold is void.
            self.recent.clear()
            self._broadcast(Reset("the event log started again"))
        self.recent.append(received)
        for subscriber in list(self._subscribers):
            if subscriber.wants(received.event):
                self._put(subscriber, received)

    def _broadcast(self, reset: Reset) -> None:
        for subscriber in list(self._subscribers):
            self._put(subscriber, reset)

    def _put(self, subscriber: Subscriber, item: Item) -> None:
        if subscriber.overflowed:
            return
        try:
            subscriber.queue.put_nowait(item)
        except asyncio.QueueFull:
            # A client that does not read is not waited for: it reloads when it catches up.
            subscriber.overflowed = True

    async def since(self, offset: int, timestamp_ms: int) -> list[Received] | Reset:
        """The events after the one a client last received, or a Reset when that one is no
        longer known."""
        recent = list(self.recent)
        if recent and recent[0].offset <= offset <= recent[-1].offset:
            index = offset - recent[0].offset
            if recent[index].offset == offset and recent[index].timestamp_ms == timestamp_ms:
                return recent[index + 1:]
            return Reset("the event you resume from is not on the event log")
        until = recent[0].offset if recent and recent[0].offset > offset else None
        found = await asyncio.to_thread(self._read_log, offset, timestamp_ms, until)
        if isinstance(found, Reset):
            return found
        last = found[-1].offset if found else offset
        return found + [r for r in self.recent if r.offset > last]

    def _read_log(self, offset: int, timestamp_ms: int, until: int | None,
                  ) -> list[Received] | Reset:
        consumer = _consumer(self._bootstrap)
        try:
            low, high = consumer.get_watermark_offsets(TopicPartition(self._topic, 0),
                                                       timeout=5.0)
            if not low <= offset < high:
                return Reset("the event you resume from is older than the event log")
            end: int = high if until is None else until
            consumer.assign([TopicPartition(self._topic, 0, offset)])
            found: list[Received] = []
            while True:
                message = consumer.poll(5.0)
                if message is None:
                    return Reset("the event log could not be read")
                if message.error() is not None:
                    continue
                received = _received(message)
                if received is None:
                    if (message.offset() or 0) + 1 >= end:
                        break
                    continue
                if received.offset == offset and received.timestamp_ms != timestamp_ms:
                    return Reset("the event you resume from is not on the event log")
                if received.offset > offset:
                    found.append(received)
                if received.offset + 1 >= end:
                    break
            return found
        finally:
            consumer.close()
