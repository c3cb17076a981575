"""Reading the raw message archive back: what the broker lost (for the reconciler) and what was
received in a time range (for replays); and the broker watermarks the reconciler remembers.

An archived message is lost (acknowledged by the broker, then gone) when it is unprocessed and
- `behind`: a message of the same location received well after it was processed. One
  location's messages share a partition and are stored in order, so it was skipped; or
- `stale`: it has waited longer than any backlog explains (the caller checks that the worker
  has caught up), for a location that sends nothing after it; or
- the broker's log ends below what it acknowledged before (`unprocessed`: all of them).
A message sent again is not sent once more until `RESEND_PAUSE` has passed.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import psycopg

from core.archive import Archived
from core.ingest import RawHeader
from core.messages import RawMessage

Conn = psycopg.AsyncConnection[Any]
_COLUMNS = ("message_id, source_format, sector, provider, location_id, received_at, payload,"
            " context")
RESEND_PAUSE = "30 seconds"
_WAITING = (f"processed_at IS NULL AND (resent_at IS NULL OR resent_at < now() - INTERVAL"
            f" '{RESEND_PAUSE}') AND (received_at, message_id) > (%(after_at)s, %(after_id)s)")
UNPROCESSED = (
    f"SELECT {_COLUMNS} FROM raw_message WHERE {_WAITING}"
    " ORDER BY received_at, message_id LIMIT %(limit)s"
)
BEHIND = (
    f"SELECT {_COLUMNS} FROM raw_message m WHERE {_WAITING}"
    " AND received_at < now() - %(margin)s::interval"
    " AND EXISTS (SELECT 1 FROM raw_message later WHERE later.location_id = m.location_id"
    "  AND later.received_at > m.received_at + %(margin)s::interval"
    "  AND later.processed_at IS NOT NULL)"
    " ORDER BY received_at, message_id LIMIT %(limit)s"
)
STALE = (
    f"SELECT {_COLUMNS} FROM raw_message WHERE {_WAITING}"
    " AND received_at < now() - %(age)s::interval"
    " ORDER BY received_at, message_id LIMIT %(limit)s"
)
RECEIVED = (
    f"SELECT {_COLUMNS} FROM raw_message WHERE received_at >= %(start)s AND received_at < %(end)s"
    " AND (%(location)s::text IS NULL OR location_id = %(location)s)"
    " AND (received_at, message_id) > (%(after_at)s, %(after_id)s)"
    " ORDER BY received_at, message_id LIMIT %(limit)s"
)
# For replays: what an ingest message repeats, the raw message's parts as JSON text, and the
# rows archived beside it (null for messages archived before they were kept).
REPLAY = (
    "SELECT message_id, location_id, provider, source_format, received_at, sector,"
    " payload::text, context::text, mapped FROM raw_message"
    " WHERE received_at >= %(start)s AND received_at < %(end)s"
    " AND (%(location)s::text IS NULL OR location_id = %(location)s)"
    " AND (received_at, message_id) > (%(after_at)s, %(after_id)s)"
    " ORDER BY received_at, message_id LIMIT %(limit)s"
)
COUNT_RECEIVED = (
    "SELECT count(*) FROM raw_message WHERE received_at >= %(start)s AND received_at < %(end)s"
    " AND (%(location)s::text IS NULL OR location_id = %(location)s)"
)
_BEGINNING = (datetime.fromisoformat("0001-01-01T00:00:00+00:00"), uuid.UUID(int=0))


def _raw(row: tuple[Any, ...]) -> RawMessage:
    return RawMessage(message_id=row[0], source_format=row[1], sector=row[2], provider=row[3],
                      location_id=row[4], received_at=row[5], payload=row[6], context=row[7])


async def _pages(conn: Conn, query: str, params: dict[str, Any],
                 page: int) -> AsyncIterator[list[RawMessage]]:
    after_at, after_id = _BEGINNING
    while True:
        cur = await conn.execute(query, {**params, "after_at": after_at, "after_id": after_id,
                                         "limit": page})
        rows = await cur.fetchall()
        if rows:
            yield [_raw(row) for row in rows]
        if len(rows) < page:
            return
        after_at, after_id = rows[-1][5], rows[-1][0]


def unprocessed(conn: Conn, page: int = 1000) -> AsyncIterator[list[RawMessage]]:
    """Archived messages not yet processed, oldest first, page by page."""
    return _pages(conn, UNPROCESSED, {}, page)


def behind(conn: Conn, margin: timedelta, page: int = 1000) -> AsyncIterator[list[RawMessage]]:
    """Unprocessed messages a later message of their location (by `margin`) overtook."""
    return _pages(conn, BEHIND, {"margin": margin}, page)


def stale(conn: Conn, age: timedelta, page: int = 1000) -> AsyncIterator[list[RawMessage]]:
    """Unprocessed messages older than `age`."""
    return _pages(conn, STALE, {"age": age}, page)


async def mark_resent(conn: Conn, message_ids: list[uuid.UUID]) -> None:
    """Remember that these were sent again just now."""
    await conn.execute("UPDATE raw_message SET resent_at = now() WHERE message_id = ANY(%s)",
                       (message_ids,))


async def mark_refused(conn: Conn, refused: list[tuple[uuid.UUID, str]]) -> None:
    """Messages the store stage refused (dead letters): processed, with the reason, so that
    they are not sent again."""
    async with conn.cursor() as cur:
        await cur.executemany(
            "UPDATE raw_message SET processed_at = now(), refused_reason = %s"
            " WHERE message_id = %s AND processed_at IS NULL",
            [(reason, message_id) for message_id, reason in refused])


def received(conn: Conn, *, start: datetime, end: datetime, location: str | None,
             page: int = 1000) -> AsyncIterator[list[RawMessage]]:
    """Archived messages received in [start, end) (of one location), oldest first."""
    return _pages(conn, RECEIVED, {"start": start, "end": end, "location": location}, page)


async def for_replay(conn: Conn, *, start: datetime, end: datetime, location: str | None,
                     page: int = 2000) -> AsyncIterator[list[Archived]]:
    """Archived messages received in [start, end) (of one location), oldest first."""
    after_at, after_id = _BEGINNING
    while True:
        cur = await conn.execute(REPLAY, {"start": start, "end": end, "location": location,
                                          "after_at": after_at, "after_id": after_id,
                                          "limit": page})
        rows = await cur.fetchall()
        if rows:
            yield [Archived(RawHeader(r[0], r[1], r[2], r[3], r[4]), r[5], r[6], r[7],
                            None if r[8] is None else bytes(r[8])) for r in rows]
        if len(rows) < page:
            return
        after_at, after_id = rows[-1][4], rows[-1][0]


async def count_received(conn: Conn, *, start: datetime, end: datetime,
                         location: str | None) -> int:
    """How many messages `received` will yield."""
    cur = await conn.execute(COUNT_RECEIVED, {"start": start, "end": end, "location": location})
    row = await cur.fetchone()
    return int(row[0]) if row else 0


async def watermarks(conn: Conn, *, topic: str) -> dict[int, int]:
    """The highest end offset remembered per partition of `topic`."""
    cur = await conn.execute("SELECT partition, high FROM broker_watermark WHERE topic = %s",
                             (topic,))
    return {int(p): int(h) for p, h in await cur.fetchall()}


async def remember_watermarks(conn: Conn, *, topic: str, highs: dict[int, int],
                              reset: bool = False) -> None:
    """Remember end offsets: the highest seen, or (`reset`, after a loss) only these ones."""
    keep = "EXCLUDED.high" if reset else "greatest(broker_watermark.high, EXCLUDED.high)"
    if reset:
        await conn.execute("DELETE FROM broker_watermark WHERE topic = %s", (topic,))
    async with conn.cursor() as cur:
        await cur.executemany(
            "INSERT INTO broker_watermark (topic, partition, high) VALUES (%s, %s, %s)"
            f" ON CONFLICT (topic, partition) DO UPDATE SET high = {keep}, seen_at = now()",
            [(topic, partition, high) for partition, high in highs.items()])


async def log_identity(conn: Conn, *, topic: str,
                       window: timedelta) -> tuple[str | None, bool]:
    """The id of `topic`'s log last seen, and whether a log of it was found lost within
    `window`."""
    cur = await conn.execute(
        "SELECT topic_id, coalesce(lost_at > now() - %s::interval, false) FROM broker_log"
        " WHERE topic = %s", (window, topic))
    row = await cur.fetchone()
    return (None, False) if row is None else (row[0], bool(row[1]))


async def remember_log(conn: Conn, *, topic: str, topic_id: str, lost: bool = False) -> None:
    """Remember the id of `topic`'s log (`lost`: and that a log was found lost just now)."""
    await conn.execute(
        "INSERT INTO broker_log (topic, topic_id, lost_at)"
        " VALUES (%(topic)s, %(id)s, CASE WHEN %(lost)s THEN now() END)"
        " ON CONFLICT (topic) DO UPDATE SET topic_id = EXCLUDED.topic_id, seen_at = now(),"
        " lost_at = coalesce(EXCLUDED.lost_at, broker_log.lost_at)",
        {"topic": topic, "id": topic_id, "lost": lost})
