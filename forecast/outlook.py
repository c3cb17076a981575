"""One series' outlook: backtest, verdict, and the forecast (or baseline) shown for the hours
ahead, kept inside the item's range. Pure: an hourly series in, an `Outlook` out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np

from forecast.backtest import HORIZON, Backtest, run_backtest
from forecast.bounds import Bounds
from forecast.methods import MODEL
from forecast.model import SeasonalEts, baseline
from forecast.series import Array, Grid


@dataclass(frozen=True)
class ForecastPoint:
    """One hour ahead: the figure expected and its 80 % interval."""

    at: datetime
    value: float
    lower: float
    upper: float


@dataclass(frozen=True)
class Outlook:
    """What is shown for one series: the model's forecast when its backtest beat the better
    baseline (`reliable`), else that baseline's (`method`), with the reason in words."""

    reliable: bool
    method: str
    reason: str
    points: tuple[ForecastPoint, ...]
    backtest: Backtest
    history_hours: int


def outlook(values: Array, grid: Grid, bounds: Bounds, horizon: int = HORIZON) -> Outlook:
    """The outlook of a series on `grid` (its last hour is the newest), for the `horizon`
    hours after the grid. The series needs at least one figure."""
    hour_of_week = grid.hour_of_week(horizon)
    tested = run_backtest(values, hour_of_week, horizon=horizon)
    origin = np.array([values.size])
    if tested.reliable:
        prediction = SeasonalEts(values, hour_of_week, horizon).predict(values, origin)
        method = MODEL
    else:
        method = tested.better_baseline
        prediction = baseline(method, values, origin, horizon)
    shown = bounds.apply(prediction.row(0))
    moments = grid.moments(grid.hours, horizon)
    points = tuple(ForecastPoint(at, round(float(v), 2), round(float(lo), 2),
                                 round(float(hi), 2))
                   for at, v, lo, hi in zip(moments, shown.mean, shown.lower, shown.upper,
                                            strict=True))
    return Outlook(tested.reliable, method, tested.reason, points, tested,
                   int(np.count_nonzero(~np.isnan(values))))
