"""5-minute and hourly roll-ups of observations on the plain PostgreSQL path.

On TimescaleDB, `observation_5m` and `observation_1h` are continuous aggregates and maintain
themselves. On plain PostgreSQL they are tables, kept like a continuous aggregate is, off the
write transaction: each observation batch records the 5-minute buckets it touched in
`rollup_dirty` (MARK_DIRTY, in the batch's transaction), and `refresh_dirty` takes those
buckets, recomputes them from `observation` and their hours from them, and removes them, in one
transaction. Recomputing (rather than adding the batch in) keeps the roll-ups exact under
corrections and replays: a replay recomputes the same rows. Until a refresh runs, the newest
buckets lag (the stream worker refreshes every ROLLUP_REFRESH_SECONDS).

Buckets are aligned like time_bucket's (UTC, origin 2000-01-01 00:00 UTC, a whole number of
5 minutes and hours before time_bucket's own default origin of 2000-01-03), so both paths agree.
"""

from __future__ import annotations

from typing import Any

import psycopg

ORIGIN = "TIMESTAMPTZ '2000-01-01 00:00:00+00'"
# Roll-up relation -> bucket width. Same names and widths as the continuous aggregates.
RESOLUTIONS = {"observation_5m": "5 minutes", "observation_1h": "1 hour"}

_FIGURES = ("last_value", "last_value_text", "last_observed_at", "min_value", "max_value",
            "sum_value", "samples")
# A recomputed bucket is written only when it differs from the stored one: a replay of figures
# already stored, or a bucket marked twice, leaves its row untouched (no new row version, no
# index entry, nothing for vacuum).
UPSERT_CHANGED = (
    "ON CONFLICT (location_id, definition, bucket) DO UPDATE SET "
    + ", ".join(f"{c} = EXCLUDED.{c}" for c in _FIGURES)
    + " WHERE ({relation}." + ", {relation}.".join(_FIGURES) + ") IS DISTINCT FROM ("
    + ", ".join(f"EXCLUDED.{c}" for c in _FIGURES) + ")"
)


def recompute_sql(relation: str, width: str, keys: str) -> str:
    """An upsert recomputing, from `observation`, every bucket of `relation` that holds a
    moment of `keys` (a relation with location_id, definition, observed_at)."""
    bucket = f"date_bin(INTERVAL '{width}', observed_at, {ORIGIN})"
    return (
        f"INSERT INTO {relation} (location_id, definition, bucket, last_value, last_value_text,"
        " last_observed_at, min_value, max_value, sum_value, samples)"
        " SELECT o.location_id, o.definition, t.bucket,"
        # The newest observation decides the bucket's last value (NULL: it was not reported).
        " (array_agg(o.value ORDER BY o.observed_at DESC))[1],"
        " (array_agg(o.value_text ORDER BY o.observed_at DESC))[1],"
        " max(o.observed_at), min(o.value), max(o.value), sum(o.value), count(*)"
        f" FROM (SELECT DISTINCT location_id, definition, {bucket} AS bucket FROM {keys}) AS t"
        " JOIN observation o ON o.location_id = t.location_id AND o.definition = t.definition"
        f"  AND o.observed_at >= t.bucket AND o.observed_at < t.bucket + INTERVAL '{width}'"
        " GROUP BY o.location_id, o.definition, t.bucket"
        f" {UPSERT_CHANGED.format(relation=relation)}"
    )


# In an observation batch's transaction: which 5-minute buckets it touched (from the staging
# table of storage/observations.py). An append, never a wait: a bucket already marked (even one
# a refresher is recomputing right now) is marked again, and this mark only becomes visible when
# the batch commits, so the bucket is recomputed after this batch's rows exist.
MARK_DIRTY = (
    "INSERT INTO rollup_dirty (location_id, definition, bucket)"
    f" SELECT DISTINCT location_id, definition, date_bin(INTERVAL '5 minutes', observed_at,"
    f" {ORIGIN}) FROM zc_observation_staging"
)
# One refresher at a time (a transaction-scoped advisory lock; the others skip): two that took
# duplicate marks of one bucket could otherwise write it in the wrong order, the older snapshot
# last. Being alone, it takes its marks without locking them row by row (batches only ever add
# marks, never change one).
_REFRESHER_LOCK = "SELECT pg_try_advisory_xact_lock(hashtext('zc.rollup_refresh'))"
# Take up to %(limit)s marks, recompute their 5-minute buckets from `observation`, and return
# the hours they fall in (with how many marks were taken).
REFRESH_5M = (
    "WITH taken AS (DELETE FROM rollup_dirty WHERE ctid = ANY(ARRAY(SELECT ctid FROM"
    " rollup_dirty ORDER BY bucket LIMIT %(limit)s))"
    " RETURNING location_id, definition, bucket AS observed_at),"
    f" five AS ({recompute_sql('observation_5m', RESOLUTIONS['observation_5m'], 'taken')}"
    " RETURNING 1)"
    f" SELECT location_id, definition, date_bin(INTERVAL '1 hour', observed_at, {ORIGIN}),"
    " count(*) FROM taken GROUP BY 1, 2, 3"
)
# Those hours, from their (now recomputed) 5-minute buckets rather than from every observation
# again: the same figures (the newest bucket's last value, min of mins, sum of sums, ...) for a
# twelfth of the reading. A separate statement, so that it sees what REFRESH_5M wrote.
REFRESH_1H = (
    "INSERT INTO observation_1h (location_id, definition, bucket, last_value, last_value_text,"
    " last_observed_at, min_value, max_value, sum_value, samples)"
    " SELECT f.location_id, f.definition, h.hour,"
    " (array_agg(f.last_value ORDER BY f.last_observed_at DESC))[1],"
    " (array_agg(f.last_value_text ORDER BY f.last_observed_at DESC))[1],"
    " max(f.last_observed_at), min(f.min_value), max(f.max_value), sum(f.sum_value),"
    " sum(f.samples)"
    " FROM unnest(%s::text[], %s::text[], %s::timestamptz[]) AS h(location_id, definition, hour)"
    " JOIN observation_5m f ON f.location_id = h.location_id AND f.definition = h.definition"
    "  AND f.bucket >= h.hour AND f.bucket < h.hour + INTERVAL '1 hour'"
    " GROUP BY f.location_id, f.definition, h.hour"
    f" {UPSERT_CHANGED.format(relation='observation_1h')}"
)


# Marks taken per transaction: a backlog (after a replay, a batch of spreadsheets) is taken in
# large steps, so that each hour is recomputed once for many of its 5-minute buckets.
REFRESH_LIMIT = 20_000


async def refresh_dirty(conn: psycopg.AsyncConnection[Any], limit: int = REFRESH_LIMIT) -> int:
    """Recompute up to `limit` touched 5-minute buckets and their hours, in the caller's
    transaction; returns how many marks were taken (0: nothing waits, or another refresher
    is at work). Plain path only."""
    cur = await conn.execute(_REFRESHER_LOCK)
    row = await cur.fetchone()
    if not (row and row[0]):
        return 0
    cur = await conn.execute(REFRESH_5M, {"limit": limit})
    hours = await cur.fetchall()
    if hours:
        locations, definitions, starts, _ = zip(*hours, strict=True)
        await conn.execute(REFRESH_1H, (list(locations), list(definitions), list(starts)))
    return sum(int(taken) for *_, taken in hours)
