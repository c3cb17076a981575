"""History of one item for a location or a region, raw or at a chosen resolution.

Raw points come from `observation`. Bucketed points come from the roll-up relations
`observation_5m` / `observation_1h` (the same columns on both storage paths; see the storage
contract): per location a bucket's figure is `last_value` for sum and latest items and
`sum_value` for cumulative items; across locations the figures are summed for sum and
cumulative items, and for latest items the figure observed last wins. Days are hours
re-bucketed with `date_bin` (UTC days).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import psycopg
from psycopg import sql
from psycopg.rows import class_row

from definitions.catalogue import Rollup

Resolution = Literal["raw", "5m", "1h", "1d"]
# Which roll-up relation feeds each resolution, and the bucket width asked of it.
SOURCES: dict[str, tuple[str, timedelta]] = {
    "5m": ("observation_5m", timedelta(minutes=5)),
    "1h": ("observation_1h", timedelta(hours=1)),
    "1d": ("observation_1h", timedelta(days=1)),
}
# The longest range one request may ask, so a query stays cheap.
MAX_RANGE: dict[str, timedelta] = {
    "raw": timedelta(days=31), "5m": timedelta(days=400), "1h": timedelta(days=400),
    "1d": timedelta(days=400),
}


@dataclass(frozen=True)
class HistoryPoint:
    """One point: a bucket (or, raw, an observation) with its figure.

    `value` / `value_text` are None when not reported; `locations` is how many locations
    reported a value in the bucket; `location_id` is set on raw points.
    """

    at: datetime
    value: float | None
    value_text: str | None
    locations: int
    location_id: str | None = None


@dataclass(frozen=True)
class Scope:
    """Whose history: one location, the locations of some regions, or (all None) national."""

    location_id: str | None = None
    regions: Collection[str] | None = None


def range_problem(start: datetime, end: datetime, resolution: Resolution) -> str | None:
    """Why [start, end) cannot be asked at `resolution`, or None when it can."""
    if end <= start:
        return "'to' must be later than 'from'"
    if end - start > MAX_RANGE[resolution]:
        return (f"at resolution {resolution} a range may span at most "
                f"{MAX_RANGE[resolution].days} days; ask a coarser resolution or a shorter range")
    return None


SCOPE_FILTER = (
    " AND (%(location)s::text IS NULL OR {alias}.location_id = %(location)s)"
    " AND (%(regions)s::text[] IS NULL OR l.roaz_region = ANY(%(regions)s))"
)
RAW = (
    "SELECT o.observed_at AS at, o.value, o.value_text,"
    " (num_nonnulls(o.value, o.value_text) > 0)::int AS locations, o.location_id"
    " FROM observation o JOIN location l ON l.id = o.location_id"
    " WHERE o.definition = %(definition)s"
    " AND o.observed_at >= %(start)s AND o.observed_at < %(end)s"
    + SCOPE_FILTER.format(alias="o")
    + " ORDER BY o.observed_at, o.location_id"
)
# Per location and bucket first (the hours of a day collapse here), then across locations.
BUCKETED = (
    "WITH source AS ("
    " SELECT date_bin(%(step)s::interval, r.bucket, TIMESTAMPTZ '2000-01-01 00:00:00+00')"
    " AS bucket, r.location_id, r.last_value, r.last_value_text, r.sum_value,"
    " r.last_observed_at"
    " FROM {relation} r JOIN location l ON l.id = r.location_id"
    " WHERE r.definition = %(definition)s"
    " AND r.bucket >= %(start)s AND r.bucket < %(end)s"
    + SCOPE_FILTER.format(alias="r")
    + "), per_location AS ("
    " SELECT bucket, location_id,"
    " CASE WHEN %(cumulative)s THEN sum(sum_value)"
    " ELSE (array_agg(last_value ORDER BY last_observed_at DESC NULLS LAST))[1] END AS value,"
    " (array_agg(last_value_text ORDER BY last_observed_at DESC NULLS LAST))[1]"
    " AS value_text, max(last_observed_at) AS last_observed_at"
    " FROM source GROUP BY bucket, location_id)"
    " SELECT bucket AS at,"
    " CASE WHEN %(latest)s"
    " THEN (array_agg(value ORDER BY last_observed_at DESC NULLS LAST))[1]"
    " ELSE sum(value) END AS value,"
    " CASE WHEN %(latest)s"
    " THEN (array_agg(value_text ORDER BY last_observed_at DESC NULLS LAST))[1] END"
    " AS value_text,"
    " count(*) FILTER (WHERE num_nonnulls(value, value_text) > 0)::int AS locations"
    " FROM per_location GROUP BY bucket ORDER BY bucket"
)


async def history(
    conn: psycopg.AsyncConnection[Any], *, definition: str, rollup: Rollup, scope: Scope,
    start: datetime, end: datetime, resolution: Resolution,
) -> list[HistoryPoint]:
    """Points of `definition` in [start, end) for `scope`, oldest first; ValueError when the
    range is not allowed at `resolution` (see `range_problem`)."""
    problem = range_problem(start, end, resolution)
    if problem:
        raise ValueError(problem)
    params: dict[str, Any] = {
        "definition": definition, "start": start, "end": end, "location": scope.location_id,
        "regions": list(scope.regions) if scope.regions is not None else None,
        "cumulative": rollup == "cumulative", "latest": rollup == "latest",
    }
    if resolution == "raw":
        query: sql.SQL | sql.Composed = sql.SQL(RAW)
    else:
        relation, step = SOURCES[resolution]
        params["step"] = step
        query = sql.SQL(BUCKETED).format(relation=sql.Identifier(relation))
    async with conn.cursor(row_factory=class_row(HistoryPoint)) as cur:
        await cur.execute(query, params)
        return await cur.fetchall()
