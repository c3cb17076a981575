"""Recovery without hands: the reconciler, and the plain path's roll-up refresher.

The reconciler sends archived messages the broker lost again, unmapped (the store stage maps
them; writes are idempotent, so a message stored twice changes nothing). A message is lost when
(storage/archive.py):
- the broker lost the ingest topic's log (the embedded broker keeps it in memory only; a real
  cluster can lose one to an unclean leader election, an operator can delete the topic). Found
  by any of: the topic has a new id (a broker gives a topic a new id each time it creates it;
  the id seen last is remembered in PostgreSQL); its log ends below an end offset seen before;
  this worker's consumer reads beyond the log's end. Everything unprocessed is sent again, and
  a worker whose consumer read the old log halts, so that it reads the new one from its
  beginning. The id is the signal that cannot be missed; the end offsets are remembered only
  every few seconds, and a new log that grows past them before the next round hides the loss;
  a consumer past the new log's end stays there until the log grows past it (Kafka answers such
  a fetch with "offset out of range", the embedded broker with nothing) and skips what the new
  log holds below it;
- a later message of its location was stored (one location's messages are stored in order);
- it waited longer than LOST_AFTER while this worker has caught up with its partitions; only
  LOST_AFTER_LOSS within LOSS_WINDOW after a loss: a worker that read the old log may have
  committed its offsets to the new broker before it found out, and the worker that takes the
  partition next starts there, skipping what the new log holds below them.
Both the loss and "caught up" are read from one place: per ingest partition, where the worker's
consumer reads next and the log's end in its last fetch answer (`Read`).
One worker at a time reconciles (an advisory lock).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import psycopg
import structlog
from confluent_kafka import KafkaError, KafkaException, TopicCollection, TopicPartition
from confluent_kafka import admin as kafka_admin
from psycopg_pool import AsyncConnectionPool

from core.ingest import encode, ingest_message
from core.messages import RawMessage
from core.metrics import (
    BROKER_LOG_LOSSES,
    MESSAGES_PRODUCED,
    MESSAGES_RECONCILED,
    ROLLUP_BACKLOG,
    ROLLUP_BUCKETS_REFRESHED,
)
from storage import archive
from storage.paths import current_path_async
from storage.rollups import REFRESH_LIMIT, refresh_dirty
from streams.stage import Halt, StageHalted

log = structlog.get_logger()
RECONCILE_LOCK = 727_003
# A later message of the same location received this much later and stored: this one was lost.
OVERTAKEN_BY = timedelta(seconds=5)
# Unprocessed this long while the worker has nothing left to read: lost.
LOST_AFTER = timedelta(minutes=2)
# Within LOSS_WINDOW after a broker lost the log: unprocessed this long while caught up: skipped.
LOST_AFTER_LOSS = timedelta(seconds=10)
LOSS_WINDOW = timedelta(minutes=5)
Send = Callable[[bytes, bytes], Awaitable[Any]]
# Per ingest partition this worker holds: the offset its consumer reads next, and the end of the
# log in the consumer's last fetch answer (None before the first answer).
Read = dict[int, tuple[int, int | None]]
# None when the worker cannot tell (e.g. in the middle of a rebalance).
ReadPositions = Callable[[], Awaitable[Read | None]]


@dataclass(frozen=True)
class Log:
    """The ingest topic's log as the broker has it now: its id and each partition's end."""

    topic_id: str
    ends: dict[int, int]


def current_log(admin: kafka_admin.AdminClient, topic: str, timeout: float = 5.0) -> Log | None:
    """`topic`'s id and the end offset of each of its partitions; None when it does not exist."""
    try:
        described = admin.describe_topics(TopicCollection([topic]), request_timeout=timeout)
        topic_info = described[topic].result()
    except KafkaException as exc:
        if exc.args and exc.args[0].code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
            return None
        raise
    # confluent leaves OffsetSpec out of the package's __all__ and untyped.
    latest = kafka_admin.OffsetSpec.latest()  # type: ignore[attr-defined,no-untyped-call]
    listed = admin.list_offsets({TopicPartition(topic, p.id): latest
                                 for p in topic_info.partitions}, request_timeout=timeout)
    return Log(str(topic_info.topic_id),
               {tp.partition: answer.result().offset for tp, answer in listed.items()})


def lost_partitions(seen: dict[int, int], now: dict[int, int]) -> list[int]:
    """Partitions whose log now ends before an offset seen earlier."""
    return sorted(p for p, high in seen.items() if now.get(p, 0) < high)


def read_past_end(read: Read | None) -> list[int]:
    """Partitions where the consumer reads next beyond the end of the log its last fetch saw:
    what it read came from a log that is gone. (The end a fetch answer carries, not the broker's
    end offsets: tansu answers those with the first offset of the log's last batch.)"""
    return sorted(p for p, (position, end) in (read or {}).items()
                  if end is not None and position > end)


def replaced(seen_id: str | None, now: Log) -> bool:
    """Whether the topic was created again since its id `seen_id` was remembered."""
    return seen_id is not None and seen_id != now.topic_id


def waited_too_long(recently_lost: bool) -> timedelta:
    """How long an unprocessed message may wait, while the worker is caught up, before it is
    taken for lost: shorter for a while after a loss (see the module)."""
    return LOST_AFTER_LOSS if recently_lost else LOST_AFTER


def caught_up(read: Read | None) -> bool:
    """Whether the consumer has read all its last fetch answers said there is (False when it
    cannot tell, or before a partition's first answer)."""
    return read is not None and all(end is not None and position >= end
                                    for position, end in read.values())


class Reconciler:
    """Finds broker log loss and sends the archived, unprocessed messages again."""

    def __init__(self, pool: AsyncConnectionPool[Any], bootstrap_servers: str, topic: str,
                 send: Send, halt: Halt, read: ReadPositions) -> None:
        self._pool = pool
        # One client for the worker's life: librdkafka reconnects after a broker restart, and
        # a client made each round would cost its threads and connections every few seconds.
        self._admin = kafka_admin.AdminClient({"bootstrap.servers": bootstrap_servers})
        self._topic = topic
        self._send = send
        self._halt = halt
        self._read = read
        # Whether a round of this process found the log whole: its consumer may have read it.
        self._saw_log = False

    async def run_once(self) -> int:
        """One round; returns how many messages were sent again."""
        read = await self._read()
        try:
            now = await asyncio.to_thread(current_log, self._admin, self._topic)
        except KafkaException as exc:
            log.warning("reconcile_broker_unreachable", error=str(exc))
            return 0
        if now is None:
            log.warning("reconcile_topic_missing", topic=self._topic)
            return 0
        async with self._pool.connection() as conn:
            locked = await conn.execute("SELECT pg_try_advisory_lock(%s)", (RECONCILE_LOCK,))
            row = await locked.fetchone()
            if not (row and row[0]):
                return 0
            try:
                return await self._reconcile(conn, now, read)
            finally:
                await conn.execute("SELECT pg_advisory_unlock(%s)", (RECONCILE_LOCK,))

    async def _reconcile(self, conn: psycopg.AsyncConnection[Any], now: Log,
                         read: Read | None) -> int:
        seen = await archive.watermarks(conn, topic=self._topic)
        seen_id, recently_lost = await archive.log_identity(conn, topic=self._topic,
                                                            window=LOSS_WINDOW)
        past_end = read_past_end(read)
        lost = sorted(set(lost_partitions(seen, now.ends)) | set(past_end))
        created_again = replaced(seen_id, now)
        if not lost and not created_again:
            await archive.remember_watermarks(conn, topic=self._topic, highs=now.ends)
            await archive.remember_log(conn, topic=self._topic, topic_id=now.topic_id)
            await conn.commit()
            self._saw_log = True
            sent = await self._resend(conn, archive.behind(conn, OVERTAKEN_BY), "overtaken")
            if caught_up(read):
                sent += await self._resend(
                    conn, archive.stale(conn, waited_too_long(recently_lost)), "waited")
            return sent
        BROKER_LOG_LOSSES.inc()
        log.error("broker_log_lost", topic=self._topic, partitions=lost, seen=seen,
                  now=now.ends, read_past_end=past_end, created_again=created_again,
                  seen_id=seen_id, topic_id=now.topic_id)
        sent = await self._resend(conn, archive.unprocessed(conn), "log lost")
        await archive.remember_watermarks(conn, topic=self._topic, highs=now.ends, reset=True)
        await archive.remember_log(conn, topic=self._topic, topic_id=now.topic_id, lost=True)
        await conn.commit()
        if self._saw_log or past_end:
            # This worker's consumer read the old log: faust would skip the new one's first
            # offsets. Start again (the supervisor restarts the process).
            await self._halt(StageHalted("the broker lost the ingest topic's log; restarting "
                                         "to read the new log from its beginning"))
        return sent

    async def _resend(self, conn: psycopg.AsyncConnection[Any],
                      pages: AsyncIterator[list[RawMessage]], why: str) -> int:
        """Send the pages' messages again (each remembered as sent, committed per page)."""
        sent = 0
        async for page in pages:
            pending = [await self._send(m.location_id.encode(),
                                        encode(ingest_message(m, None))) for m in page]
            await asyncio.gather(*pending)
            await archive.mark_resent(conn, [m.message_id for m in page])
            await conn.commit()
            sent += len(page)
            MESSAGES_RECONCILED.labels(reason=why).inc(len(page))
            MESSAGES_PRODUCED.labels(topic=self._topic).inc(len(page))
        if sent:
            log.warning("reconciled", sent=sent, why=why)
        return sent


class RollupRefresher:
    """Plain path: recompute the buckets the store stage touched, off its transaction."""

    def __init__(self, pool: AsyncConnectionPool[Any], limit: int = REFRESH_LIMIT) -> None:
        self._pool = pool
        self._limit = limit

    async def run_once(self) -> int:
        """Refresh until nothing waits; returns how many buckets were refreshed."""
        refreshed = 0
        async with self._pool.connection() as conn:
            if await current_path_async(conn) != "plain":
                return 0
            while True:
                async with conn.transaction():
                    done = await refresh_dirty(conn, self._limit)
                refreshed += done
                ROLLUP_BUCKETS_REFRESHED.inc(done)
                # Each step, so that a backlog the refresher cannot drain shows while it grows.
                cur = await conn.execute("SELECT count(*) FROM rollup_dirty")
                row = await cur.fetchone()
                ROLLUP_BACKLOG.set(int(row[0]) if row else 0)
                if done < self._limit:
                    break
        return refreshed
