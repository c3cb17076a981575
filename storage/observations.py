"""Idempotent batch writes of observations, and the raw message archive.

A batch goes into a per-connection staging table (binary COPY, or a multi-row insert where COPY
is not available), then into `observation` and `latest_observation` with one
`INSERT … SELECT DISTINCT ON … ON CONFLICT` each, in the caller's transaction: a replay of the
same messages changes nothing. On the plain PostgreSQL path the batch also records the 5-minute
buckets it touched in `rollup_dirty`; the roll-ups are recomputed from there off the write
transaction (storage/rollups.py), as TimescaleDB's continuous aggregates are.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import class_row

from core.figures import ChangedFigure
from core.messages import Observation, RawMessage
from storage.jsonb import jsonb
from storage.paths import current_path_async
from storage.rollups import MARK_DIRTY

Conn = psycopg.AsyncConnection[Any]
# The columns a staged observation has, in this order (`StagedObservation`).
COLUMNS = ("location_id", "definition", "observed_at", "definition_version", "value",
           "value_text", "not_reported_reason", "received_at", "provider", "source_format",
           "raw_message_id")
TYPES = ("text", "text", "timestamptz", "int4", "float8", "text", "text", "timestamptz", "text",
         "text", "uuid")
StagedObservation = tuple[str, str, datetime, int, float | None, str | None, str | None,
                          datetime, str, str, uuid.UUID]
STAGING = "zc_observation_staging"
_COLUMNS = ", ".join(COLUMNS)
CREATE_STAGING = (f"CREATE TEMP TABLE IF NOT EXISTS {STAGING} (LIKE observation INCLUDING"
                  " DEFAULTS) ON COMMIT DELETE ROWS")
COPY_STAGING = f"COPY {STAGING} ({_COLUMNS}) FROM STDIN (FORMAT BINARY)"
INSERT_STAGING = (f"INSERT INTO {STAGING} ({_COLUMNS}) SELECT * FROM unnest("
                  + ", ".join(f"%s::{t}[]" for t in TYPES) + ")")
_UPDATE = (
    "definition_version = EXCLUDED.definition_version, value = EXCLUDED.value,"
    " value_text = EXCLUDED.value_text, not_reported_reason = EXCLUDED.not_reported_reason,"
    " received_at = EXCLUDED.received_at, provider = EXCLUDED.provider,"
    " source_format = EXCLUDED.source_format, raw_message_id = EXCLUDED.raw_message_id"
)
# One row per key (a statement may not touch a row twice): the last received. A correction for
# the same observed time wins only if it was received later; a replay of the same message is
# received at the same moment and so rewrites nothing.
MERGE_HISTORY = (
    f"INSERT INTO observation ({_COLUMNS})"
    f" SELECT DISTINCT ON (location_id, definition, observed_at) {_COLUMNS} FROM {STAGING}"
    " ORDER BY location_id, definition, observed_at, received_at DESC"
    f" ON CONFLICT (location_id, definition, observed_at) DO UPDATE SET {_UPDATE}"
    " WHERE observation.received_at < EXCLUDED.received_at"
)
# Per location and item the newest observed, then the last received. Returns the latest
# figures that changed, with the location's facts and what the figure was before (`prior`
# reads the snapshot the statement started with): the events of the batch (core/events.py).
MERGE_LATEST = (
    "WITH prior AS (SELECT o.location_id, o.definition, o.observed_at, o.value, o.value_text"
    " FROM latest_observation o"
    f" WHERE (o.location_id, o.definition) IN (SELECT location_id, definition FROM {STAGING})),"
    f" changed AS (INSERT INTO latest_observation ({_COLUMNS})"
    f" SELECT DISTINCT ON (location_id, definition) {_COLUMNS} FROM {STAGING}"
    " ORDER BY location_id, definition, observed_at DESC, received_at DESC"
    " ON CONFLICT (location_id, definition) DO UPDATE SET observed_at = EXCLUDED.observed_at,"
    f" {_UPDATE}"
    " WHERE (latest_observation.observed_at, latest_observation.received_at)"
    " < (EXCLUDED.observed_at, EXCLUDED.received_at)"
    " RETURNING location_id, definition, definition_version, value, value_text,"
    " not_reported_reason, observed_at, received_at, provider)"
    " SELECT c.location_id, l.name AS location_name, l.organization_id, l.sector,"
    " l.roaz_region, l.latitude, l.longitude, c.definition, c.definition_version, c.value,"
    " c.value_text, c.not_reported_reason, c.observed_at, c.received_at, c.provider,"
    " p.observed_at AS previous_observed_at, p.value AS previous_value,"
    " p.value_text AS previous_value_text"
    # A mobile unit's status is kept like a location's figure; it has no row in `location`.
    " FROM changed c LEFT JOIN location l ON l.id = c.location_id"
    " LEFT JOIN prior p ON p.location_id = c.location_id AND p.definition = c.definition"
)


def stored_value(value: float | bool | str | None) -> tuple[float | None, str | None]:
    """(value, value_text) columns: numbers and booleans (1/0) as numbers, the rest as text."""
    if isinstance(value, str):
        return None, value
    return (None if value is None else float(value)), None


def staged(obs: Observation) -> StagedObservation:
    """An observation as a staging row."""
    number, text = stored_value(obs.value)
    return (obs.location_id, obs.definition, obs.observed_at, obs.definition_version, number,
            text, obs.not_reported_reason, obs.received_at, obs.provider, obs.source_format,
            obs.raw_message_id)


async def _stage(conn: Conn, rows: Sequence[StagedObservation], copy: bool) -> None:
    async with conn.cursor() as cur:
        await cur.execute(CREATE_STAGING)
        if copy:
            async with cur.copy(COPY_STAGING) as staging:
                staging.set_types(list(TYPES))
                for row in rows:
                    await staging.write_row(row)
        else:
            await cur.execute(INSERT_STAGING, [list(column) for column in zip(*rows,
                                                                              strict=True)])


async def write_staged(conn: Conn, rows: Sequence[StagedObservation], *,
                       copy: bool = True) -> list[ChangedFigure]:
    """Upsert a batch of staging rows into history and latest state, in the caller's
    transaction; `copy=False` where COPY FROM STDIN is not available (PGlite). Returns the
    latest figures that changed (of locations that are registered)."""
    if not rows:
        return []
    await _stage(conn, rows, copy)
    async with conn.cursor() as cur:
        await cur.execute(MERGE_HISTORY)
    async with conn.cursor(row_factory=class_row(ChangedFigure)) as changes:
        await changes.execute(MERGE_LATEST)
        changed = await changes.fetchall()
    async with conn.cursor() as cur:
        if await current_path_async(conn) == "plain":
            await cur.execute(MARK_DIRTY)
        await cur.execute(f"DELETE FROM {STAGING}")
    return changed


async def upsert_observations(conn: Conn, observations: Sequence[Observation], *,
                              copy: bool = True) -> list[ChangedFigure]:
    """Upsert a batch of observations into history and latest state, in the caller's
    transaction; returns the latest figures that changed."""
    return await write_staged(conn, [staged(o) for o in observations], copy=copy)


# --- the raw message archive (the write-ahead record) ---------------------------------------

_RAW_COLUMNS = ("message_id, received_at, source_format, sector, provider, location_id,"
                " payload, context, mapped, processed_at")
ARCHIVE = (f"INSERT INTO raw_message ({_RAW_COLUMNS})"
           " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)")
# Marks the archived ones of a batch processed, and names the ones not archived yet.
MARK_PROCESSED = (
    "WITH marked AS (UPDATE raw_message SET processed_at = now()"
    " WHERE message_id = ANY(%(ids)s) AND processed_at IS NULL)"
    " SELECT id FROM unnest(%(ids)s::uuid[]) AS t(id)"
    " WHERE NOT EXISTS (SELECT 1 FROM raw_message r WHERE r.message_id = t.id)"
)
ARCHIVE_PROCESSED = (f"INSERT INTO raw_message ({_RAW_COLUMNS})"
                     " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, now())"
                     " ON CONFLICT (message_id) DO UPDATE SET processed_at = now()"
                     " WHERE raw_message.processed_at IS NULL")


def _raw_row(message: RawMessage, mapped: bytes | None) -> tuple[Any, ...]:
    return (message.message_id, message.received_at, message.source_format, message.sector,
            message.provider, message.location_id, jsonb(message.payload),
            jsonb(message.context), mapped)


async def archive_unprocessed(conn: Conn, message: RawMessage, mapped: bytes | None) -> None:
    """The write-ahead record of an accepted message (with what its adapter made of it), in
    the caller's transaction."""
    await conn.execute(ARCHIVE, (*_raw_row(message, mapped), None))


async def not_archived(conn: Conn, message_ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
    """Mark the archived ones of `message_ids` processed; returns the ones not archived."""
    if not message_ids:
        return []
    cur = await conn.execute(MARK_PROCESSED, {"ids": list(message_ids)})
    return [row[0] for row in await cur.fetchall()]


async def archive_processed(conn: Conn,
                            messages: Sequence[tuple[RawMessage, bytes | None]]) -> None:
    """Archive (message, mapped rows) as processed (a message archived before is only
    marked)."""
    if not messages:
        return
    async with conn.cursor() as cur:
        await cur.executemany(ARCHIVE_PROCESSED, [_raw_row(m, rows) for m, rows in messages])
