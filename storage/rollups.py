"""5-minute and hourly roll-ups of observations on the plain PostgreSQL path.

On TimescaleDB, `observation_5m` and `observation_1h` are continuous aggregates and maintain
themselves. On plain PostgreSQL they are tables, kept like a continuous aggregate is, off the
write transaction: each observation batch records the 5-minute buckets it touched in
`rollup_dirty` (MARK_DIRTY, in the batch's transaction), and `refresh_dirty` takes those
buckets, recomputes them and their hours from `observation`, and removes them, in one
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
        " ON CONFLICT (location_id, definition, bucket) DO UPDATE SET"
        " last_value = EXCLUDED.last_value, last_value_text = EXCLUDED.last_value_text,"
        " last_observed_at = EXCLUDED.last_observed_at, min_value = EXCLUDED.min_value,"
        " max_value = EXCLUDED.max_value, sum_value = EXCLUDED.sum_value,"
        " samples = EXCLUDED.samples"
    )


# In an observation batch's transaction: which 5-minute buckets it touched (from the staging
# table of storage/observations.py).
MARK_DIRTY = (
    "INSERT INTO rollup_dirty (location_id, definition, bucket)"
    f" SELECT DISTINCT location_id, definition, date_bin(INTERVAL '5 minutes', observed_at,"
    f" {ORIGIN}) FROM zc_observation_staging"
    # DO UPDATE, not DO NOTHING: the mark of a bucket already marked is then locked until this
    # batch commits, so a refresher (SKIP LOCKED) cannot take it and recompute without this
    # batch's rows, leaving the bucket stale with no mark.
    " ON CONFLICT (location_id, definition, bucket) DO UPDATE SET bucket = EXCLUDED.bucket"
)
# One statement: take up to %(limit)s touched buckets (other refreshers skip the ones taken:
# SKIP LOCKED), recompute them and their hours, count them. Nothing goes through Python.
REFRESH_DIRTY = (
    "WITH taken AS (DELETE FROM rollup_dirty WHERE ctid = ANY(ARRAY(SELECT ctid FROM"
    " rollup_dirty ORDER BY bucket LIMIT %(limit)s FOR UPDATE SKIP LOCKED))"
    " RETURNING location_id, definition, bucket AS observed_at),"
    + ", ".join(f"{relation} AS ({recompute_sql(relation, width, 'taken')} RETURNING 1)"
                for relation, width in RESOLUTIONS.items())
    + " SELECT count(*) FROM taken"
)


async def refresh_dirty(conn: psycopg.AsyncConnection[Any], limit: int = 5000) -> int:
    """Recompute up to `limit` touched 5-minute buckets and their hours, in the caller's
    transaction; returns how many buckets were refreshed (0: nothing waits). Plain path only."""
    cur = await conn.execute(REFRESH_DIRTY, {"limit": limit})
    row = await cur.fetchone()
    return int(row[0]) if row else 0
