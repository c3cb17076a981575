"""The forecast model and the two baselines, each giving the next hours with an 80 % interval.

The model is a seasonal adjustment by the local hour of the week followed by exponential
smoothing, the "STL + ETS" recipe (Hyndman & Athanasopoulos, FPP3 §5.7, forecasting with
decomposition; R's stlf) with the seasonal part taken by classical decomposition:

1. trend: a centred 168-hour moving average (only where at least half the week has figures);
2. the hour-of-week profile: the mean deviation from the trend per local hour of the week,
   shrunk towards the hour-of-day mean when a slot has few weeks behind it (weekend evenings
   keep their own shape; one week of history does not make a pattern of its noise);
3. statsforecast's AutoETS, simple exponential smoothing with additive errors (ETS(A,N,N),
   smoothing weight and initial level by maximum likelihood), on the adjusted series: its level
   plus the profile of the hours ahead is the forecast.

The 80 % interval is the 10th to 90th percentile of the model's own 1..4-hour errors over the
hours it was fitted on (with the fitted parameters: an empirical interval). The normal interval
of ETS assumes Gaussian errors of the adjusted series, which counts of a few beds are not, and
covered about 70 % in the backtests.

Why not statsforecast's MSTL (the textbook model for two seasons): its weekly STL took 0.3 s
per series here, half an hour per refit for the national set's 5,500 series; this fit takes
about 15 ms, copes with gaps, and a backtest needs one pass of the fitted model over the
series (ETS(A,N,N) forecasts its last level for every hour ahead).

The baselines: "last value" (the latest figure held; normal interval from the hour-to-hour
changes, as statsforecast's Naive) and "same hour last week" (the figure 168 hours before;
normal interval from the week-to-week changes, as statsforecast's SeasonalNaive). They are
computed here for all origins at once; `tests/unit/test_forecast.py` checks them against
statsforecast's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from statsforecast.models import AutoETS

from forecast.bounds import Interval
from forecast.methods import LAST_VALUE, LEVEL
from forecast.series import WEEK_HOURS, Array, filled

# The normal distribution's 90th percentile: the half-width of an 80 % interval in sigmas.
Z80 = 1.2815515655446004
# How strongly an hour-of-week slot is pulled to its hour of the day: k weeks of figures
# keep k / (k + SHRINK) of their own deviation.
SHRINK = 1.0
# The least history (hours with a figure) to fit: a week for the trend plus a week of slots.
MIN_FIT_HOURS = 2 * WEEK_HOURS
Hours = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Prediction(Interval):
    """Point forecasts and 80 % intervals: one row per origin, one column per hour ahead
    (a single forecast is one row)."""

    def row(self, index: int) -> Prediction:
        """The forecast from one origin."""
        return Prediction(self.mean[index], self.lower[index], self.upper[index])


def _moving_average(values: Array, width: int) -> Array:
    """Centred moving average over `width` hours (even width: the 2×width MA of classical
    decomposition), NaN where fewer than half the hours of the window have a figure and where
    the window is cut by the series' ends (it would carry the daily shape)."""
    valid = ~np.isnan(values)
    weights = np.ones(width + 1)
    weights[0] = weights[-1] = 0.5
    sums = np.convolve(np.where(valid, values, 0.0), weights, mode="same")
    counts = np.convolve(valid.astype(float), weights, mode="same")
    result = np.full(values.size, np.nan)
    enough = counts >= width / 2
    result[enough] = sums[enough] / counts[enough]
    half = width // 2
    result[:half] = np.nan
    result[values.size - half:] = np.nan
    return result


@dataclass(frozen=True)
class _SlotMeans:
    """Sums and counts of the detrended figures per hour-of-week slot and per hour of day."""

    total: Array
    count: Array
    day_total: Array
    day_count: Array

    @classmethod
    def of(cls, slots: Hours, deviations: Array) -> _SlotMeans:
        return cls(np.bincount(slots, weights=deviations, minlength=WEEK_HOURS).astype(float),
                   np.bincount(slots, minlength=WEEK_HOURS).astype(float),
                   np.bincount(slots % 24, weights=deviations, minlength=24).astype(float),
                   np.bincount(slots % 24, minlength=24).astype(float))

    def shrunk(self, slots: Hours, less: Array | None = None) -> Array:
        """The shrunk mean deviation of `slots`; with `less`, leaving that one deviation out
        of its own slot's means (the profile as if that hour had not been seen)."""
        out = np.zeros(slots.size) if less is None else less
        weight = 0.0 if less is None else 1.0
        count, day_count = self.count[slots] - weight, self.day_count[slots % 24] - weight
        own = np.divide(self.total[slots] - out, count, out=np.zeros(slots.size),
                        where=count > 0)
        base = np.divide(self.day_total[slots % 24] - out, day_count,
                         out=np.zeros(slots.size), where=day_count > 0)
        shrunk: Array = base + count / (count + SHRINK) * (own - base)
        return shrunk


def _deviations(values: Array, hour_of_week: Hours) -> tuple[Array, Hours, Array]:
    """The detrended figures (NaN where no trend), their slots, and which are usable."""
    detrended = values - _moving_average(values, WEEK_HOURS)
    valid = ~np.isnan(detrended)
    return detrended, hour_of_week[: values.size], valid


def hour_of_week_profile(values: Array, hour_of_week: Hours) -> Array:
    """The seasonal deviation of each local hour of the week (168 values, mean 0)."""
    detrended, slots, valid = _deviations(values, hour_of_week)
    means = _SlotMeans.of(slots[valid], detrended[valid])
    profile = means.shrunk(np.arange(WEEK_HOURS))
    centred: Array = profile - profile.mean()
    return centred


def left_out_profile(values: Array, hour_of_week: Hours, profile: Array) -> Array:
    """For every hour of `values`, the profile's figure had that hour been left out of its
    estimation (the profile where the hour did not count). In-sample errors against this are
    honest about how much of an hour's noise the profile would otherwise have absorbed."""
    detrended, slots, valid = _deviations(values, hour_of_week)
    means = _SlotMeans.of(slots[valid], detrended[valid])
    result = profile[slots].copy()
    full = means.shrunk(np.arange(WEEK_HOURS))
    shift = full.mean()
    result[valid] = means.shrunk(slots[valid], detrended[valid]) - shift
    return result


def _ahead(origins: Hours, horizon: int) -> Hours:
    """The hour indices forecast from each origin (rows) for 1..horizon hours ahead."""
    return origins[:, None] + np.arange(horizon)[None, :]


class SeasonalEts:
    """The model, fitted once per refit on `values`; it then forecasts from any origin with the
    same parameters (the rolling-origin backtest and the live forecast alike)."""

    def __init__(self, values: Array, hour_of_week: Hours, horizon: int) -> None:
        self.hour_of_week = hour_of_week
        self.horizon = horizon
        self.profile = hour_of_week_profile(values, hour_of_week)
        self.ets = AutoETS(model="ANN")
        self.ets.fit(self._adjusted(values))
        # Its own errors over the hours fitted on, each hour scored against the profile
        # estimated without it, give the interval.
        origins = np.arange(1, values.size - horizon + 1)
        ahead = _ahead(origins, horizon)
        honest = left_out_profile(values, hour_of_week, self.profile)
        levels = self._levels(values)[origins][:, None]
        errors = values[ahead] - (levels + honest[ahead])
        self.error_low, self.error_high = (np.nanquantile(errors, q, axis=0)
                                           for q in ((100 - LEVEL) / 200, (100 + LEVEL) / 200))

    def _adjusted(self, values: Array) -> Array:
        return filled(values - self.profile[self.hour_of_week[: values.size]])

    def _levels(self, values: Array) -> Array:
        """levels[t]: the smoothed level after hour t-1, i.e. what the model forecasts from an
        origin at t for every hour ahead (before the profile is added)."""
        adjusted = self._adjusted(values)
        fitted = self.ets.forward(adjusted, h=1, fitted=True)["fitted"]
        last = self.ets.forward(adjusted, h=1)["mean"]
        return np.append(np.asarray(fitted, dtype=float), last[0])

    def _means(self, values: Array, origins: Hours) -> Array:
        levels = self._levels(values)
        return levels[origins][:, None] + self.profile[self.hour_of_week[_ahead(
            origins, self.horizon)]]

    def predict(self, values: Array, origins: Hours) -> Prediction:
        """Forecasts from each origin (an hour index: forecasting it and the hours after it,
        from the figures before it); `values` must reach the last origin."""
        mean = self._means(values, origins)
        return Prediction(mean, mean + self.error_low, mean + self.error_high)


def _sigma_until(differences: Array, origins: Hours, count_offset: int) -> Array:
    """Per origin, the RMS of `differences` before it, as statsforecast divides it."""
    squared = np.concatenate([[0.0], np.cumsum(np.nan_to_num(differences) ** 2)])
    return np.sqrt(squared[origins] / np.maximum(origins - count_offset, 1))


def last_value(values: Array, origins: Hours, horizon: int) -> Prediction:
    """The latest figure before each origin, held; normal interval growing with √h."""
    series = filled(values)
    mean = np.repeat(series[origins - 1][:, None], horizon, axis=1)
    changes = np.diff(series, prepend=np.nan)
    # statsforecast's Naive: residuals over the series before the origin, divided by n - 1.
    half = Z80 * _sigma_until(changes, origins, 1)[:, None] * np.sqrt(np.arange(1, horizon + 1))
    return Prediction(mean, mean - half, mean + half)


def same_hour_last_week(values: Array, origins: Hours, horizon: int) -> Prediction:
    """The figure 168 hours before each hour ahead; normal interval from week-to-week changes."""
    series = filled(values)
    mean = series[_ahead(origins, horizon) - WEEK_HOURS]
    changes = np.full(series.size, np.nan)
    changes[WEEK_HOURS:] = series[WEEK_HOURS:] - series[:-WEEK_HOURS]
    half = Z80 * _sigma_until(changes, origins, WEEK_HOURS)[:, None]
    return Prediction(mean, mean - half, mean + half)


def baseline(method: str, values: Array, origins: Hours, horizon: int) -> Prediction:
    """One of the two baselines by name."""
    if method == LAST_VALUE:
        return last_value(values, origins, horizon)
    return same_hour_last_week(values, origins, horizon)
