"""Forecast storage: the hourly roll-ups the forecaster trains on, and the `forecast` table.

The forecaster reads every location's hourly series of the forecast items in one query (one
row per location and item, its hours as arrays) and replaces all forecasts in one transaction,
so a reader sees one refit or the next, never half of each.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import psycopg
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

Scope = Literal["location", "region"]


@dataclass(frozen=True)
class HourlyRow:
    """One location's hourly figures of one item: `hours` are whole hours after the start
    asked, `values` the hour's last figure (None: not reported)."""

    location_id: str
    roaz_region: str
    definition: str
    hours: list[int]
    values: list[float | None]


# Per location and item, the hours as offsets from the start and their last values.
HOURLY_SERIES = (
    "SELECT r.location_id, l.roaz_region, r.definition,"
    " array_agg((extract(epoch FROM r.bucket - %(start)s) / 3600)::int ORDER BY r.bucket)"
    " AS hours, array_agg(r.last_value ORDER BY r.bucket) AS values"
    " FROM observation_1h r JOIN location l ON l.id = r.location_id"
    " WHERE r.definition = ANY(%(definitions)s)"
    " AND r.bucket >= %(start)s AND r.bucket < %(end)s"
    " GROUP BY r.location_id, l.roaz_region, r.definition"
    " ORDER BY r.location_id, r.definition"
)


def hourly_series(conn: psycopg.Connection[Any], *, definitions: Sequence[str],
                  start: datetime, end: datetime) -> list[HourlyRow]:
    """Every location's hourly series of `definitions` in [start, end)."""
    with conn.cursor(row_factory=class_row(HourlyRow)) as cur:
        cur.execute(HOURLY_SERIES, {"definitions": list(definitions), "start": start,
                                    "end": end})
        return cur.fetchall()


@dataclass(frozen=True)
class ForecastRow:
    """One stored forecast (see migrations/0015_forecast.sql for the columns' meaning)."""

    scope: Scope
    subject: str
    definition: str
    issued_at: datetime
    origin: datetime
    reliable: bool
    method: str
    reason: str
    points: list[dict[str, Any]]
    backtest: dict[str, Any]
    history_hours: int
    locations: int


COLUMNS = ("scope", "subject", "definition", "issued_at", "origin", "reliable", "method",
           "reason", "points", "backtest", "history_hours", "locations")
INSERT = (f"INSERT INTO forecast ({', '.join(COLUMNS)})"
          f" VALUES ({', '.join(['%s'] * len(COLUMNS))})")


def replace_forecasts(conn: psycopg.Connection[Any], *, rows: Sequence[ForecastRow],
                      started_at: datetime, finished_at: datetime) -> None:
    """Every forecast replaced by `rows`, and the run recorded, in one transaction."""
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("DELETE FROM forecast")
        cur.executemany(INSERT, [
            (r.scope, r.subject, r.definition, r.issued_at, r.origin, r.reliable, r.method,
             r.reason, Jsonb(r.points), Jsonb(r.backtest), r.history_hours, r.locations)
            for r in rows])
        cur.execute(
            "INSERT INTO forecast_run (started_at, finished_at, series, reliable)"
            " VALUES (%s, %s, %s, %s)",
            (started_at, finished_at, len(rows), sum(1 for r in rows if r.reliable)))


async def get_forecast(conn: psycopg.AsyncConnection[Any], *, scope: Scope, subject: str,
                       definition: str) -> ForecastRow | None:
    """The newest forecast of one series, or None when there is none."""
    async with conn.cursor(row_factory=class_row(ForecastRow)) as cur:
        await cur.execute(
            f"SELECT {', '.join(COLUMNS)} FROM forecast"
            " WHERE scope = %(scope)s AND subject = %(subject)s"
            " AND definition = %(definition)s",
            {"scope": scope, "subject": subject, "definition": definition})
        return await cur.fetchone()
