"""One refit: read the hourly roll-ups, make every series' outlook, replace the forecasts.

Series: every location × forecast item with figures in the last `STALE_HOURS` (a location that
fell silent gets no forecast), and every ROAZ region × 'sum' item, summed over its locations
(each location's figure carried forward up to `CARRY_HOURS`, so one missing report does not
make the region's beds drop).
"""

from __future__ import annotations

import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

import numpy as np
import psycopg
import structlog

from definitions import Catalogue, Definition
from forecast.items import bounds_of, forecast_items, has_regional_forecast
from forecast.outlook import Outlook, outlook
from forecast.series import HOUR, Array, Grid, floor_hour, summed
from storage.forecasts import ForecastRow, HourlyRow, Scope, hourly_series, replace_forecasts

log = structlog.get_logger()
STALE_HOURS = 24
CARRY_HOURS = 6


@dataclass(frozen=True)
class RefitReport:
    """What one refit did, for the log and the bench."""

    series: int
    reliable: int
    locations: int
    regions: int
    read_seconds: float
    fit_seconds: float
    write_seconds: float


def grid_until(now: datetime, days: int) -> Grid:
    """`days` of hours ending with the hour that holds `now` (its figure so far)."""
    hours = days * 24
    return Grid(floor_hour(now) - (hours - 1) * HOUR, hours)


def _values(row: HourlyRow, size: int) -> Array:
    values = np.full(size, np.nan)
    hours = np.asarray(row.hours, dtype=np.int64)
    figures = np.array([np.nan if v is None else v for v in row.values], dtype=float)
    keep = (hours >= 0) & (hours < size)
    values[hours[keep]] = figures[keep]
    return values


def _recent(values: Array) -> bool:
    return bool(np.any(~np.isnan(values[-STALE_HOURS:])))


@dataclass(frozen=True)
class Task:
    """One series to forecast."""

    scope: Scope
    subject: str
    definition: Definition
    values: Array
    locations: int = 1


def _made(task: Task, grid: Grid) -> Outlook:
    return outlook(task.values, grid, bounds_of(task.definition, task.locations))


def tasks(rows: list[HourlyRow], catalogue: Catalogue, grid: Grid) -> list[Task]:
    """Every series to forecast: locations reporting lately, and the regions' sums."""
    items = {d.code: d for d in forecast_items(catalogue)}
    found: list[Task] = []
    by_region: dict[tuple[str, str], list[Array]] = defaultdict(list)
    for row in rows:
        definition = items[row.definition]
        values = _values(row, grid.hours)
        if not _recent(values):
            continue
        found.append(Task("location", row.location_id, definition, values))
        if has_regional_forecast(definition):
            by_region[(row.roaz_region, definition.code)].append(values)
    for (region, code), members in sorted(by_region.items()):
        found.append(Task("region", region, items[code], summed(members, CARRY_HOURS),
                          len(members)))
    return found


def _row(task: Task, made: Outlook, grid: Grid, issued_at: datetime) -> ForecastRow:
    points = [{"at": p.at.isoformat(), "value": p.value, "lower": p.lower, "upper": p.upper}
              for p in made.points]
    return ForecastRow(scope=task.scope, subject=task.subject, definition=task.definition.code,
                       issued_at=issued_at, origin=grid.end, reliable=made.reliable,
                       method=made.method, reason=made.reason, points=points,
                       backtest=made.backtest.as_json(), history_hours=made.history_hours,
                       locations=task.locations)


def outlooks(found: list[Task], grid: Grid, issued_at: datetime,
             workers: int = 1) -> list[ForecastRow]:
    """Every task's forecast row, in `workers` processes (1: in this one)."""
    if workers <= 1:
        made = [_made(task, grid) for task in found]
    else:
        with ProcessPoolExecutor(workers) as pool:
            made = list(pool.map(partial(_made, grid=grid), found, chunksize=64))
    return [_row(task, m, grid, issued_at) for task, m in zip(found, made, strict=True)]


def refit(conn: psycopg.Connection[Any], catalogue: Catalogue, *, days: int,
          now: datetime | None = None, workers: int = 1) -> RefitReport:
    """Fit every series on the last `days` of hourly roll-ups and replace the forecasts,
    fitting in `workers` processes."""
    started = datetime.now(UTC)
    now = now or started
    grid = grid_until(now, days)
    clock = time.perf_counter()
    rows = hourly_series(conn, definitions=[d.code for d in forecast_items(catalogue)],
                         start=grid.start, end=grid.end)
    read = time.perf_counter() - clock
    made = outlooks(tasks(rows, catalogue, grid), grid, started, workers)
    fitted = time.perf_counter() - clock - read
    replace_forecasts(conn, rows=made, started_at=started, finished_at=datetime.now(UTC))
    report = RefitReport(
        series=len(made), reliable=sum(1 for r in made if r.reliable),
        locations=sum(1 for r in made if r.scope == "location"),
        regions=sum(1 for r in made if r.scope == "region"), read_seconds=round(read, 2),
        fit_seconds=round(fitted, 2),
        write_seconds=round(time.perf_counter() - clock - read - fitted, 2))
    log.info("forecast_refit", **asdict(report), origin=grid.end.isoformat())
    return report

