"""Loads the national data set: facilities and units by SQL, history by COPY, latest state from it.

The platform's own writers are far too slow for millions of rows of history, so the history goes
in with COPY and the latest-state tables are filled from it as the writers would have left them.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
import structlog
from psycopg import sql
from psycopg.types.json import Jsonb

from bench.dataset import (
    OBSERVATION_COLUMNS,
    POSITION_COLUMNS,
    PROVIDER,
    NationalDataSet,
)
from storage.rollups import ORIGIN, RESOLUTIONS

log = structlog.get_logger()

Conn = psycopg.Connection[tuple[Any, ...]]

OBSERVATION_TYPES = ("text", "text", "timestamptz", "int4", "float8", "text", "text",
                     "timestamptz", "text", "text", "uuid")
POSITION_TYPES = ("text", "timestamptz", "float8", "float8", "float8", "float8", "float8",
                  "timestamptz", "text")
LATEST_OBSERVATION = (
    "INSERT INTO latest_observation ({columns})"
    " SELECT DISTINCT ON (location_id, definition) {columns} FROM observation"
    " WHERE provider = %s"
    " ORDER BY location_id, definition, observed_at DESC, received_at DESC"
)
LATEST_POSITION = (
    "INSERT INTO latest_position ({columns})"
    " SELECT DISTINCT ON (unit_id) {columns} FROM position WHERE unit_id LIKE 'bench-%%'"
    " ORDER BY unit_id, observed_at DESC"
)
# The roll-up columns of the issue-5 contract, recomputed from history for the bench's subjects
# when the roll-ups are plain tables (on TimescaleDB they are continuous aggregates).
ROLLUP_FILL = (
    "INSERT INTO {table} (location_id, definition, bucket, last_value, last_value_text,"
    " last_observed_at, min_value, max_value, sum_value, samples)"
    " SELECT location_id, definition, bucket,"
    " (array_agg(value ORDER BY observed_at DESC, received_at DESC))[1],"
    " (array_agg(value_text ORDER BY observed_at DESC, received_at DESC))[1],"
    " max(observed_at), min(value), max(value), sum(value), count(*)"
    f" FROM (SELECT *, date_bin(%s::interval, observed_at, {ORIGIN})"
    " AS bucket FROM observation WHERE location_id = ANY(%s)) AS o"
    " GROUP BY location_id, definition, bucket"
)


@dataclass
class LoadReport:
    """Rows per table and how long each step took."""

    rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def total_seconds(self) -> float:
        """The whole load."""
        return sum(self.seconds.values())


PREVIOUS = (
    ("latest_observation", "provider = 'bench'"), ("observation", "provider = 'bench'"),
    ("latest_position", "unit_id LIKE 'bench-%'"), ("position", "unit_id LIKE 'bench-%'"),
    ("mobile_unit", "id LIKE 'bench-%'"), ("location", "id LIKE 'bench-%'"),
    ("organization", "id LIKE 'bench-%'"),
)


def remove_previous(conn: Conn) -> dict[str, int]:
    """Delete what an earlier bench run left in this database (only the bench's own rows).

    Returns how many rows each table lost (all zero in a fresh database).
    """
    return {
        table: conn.execute(
            sql.SQL("DELETE FROM {} WHERE {}").format(sql.Identifier(table), sql.SQL(where)),
        ).rowcount
        for table, where in PREVIOUS
    }


def _copy(conn: Conn, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]],
          types: Sequence[str] | None = None) -> int:
    statement = sql.SQL("COPY {} ({}) FROM STDIN{}").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns)),
        sql.SQL(" (FORMAT BINARY)" if types else ""))
    count = 0
    with conn.cursor() as cur, cur.copy(statement) as copy:
        if types:
            copy.set_types(list(types))
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def _facilities(conn: Conn, data: NationalDataSet) -> dict[str, int]:
    organisations = _copy(conn, "organization", ("id", "name", "resource"), (
        (o.id, o.name, Jsonb({"resourceType": "Organization", "id": o.id, "name": o.name}))
        for o in data.organisations))
    sites = [s for s in data.sites if not s.seeded]
    locations = _copy(conn, "location", (
        "id", "organization_id", "name", "sector", "roaz_region", "latitude", "longitude",
        "veiligheidsregio", "resource"), (
        (s.id, s.organization_id, s.name, s.sector, s.roaz_region, s.latitude, s.longitude,
         s.veiligheidsregio, Jsonb({"resourceType": "Location", "id": s.id, "name": s.name}))
        for s in sites))
    units = _copy(conn, "mobile_unit", (
        "id", "kind", "organization_id", "label", "roaz_region", "veiligheidsregio"), (
        (u.id, u.kind, u.organization_id, u.label, u.roaz_region, u.veiligheidsregio)
        for u in data.units))
    return {"organization": organisations, "location": locations, "mobile_unit": units}


def _latest(conn: Conn) -> dict[str, int]:
    observation_columns = sql.SQL(", ").join(map(sql.Identifier, OBSERVATION_COLUMNS))
    position_columns = sql.SQL(", ").join(map(sql.Identifier, POSITION_COLUMNS))
    latest = conn.execute(sql.SQL(LATEST_OBSERVATION).format(columns=observation_columns),
                          (PROVIDER,)).rowcount
    positions = conn.execute(sql.SQL(LATEST_POSITION).format(columns=position_columns)).rowcount
    return {"latest_observation": latest, "latest_position": positions}


def rollup_kind(conn: Conn, table: str) -> str | None:
    """'r' for a plain table, 'v' for a view (a continuous aggregate), None when absent."""
    row = conn.execute(
        "SELECT c.relkind::text FROM pg_class c WHERE c.oid = to_regclass(%s)", (table,),
    ).fetchone()
    return None if row is None else str(row[0])


def _rollups(conn: Conn, data: NationalDataSet) -> dict[str, int]:
    # Plain path: tables the platform keeps on write, so fill them as the writes would have.
    subjects = [s.id for s in data.sites] + [u.id for u in data.units_of("ambulance")]
    rows = {}
    for table, width in RESOLUTIONS.items():
        if rollup_kind(conn, table) != "r":
            continue
        conn.execute(sql.SQL("DELETE FROM {} WHERE location_id = ANY(%s)").format(
            sql.Identifier(table)), (subjects,))
        rows[table] = conn.execute(sql.SQL(ROLLUP_FILL).format(table=sql.Identifier(table)),
                                   (width, subjects)).rowcount
    return rows


def _refresh_aggregates(conn: Conn) -> None:
    # TimescaleDB path: materialise the continuous aggregates now (outside a transaction, as
    # TimescaleDB requires), so the bench does not time their first refresh.
    for table in RESOLUTIONS:
        if rollup_kind(conn, table) == "v":
            conn.execute(sql.SQL("CALL refresh_continuous_aggregate({}, NULL, NULL)").format(
                sql.Literal(table)))


def _live_state(conn: Conn) -> dict[str, int]:
    # Writing latest_observation marked every subject; the worker's refresher would rewrite
    # their documents within a second: do it now, so the queries start from a settled state.
    taken = 0
    while True:
        row = conn.execute("SELECT live_location_catch_up(1000)").fetchone()
        done = int(row[0]) if row else 0
        taken += done
        if done < 1000:
            break
    count = conn.execute("SELECT count(*) FROM live_location").fetchone()
    return {"live_location": int(count[0]) if count else 0, "live_marks_refreshed": taken}


def _step(report: LoadReport, name: str, conn: Conn, work: Any, *args: Any) -> None:
    started = time.perf_counter()
    with conn.transaction():
        counts = work(conn, *args)
    report.seconds[name] = time.perf_counter() - started
    report.rows.update(counts)
    log.info("bench_load_step", step=name, seconds=round(report.seconds[name], 1), rows=counts)


def load(conn: Conn, data: NationalDataSet) -> LoadReport:
    """Replace the bench's rows in the database with `data`; returns counts and timings."""
    report = LoadReport()
    started = time.perf_counter()
    with conn.transaction():
        removed = remove_previous(conn)
    report.seconds["remove previous"] = time.perf_counter() - started
    log.info("bench_removed_previous", **removed)
    _step(report, "facilities and units", conn, _facilities, data)
    _step(report, "observation history", conn, lambda c: {"observation": _copy(
        c, "observation", OBSERVATION_COLUMNS, data.all_observation_rows(), OBSERVATION_TYPES)})
    _step(report, "position history", conn, lambda c: {"position": _copy(
        c, "position", POSITION_COLUMNS, data.all_position_rows(), POSITION_TYPES)})
    _step(report, "latest state", conn, _latest)
    _step(report, "live state", conn, _live_state)
    _step(report, "roll-ups", conn, _rollups, data)
    started = time.perf_counter()
    _refresh_aggregates(conn)
    report.seconds["continuous aggregates"] = time.perf_counter() - started
    started = time.perf_counter()
    conn.execute("ANALYZE")
    report.seconds["analyze"] = time.perf_counter() - started
    return report
