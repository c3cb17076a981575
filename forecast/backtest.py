"""Rolling-origin backtest and the verdict: is the model worth showing?

The last `window` hours of the history are held out. The model is fitted on the hours before
them; then from every `step`-th hour of the window (the origin) the model, and each baseline,
forecasts the next `horizon` hours from the figures up to the origin only, and is scored
against what came: mean absolute error (MAE) and the share of figures inside the 80 %
interval (coverage). The model keeps the parameters fitted before the window (rolling origin
without re-estimation, Tashman 2000): the same way it is used live between refits.

The verdict: the model is shown only when it beats the better baseline (the one with the lower
MAE) by more than chance. The per-origin mean absolute errors of the two are compared with a
one-sided paired test (Diebold & Mariano 1995, on non-overlapping origins: `step` =
`horizon`) at 5 %; a tie (a random walk, where nothing beats the last value) is not a win.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from forecast.methods import BASELINES, LAST_VALUE, MODEL
from forecast.model import MIN_FIT_HOURS, Hours, Prediction, SeasonalEts, baseline
from forecast.series import WEEK_HOURS, Array

HORIZON = 4
WINDOW = WEEK_HOURS
STEP = HORIZON
# One-sided 5 % critical value of the standard normal distribution.
CRITICAL_T = 1.645
# Origins whose target hours hold fewer figures than this share are skipped (gaps).
MIN_TARGET_SHARE = 0.5


@dataclass(frozen=True)
class Score:
    """A method's errors over the backtest."""

    mae: float | None
    coverage: float | None


@dataclass(frozen=True)
class Backtest:
    """The outcome of one series' backtest. `reliable`: show the model; else the baseline
    `better_baseline`. `reason` says why, in words a coordinator can read."""

    reliable: bool
    reason: str
    better_baseline: str
    scores: dict[str, Score] = field(default_factory=dict)
    origins: int = 0
    points: int = 0
    t_statistic: float | None = None

    def as_json(self) -> dict[str, object]:
        """The stored and served form."""
        return {
            "origins": self.origins, "points": self.points, "better_baseline":
            self.better_baseline, "t_statistic": _round(self.t_statistic),
            "mae": {m: _round(s.mae) for m, s in self.scores.items()},
            "coverage": {m: _round(s.coverage) for m, s in self.scores.items()},
        }


def _round(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else round(value, 4)


def too_short(history_hours: int) -> Backtest:
    """The verdict for a series with too little history to fit and test."""
    return Backtest(False, f"too little history to test a forecast: {history_hours} hours "
                           f"with a figure, {MIN_FIT_HOURS + WINDOW} needed (three weeks)",
                    LAST_VALUE)


def _scores(prediction: Prediction, actual: Array) -> tuple[Score, Array]:
    """The method's score over all origins, and its mean absolute error per origin."""
    seen = ~np.isnan(actual)
    errors = np.abs(prediction.mean - actual)
    inside = (prediction.lower <= actual) & (actual <= prediction.upper)
    per_origin = np.nanmean(errors, axis=1)
    return Score(float(errors[seen].mean()), float(inside[seen].mean())), per_origin


def run_backtest(values: Array, hour_of_week: Hours, *, horizon: int = HORIZON,
                 window: int = WINDOW, step: int = STEP) -> Backtest:
    """The backtest of one series (`hour_of_week` covers its hours)."""
    history = int(np.count_nonzero(~np.isnan(values)))
    first = values.size - window
    if first < MIN_FIT_HOURS or np.count_nonzero(~np.isnan(values[:first])) < MIN_FIT_HOURS:
        return too_short(history)
    origins = np.arange(first, values.size - horizon + 1, step)
    actual = values[origins[:, None] + np.arange(horizon)[None, :]]
    # Origins whose hours ahead are mostly without figures (a gap) cannot score anything.
    kept = np.count_nonzero(~np.isnan(actual), axis=1) >= MIN_TARGET_SHARE * horizon
    origins, actual = origins[kept], actual[kept]
    if origins.size < 2:
        return Backtest(False, "too few hours with figures in the last week to test a "
                               "forecast", LAST_VALUE, origins=int(origins.size))
    model = SeasonalEts(values[:first], hour_of_week, horizon)
    predictions = {MODEL: model.predict(values, origins)}
    predictions.update({m: baseline(m, values, origins, horizon) for m in BASELINES})
    scored = {m: _scores(p, actual) for m, p in predictions.items()}
    return verdict({m: s for m, (s, _) in scored.items()},
                   {m: e for m, (_, e) in scored.items()}, int(np.count_nonzero(
                       ~np.isnan(actual))))


def verdict(scores: dict[str, Score], per_origin: dict[str, Array], points: int) -> Backtest:
    """Compare the model with the better baseline (see the module's docstring)."""
    origins = int(per_origin[MODEL].size)
    better = min(BASELINES, key=lambda m: scores[m].mae or 0.0)
    gain = per_origin[better] - per_origin[MODEL]
    spread = float(gain.std(ddof=1))
    mean_gain = float(gain.mean())
    t = mean_gain / (spread / math.sqrt(origins)) if spread > 0 else (
        math.inf if mean_gain > 0 else 0.0)
    model_mae, better_mae = scores[MODEL].mae or 0.0, scores[better].mae or 0.0
    words = (f"backtest over {origins} origins: MAE {model_mae:.2f} for the forecast, "
             f"{better_mae:.2f} for '{better.replace('-', ' ')}'")
    if t > CRITICAL_T:
        return Backtest(True, f"{words}; the forecast is better, beyond chance", better,
                        scores, origins, points, t)
    return Backtest(False, f"{words}; the forecast is not better beyond chance, so the "
                           "baseline is shown", better, scores, origins, points, t)
