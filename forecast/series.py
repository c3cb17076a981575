"""Hourly series on one grid: the shape every forecast and backtest works on.

A series is the hourly roll-up's figure per hour (the last value of the hour, as
`observation_1h` keeps it), NaN where the hour has no figure (nothing sent, or not reported:
never 0). All series of one refit share one grid, so the local hour of the week is computed
once per grid.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]
HOUR = timedelta(hours=1)
WEEK_HOURS = 168
# Care has Dutch rhythms: the afternoon peak and weekend evenings are local-time hours.
LOCAL = ZoneInfo("Europe/Amsterdam")


def floor_hour(moment: datetime) -> datetime:
    """The UTC hour that holds `moment`."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class Grid:
    """`hours` consecutive UTC hours from `start` (aligned to the hour)."""

    start: datetime
    hours: int

    @property
    def end(self) -> datetime:
        """The first hour after the grid."""
        return self.start + self.hours * HOUR

    def index_of(self, moment: datetime) -> int:
        """The position of the hour holding `moment` (may lie outside the grid)."""
        return int((floor_hour(moment) - self.start) / HOUR)

    def hour_of_week(self, extra: int = 0) -> npt.NDArray[np.int64]:
        """Local hour of the week (Monday 00:00 = 0) of each hour, plus `extra` after it."""
        return _hour_of_week(self.start, self.hours + extra)

    def moments(self, first: int, count: int) -> list[datetime]:
        """The start of hours first .. first+count-1."""
        return [self.start + (first + k) * HOUR for k in range(count)]


@lru_cache(maxsize=16)
def _hour_of_week(start: datetime, hours: int) -> npt.NDArray[np.int64]:
    local = (start + k * HOUR for k in range(hours))
    values = [m.astimezone(LOCAL) for m in local]
    return np.array([v.weekday() * 24 + v.hour for v in values], dtype=np.int64)


def on_grid(grid: Grid, points: Iterable[tuple[datetime, float | None]]) -> Array:
    """The figures of `points` (hour, value) on `grid`; NaN for hours without a figure."""
    values = np.full(grid.hours, np.nan)
    for at, value in points:
        index = grid.index_of(at)
        if value is not None and 0 <= index < grid.hours:
            values[index] = value
    return values


def carried_forward(values: Array, limit: int | None = None) -> Array:
    """NaN hours take the last figure before them (at most `limit` hours on); hours before
    the first figure stay NaN. What a board shows between reports is the latest figure."""
    valid = ~np.isnan(values)
    last = np.where(valid, np.arange(values.size), -1)
    np.maximum.accumulate(last, out=last)
    result = np.where(last >= 0, values[np.maximum(last, 0)], np.nan)
    if limit is not None:
        result[np.arange(values.size) - last > limit] = np.nan
    return result


def filled(values: Array) -> Array:
    """Every hour with a figure: carried forward, and hours before the first figure take the
    first one. For models that cannot take gaps."""
    result = carried_forward(values)
    valid = ~np.isnan(result)
    if valid.any() and not valid[0]:
        result[: int(np.argmax(valid))] = result[valid][0]
    return result


def summed(series: Sequence[Array], carry_hours: int) -> Array:
    """A region's series of a 'sum' item: per hour the sum of its locations' figures, each
    carried forward at most `carry_hours` (a missing report does not make the region's beds
    drop); NaN where no location has a figure."""
    stacked = np.vstack([carried_forward(s, carry_hours) for s in series])
    total: Array = np.nansum(stacked, axis=0)
    total[np.all(np.isnan(stacked), axis=0)] = np.nan
    return total
