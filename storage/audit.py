"""The audit trail in PostgreSQL: appended in batches (COPY), chained by hash, read back
filtered.

Appends from every API process are serialised by a transaction-scoped advisory lock, so the
chain is one line through all of them, in `seq` order.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

from core.audit_chain import GENESIS, AuditRecord, chain

Conn = psycopg.AsyncConnection[Any]
# Any constant shared by all writers of the trail.
AUDIT_LOCK = 727_002
FIELDS = ("at", "request_id", "client_id", "organization", "role", "action", "target",
          "outcome", "status", "reason")
COLUMNS = ", ".join(FIELDS)
TYPES = ("timestamptz", "text", "text", "text", "text", "text", "text", "text", "int4", "text",
         "bytea", "bytea")


@dataclass(frozen=True)
class StoredRecord:
    """A record as kept: its place in the chain and its hashes."""

    seq: int
    record: AuditRecord
    prev_hash: bytes
    hash: bytes


async def append(conn: Conn, records: list[AuditRecord]) -> None:
    """Append `records` in order, chained to the newest record, in the caller's transaction."""
    if not records:
        return
    await conn.execute("SELECT pg_advisory_xact_lock(%s)", (AUDIT_LOCK,))
    cur = await conn.execute("SELECT hash FROM audit_event ORDER BY seq DESC LIMIT 1")
    row = await cur.fetchone()
    links = chain(GENESIS if row is None else bytes(row[0]), records)
    async with conn.cursor() as cur, cur.copy(
            f"COPY audit_event ({COLUMNS}, prev_hash, hash) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(list(TYPES))
        for record, (prev, current) in zip(records, links, strict=True):
            await copy.write_row((*(getattr(record, f) for f in FIELDS), prev, current))


@dataclass(frozen=True)
class AuditFilter:
    """What `GET /v1/admin/audit` narrows by; None means any."""

    client_id: str | None = None
    organization: str | None = None
    action: str | None = None
    outcome: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    before_seq: int | None = None


def _stored(row: tuple[Any, ...]) -> StoredRecord:
    seq, *fields, prev_hash, current = row
    return StoredRecord(seq, AuditRecord(*fields), bytes(prev_hash), bytes(current))


async def query(conn: Conn, *, where: AuditFilter, limit: int) -> list[StoredRecord]:
    """The newest matching records first, at most `limit`."""
    cur = await conn.execute(
        f"SELECT seq, {COLUMNS}, prev_hash, hash FROM audit_event"
        " WHERE (%(client)s::text IS NULL OR client_id = %(client)s)"
        " AND (%(org)s::text IS NULL OR organization = %(org)s)"
        " AND (%(action)s::text IS NULL OR action = %(action)s)"
        " AND (%(outcome)s::text IS NULL OR outcome = %(outcome)s)"
        " AND (%(start)s::timestamptz IS NULL OR at >= %(start)s)"
        " AND (%(end)s::timestamptz IS NULL OR at < %(end)s)"
        " AND (%(before)s::bigint IS NULL OR seq < %(before)s)"
        " ORDER BY seq DESC LIMIT %(limit)s",
        {"client": where.client_id, "org": where.organization, "action": where.action,
         "outcome": where.outcome, "start": where.start, "end": where.end,
         "before": where.before_seq, "limit": limit})
    return [_stored(row) for row in await cur.fetchall()]


async def walk(conn: Conn, page: int = 5000) -> AsyncIterator[StoredRecord]:
    """Every record, oldest first, read in pages."""
    after = 0
    while True:
        cur = await conn.execute(
            f"SELECT seq, {COLUMNS}, prev_hash, hash FROM audit_event WHERE seq > %s"
            " ORDER BY seq LIMIT %s", (after, page))
        rows = await cur.fetchall()
        for row in rows:
            yield _stored(row)
        if len(rows) < page:
            return
        after = rows[-1][0]


async def count(conn: Conn) -> int:
    """How many records the trail holds."""
    cur = await conn.execute("SELECT count(*) FROM audit_event")
    row = await cur.fetchone()
    return int(row[0]) if row else 0


# Retention deletes the oldest stretch only (seq below the first record still in time), so
# the first record kept anchors the chain. Needs the session flag the append-only trigger asks.
RETENTION = (
    "DELETE FROM audit_event WHERE seq < coalesce("
    "(SELECT min(seq) FROM audit_event WHERE at >= %(before)s),"
    " (SELECT max(seq) + 1 FROM audit_event), 0)"
)
ALLOW_RETENTION = "SET LOCAL zc.audit_retention = 'on'"
