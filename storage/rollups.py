"""5-minute and hourly roll-ups of observations on the plain PostgreSQL path.

On TimescaleDB, `observation_5m` and `observation_1h` are continuous aggregates and maintain
themselves. On plain PostgreSQL they are tables: after each observation batch is upserted, the
buckets it touches are recomputed from `observation` in the same transaction. Recomputing
(rather than adding the batch in) keeps them exact under corrections and replays: a replay
recomputes the same rows.

Buckets are aligned like time_bucket's (UTC, origin 2000-01-01 00:00 UTC, a whole number of
5 minutes and hours before time_bucket's own default origin of 2000-01-03), so both paths agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

from core.messages import Observation

ORIGIN = "TIMESTAMPTZ '2000-01-01 00:00:00+00'"
# Roll-up relation -> bucket width. Same names and widths as the continuous aggregates.
RESOLUTIONS = {"observation_5m": "5 minutes", "observation_1h": "1 hour"}


def refresh_sql(relation: str, width: str) -> str:
    """One upsert recomputing, from `observation`, every bucket of `relation` a batch touches.

    Parameters: the batch's location ids, definitions and observed times, as three arrays.
    """
    bucket = f"date_bin(INTERVAL '{width}', observed_at, {ORIGIN})"
    return (
        f"INSERT INTO {relation} (location_id, definition, bucket, last_value, last_value_text,"
        " last_observed_at, min_value, max_value, sum_value, samples)"
        " SELECT o.location_id, o.definition, t.bucket,"
        # The newest observation decides the bucket's last value (NULL: it was not reported).
        " (array_agg(o.value ORDER BY o.observed_at DESC))[1],"
        " (array_agg(o.value_text ORDER BY o.observed_at DESC))[1],"
        " max(o.observed_at), min(o.value), max(o.value), sum(o.value), count(*)"
        f" FROM (SELECT DISTINCT location_id, definition, {bucket} AS bucket"
        "  FROM unnest(%s::text[], %s::text[], %s::timestamptz[])"
        "  AS b(location_id, definition, observed_at)) AS t"
        " JOIN observation o ON o.location_id = t.location_id AND o.definition = t.definition"
        f"  AND o.observed_at >= t.bucket AND o.observed_at < t.bucket + INTERVAL '{width}'"
        " GROUP BY o.location_id, o.definition, t.bucket"
        " ON CONFLICT (location_id, definition, bucket) DO UPDATE SET"
        " last_value = EXCLUDED.last_value, last_value_text = EXCLUDED.last_value_text,"
        " last_observed_at = EXCLUDED.last_observed_at, min_value = EXCLUDED.min_value,"
        " max_value = EXCLUDED.max_value, sum_value = EXCLUDED.sum_value,"
        " samples = EXCLUDED.samples"
    )


REFRESH = {relation: refresh_sql(relation, width) for relation, width in RESOLUTIONS.items()}


async def refresh_rollups(
    conn: psycopg.AsyncConnection[Any], observations: Sequence[Observation],
) -> None:
    """Recompute the 5-minute and hourly rows of every (location, item, bucket) in the batch.

    Run after the batch is upserted into `observation`, in the same transaction. Plain path only.
    """
    if not observations:
        return
    keys = [
        [o.location_id for o in observations],
        [o.definition for o in observations],
        [o.observed_at for o in observations],
    ]
    async with conn.cursor() as cur:
        for statement in REFRESH.values():
            await cur.execute(statement, keys)
