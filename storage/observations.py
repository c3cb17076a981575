"""Idempotent batch writes of observations and raw messages.

A batch is written in one transaction with multi-row upserts on the natural keys, so replaying
the same messages changes nothing. `latest_observation` is maintained in the same transaction, and
on the plain PostgreSQL path so are the 5-minute and hourly roll-ups (storage/rollups.py;
TimescaleDB's continuous aggregates maintain themselves).
"""

from __future__ import annotations

from collections.abc import Sequence

import psycopg
from psycopg.types.json import Jsonb

from core.messages import Observation, RawMessage
from storage.paths import current_path_async
from storage.rollups import refresh_rollups

_COLUMNS = (
    "location_id, definition, observed_at, definition_version, value, value_text,"
    " not_reported_reason, received_at, provider, source_format, raw_message_id"
)
_UNNEST = (
    "SELECT * FROM unnest(%s::text[], %s::text[], %s::timestamptz[], %s::int[],"
    " %s::float8[], %s::text[], %s::text[], %s::timestamptz[], %s::text[], %s::text[],"
    " %s::uuid[])"
)
_UPDATE = (
    "definition_version = EXCLUDED.definition_version, value = EXCLUDED.value,"
    " value_text = EXCLUDED.value_text, not_reported_reason = EXCLUDED.not_reported_reason,"
    " received_at = EXCLUDED.received_at,"
    " provider = EXCLUDED.provider, source_format = EXCLUDED.source_format,"
    " raw_message_id = EXCLUDED.raw_message_id"
)
# A correction for the same observed time wins only if it was received later; a replay of
# the same message is received at the same moment and so rewrites nothing.
UPSERT_OBSERVATIONS = (
    f"INSERT INTO observation ({_COLUMNS}) {_UNNEST}"
    f" ON CONFLICT (location_id, definition, observed_at) DO UPDATE SET {_UPDATE}"
    " WHERE observation.received_at < EXCLUDED.received_at"
)
UPSERT_LATEST = (
    f"INSERT INTO latest_observation ({_COLUMNS}) {_UNNEST}"
    f" ON CONFLICT (location_id, definition) DO UPDATE SET observed_at = EXCLUDED.observed_at,"
    f" {_UPDATE}"
    " WHERE (latest_observation.observed_at, latest_observation.received_at)"
    " < (EXCLUDED.observed_at, EXCLUDED.received_at)"
)
UPSERT_RAW = (
    "INSERT INTO raw_message (message_id, received_at, source_format, sector, provider,"
    " location_id, payload) VALUES (%s, %s, %s, %s, %s, %s, %s)"
    " ON CONFLICT (message_id) DO NOTHING"
)


def newest_per_key(observations: Sequence[Observation]) -> list[Observation]:
    """One observation per (location, item, observed time): the last received.

    One INSERT ... ON CONFLICT may not touch the same row twice, so a batch is deduplicated first.
    """
    chosen: dict[tuple[str, str, object], Observation] = {}
    for obs in observations:
        key = (obs.location_id, obs.definition, obs.observed_at)
        if key not in chosen or chosen[key].received_at <= obs.received_at:
            chosen[key] = obs
    return list(chosen.values())


def newest_per_item(observations: Sequence[Observation]) -> list[Observation]:
    """One observation per (location, item): the newest observed, then the last received."""
    chosen: dict[tuple[str, str], Observation] = {}
    for obs in observations:
        key = (obs.location_id, obs.definition)
        current = chosen.get(key)
        if current is None or (current.observed_at, current.received_at) <= (
            obs.observed_at, obs.received_at,
        ):
            chosen[key] = obs
    return list(chosen.values())


def stored_value(value: float | bool | str | None) -> tuple[float | None, str | None]:
    """(value, value_text) columns: numbers and booleans (1/0) as numbers, the rest as text."""
    if isinstance(value, str):
        return None, value
    return (None if value is None else float(value)), None


def _columns(observations: Sequence[Observation]) -> list[list[object]]:
    values = [stored_value(o.value) for o in observations]
    return [
        [o.location_id for o in observations],
        [o.definition for o in observations],
        [o.observed_at for o in observations],
        [o.definition_version for o in observations],
        [number for number, _ in values],
        [text for _, text in values],
        [o.not_reported_reason for o in observations],
        [o.received_at for o in observations],
        [o.provider for o in observations],
        [o.source_format for o in observations],
        [o.raw_message_id for o in observations],
    ]


async def upsert_observations(
    conn: psycopg.AsyncConnection[object], observations: Sequence[Observation],
) -> None:
    """Upsert a batch into history and latest state, in the caller's transaction."""
    if not observations:
        return
    async with conn.cursor() as cur:
        await cur.execute(UPSERT_OBSERVATIONS, _columns(newest_per_key(observations)))
        await cur.execute(UPSERT_LATEST, _columns(newest_per_item(observations)))
    if await current_path_async(conn) == "plain":
        await refresh_rollups(conn, observations)


async def upsert_raw_messages(
    conn: psycopg.AsyncConnection[object], messages: Sequence[RawMessage],
) -> None:
    """Keep raw messages for replay; a message already kept is left as it is."""
    if not messages:
        return
    async with conn.cursor() as cur:
        await cur.executemany(UPSERT_RAW, [
            (m.message_id, m.received_at, m.source_format, m.sector, m.provider,
             m.location_id, Jsonb(m.payload))
            for m in messages
        ])
