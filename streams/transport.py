"""faust's Kafka transport: the consumer's fetch wait taken from the settings, and committed
offsets kept within the log the broker has.

A consumer asks the broker for records and says how long the broker may hold the request when
there are none yet (`fetch_max_wait_ms`). Kafka answers such a waiting fetch as soon as a record
arrives, so the wait costs nothing there. The embedded broker (tansu) does not: it answers only
when the wait is over, so a record waits for the fetch in flight to time out. faust fixes the
wait at 1,500 ms in its aiokafka driver, which made every figure take 0.65 s on average (up to
1.5 s) from the broker to the store stage on the local stack. The wait is a setting here
(`STREAM_FETCH_MAX_WAIT_MS`); on Kafka a shorter wait only means more empty fetches while idle.

faust offers no setting for it: the transport carries the wait, its consumer thread overrides
the one method that builds the worker's aiokafka consumer and sets the wait on it before it
starts (aiokafka hands it to its fetcher then). tests/unit/test_stream_worker.py fails if either
library moves what this relies on.

A committed offset beyond its partition's log end means the broker lost the log (the embedded
one keeps it in memory). Kafka answers a fetch there with "offset out of range" and aiokafka then
starts at the log's beginning; tansu answers with nothing, so the worker waited there. Where
faust seeks to the committed offsets after an assignment, such a partition starts at its log's
beginning instead (`seek_to_committed`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, cast

import aiokafka
import faust
import structlog
from aiokafka.structs import OffsetAndMetadata
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP

log = structlog.get_logger()


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    worker_consumer: aiokafka.AIOKafkaConsumer | None = None

    def _create_worker_consumer(self, transport: Any) -> aiokafka.AIOKafkaConsumer:
        consumer = super()._create_worker_consumer(transport)
        consumer._fetch_max_wait_ms = transport.fetch_max_wait_ms  # noqa: SLF001 - see the module
        self.worker_consumer = consumer
        return consumer

    async def seek_to_committed(self) -> Mapping[TP, int]:
        """The committed offsets, each no further than the end of the log the broker has."""
        committed = await super().seek_to_committed()
        if self.worker_consumer is None:
            return committed
        within = await self.call_thread(within_the_log, self.worker_consumer, committed)
        return cast(Mapping[TP, int], within)


async def within_the_log(consumer: aiokafka.AIOKafkaConsumer,
                         committed: Mapping[Any, int | None]) -> dict[Any, int | None]:
    """`committed` (the offsets `consumer` was sought to), each no further than its log's end.

    A committed offset beyond the end of its partition's log was committed on a log the broker
    lost (the worker commits what it read on the old log to the new broker before it finds out).
    faust would wait there, storing nothing, until the new log grows past it, and then skip what
    the new log holds below it. Such a partition starts at its log's beginning instead,
    committed so, as Kafka's "offset out of range" reset would do.

    The end is the high watermark of a fetch answer. tansu answers a ListOffsets request for the
    latest offset with the first offset of the log's last batch, which is below the end whenever
    that batch holds more than one record; it only says which partitions to look at.
    """
    held = [tp for tp, offset in committed.items() if offset]
    if not held:
        return dict(committed)
    listed = await consumer.end_offsets(held)
    suspect = [tp for tp in held if (committed[tp] or 0) > listed[tp]]
    ends = await _fetched_ends(consumer, suspect)
    past = [tp for tp in suspect if tp in ends and (committed[tp] or 0) > ends[tp]]
    if not past:
        return dict(committed)
    starts = await consumer.beginning_offsets(past)
    for tp in past:
        consumer.seek(tp, starts[tp])
    await consumer.commit({tp: OffsetAndMetadata(starts[tp], "") for tp in past})
    log.warning("committed_offset_past_log_end", partitions={
        f"{tp.topic}:{tp.partition}": [committed[tp], ends[tp]] for tp in past})
    return {**committed, **{tp: starts[tp] for tp in past}}


async def _fetched_ends(consumer: aiokafka.AIOKafkaConsumer, partitions: list[Any],
                        timeout: float = 5.0) -> dict[Any, int]:
    """The high watermark of each partition's first fetch answer at its committed offset (the
    consumer fetches in the background once faust has resumed the partitions, which it does
    before it seeks); a partition without an answer within `timeout` is left out."""
    ends: dict[Any, int] = {}
    deadline = asyncio.get_running_loop().time() + timeout
    while len(ends) < len(partitions) and asyncio.get_running_loop().time() < deadline:
        for tp in partitions:
            highwater = consumer.highwater(tp)
            if highwater is not None:
                ends[tp] = highwater
        await asyncio.sleep(0.05)
    return ends


class _Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class Transport(faust_aiokafka.Transport):
    """faust's aiokafka transport; its worker consumer waits at most `fetch_max_wait_ms`."""

    Consumer = _Consumer

    def __init__(self, app: faust.App, fetch_max_wait_ms: int) -> None:
        super().__init__(app.conf.broker_consumer, app)
        self.fetch_max_wait_ms = fetch_max_wait_ms
