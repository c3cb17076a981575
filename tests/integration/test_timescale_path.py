"""On TimescaleDB the migrations build hypertables, continuous aggregates and their policies.

Runs against TimescaleDB in PGlite (`timescale_url`). PGlite runs no background workers, so the
policies are checked as scheduled jobs with their settings, not by waiting for them to run.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import psycopg
import pytest

from stack import pglite
from storage.paths import current_path


@pytest.fixture
def ts(timescale_url: str) -> Iterator[psycopg.Connection[Any]]:
    """A connection to the migrated TimescaleDB."""
    with psycopg.connect(timescale_url, autocommit=True, **pglite.connect_kwargs()) as conn:
        yield conn


def test_the_storage_path_is_timescale(ts: psycopg.Connection[Any]) -> None:
    assert current_path(ts) == "timescale"
    assert ts.execute("SELECT path FROM storage_path").fetchall() == [("timescale",)]


def test_observations_and_positions_are_hypertables_in_day_chunks(
    ts: psycopg.Connection[Any],
) -> None:
    rows = ts.execute(
        "SELECT h.hypertable_name, d.column_name, d.time_interval"
        " FROM timescaledb_information.hypertables h"
        " JOIN timescaledb_information.dimensions d USING (hypertable_schema, hypertable_name)"
        " WHERE h.hypertable_name IN ('observation', 'position') ORDER BY 1").fetchall()
    assert rows == [("observation", "observed_at", timedelta(days=1)),
                    ("position", "observed_at", timedelta(days=1))]


def test_rollups_are_real_time_continuous_aggregates(ts: psycopg.Connection[Any]) -> None:
    rows = ts.execute(
        "SELECT view_name, hypertable_name, materialized_only"
        " FROM timescaledb_information.continuous_aggregates ORDER BY view_name").fetchall()
    assert rows == [("observation_1h", "observation", False),
                    ("observation_5m", "observation", False)]


def test_compression_settings(ts: psycopg.Connection[Any]) -> None:
    rows = ts.execute(
        "SELECT hypertable_name, attname, segmentby_column_index, orderby_column_index,"
        " orderby_asc FROM timescaledb_information.compression_settings"
        " WHERE hypertable_name IN ('observation', 'position')"
        " ORDER BY hypertable_name, segmentby_column_index NULLS LAST, attname").fetchall()
    assert rows == [
        ("observation", "location_id", 1, None, None),
        ("observation", "definition", 2, None, None),
        ("observation", "observed_at", None, 1, False),
        ("position", "unit_id", 1, None, None),
        ("position", "observed_at", None, 1, False),
    ]


def _jobs(ts: psycopg.Connection[Any], procedure: str) -> dict[str, dict[str, Any]]:
    """Policy jobs of `procedure` by relation (a continuous aggregate by its view name)."""
    rows = ts.execute(
        "SELECT hypertable_name, config, schedule_interval FROM timescaledb_information.jobs"
        " WHERE proc_name = %s", (procedure,)).fetchall()
    return {name: {**config, "every": every} for name, config, every in rows}


def test_refresh_policies(ts: psycopg.Connection[Any]) -> None:
    jobs = _jobs(ts, "policy_refresh_continuous_aggregate")
    five, hour = "observation_5m", "observation_1h"
    assert set(jobs) == {five, hour}
    assert (jobs[five]["start_offset"], jobs[five]["end_offset"]) == ("30 days", "00:05:00")
    assert jobs[five]["every"] == timedelta(minutes=5)
    assert (jobs[hour]["start_offset"], jobs[hour]["end_offset"]) == ("30 days", "01:00:00")
    assert jobs[hour]["every"] == timedelta(minutes=30)


def test_compression_policies(ts: psycopg.Connection[Any]) -> None:
    jobs = _jobs(ts, "policy_compression")
    assert {name: job["compress_after"] for name, job in jobs.items()} == {
        "observation": "7 days", "position": "1 day"}


def test_retention_policies(ts: psycopg.Connection[Any]) -> None:
    jobs = _jobs(ts, "policy_retention")
    assert {name: job["drop_after"] for name, job in jobs.items()} == {
        "observation": "90 days", "position": "30 days",
        "observation_5m": "1 year",
    }


def test_date_bin_equals_time_bucket_for_both_widths(ts: psycopg.Connection[Any]) -> None:
    """The plain path's bucket expression gives time_bucket's buckets, in any session zone."""
    ts.execute("SET TimeZone = 'Europe/Amsterdam'")
    for width in ("5 minutes", "1 hour"):
        row = ts.execute(
            "SELECT count(*) FILTER (WHERE date_bin(%s::interval, t,"
            " TIMESTAMPTZ '2000-01-01 00:00:00+00') <> time_bucket(%s::interval, t))"
            " FROM generate_series(TIMESTAMPTZ '1999-12-30 23:00:00+00',"
            " TIMESTAMPTZ '2026-12-31 00:00:00+00', INTERVAL '7 days 1 hour 7 minutes 13 seconds')"
            " AS t", (width, width)).fetchone()
        assert row == (0,)
