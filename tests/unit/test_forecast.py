"""The forecasting rules without a database: the backtest's verdict on series whose nature is
known, the baselines against statsforecast's own, the item's range, the region's sum."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import numpy as np
import pytest
from statsforecast.models import Naive, SeasonalNaive

from definitions import load_catalogue
from forecast.backtest import run_backtest
from forecast.bounds import Bounds
from forecast.items import bounds_of, forecast_items, has_regional_forecast
from forecast.methods import LAST_VALUE, MODEL, SAME_HOUR_LAST_WEEK
from forecast.model import last_value, same_hour_last_week
from forecast.outlook import outlook
from forecast.series import Grid, carried_forward, summed
from stack.patterns import Wanderer

# Five weeks of hours, starting on a Monday at 00:00 in Amsterdam (23:00 UTC on Sunday).
GRID = Grid(datetime(2026, 9, 27, 22, tzinfo=UTC), 35 * 24)


def generated(kind: str, level: float, seed: int, missing: float = 0.03) -> np.ndarray:
    """A series with a known daily and weekly rhythm (stack/patterns.py), some hours missing."""
    rng = random.Random(seed)
    wanderer = Wanderer(kind, level, 0, 10 * level, whole=True)
    values = np.array([wanderer.step(m, rng) for m in GRID.moments(0, GRID.hours)])
    values[[rng.random() < missing for _ in range(GRID.hours)]] = np.nan
    return values


def random_walk(seed: int) -> np.ndarray:
    """Pure noise: every hour's change is random, so nothing but the present figure is known."""
    steps = np.random.default_rng(seed).normal(0, 2, GRID.hours)
    return np.round(300 + np.cumsum(steps))


@pytest.mark.parametrize(("kind", "level"), [("ed-busy", 30), ("hap-uitloop", 8),
                                             ("consults-free", 12), ("beds-free", 40)])
def test_a_known_pattern_beats_both_baselines(kind: str, level: float) -> None:
    tested = run_backtest(generated(kind, level, seed=11), GRID.hour_of_week(4))
    mae = {m: s.mae for m, s in tested.scores.items() if s.mae is not None}
    assert tested.reliable, tested.reason
    assert mae[MODEL] < mae[LAST_VALUE] and mae[MODEL] < mae[SAME_HOUR_LAST_WEEK], mae
    assert tested.origins == 42 and tested.points > 150
    # The 80 % interval is about honest on the week it was not fitted on.
    assert 0.65 <= (tested.scores[MODEL].coverage or 0) <= 0.95


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_pure_noise_does_not_beat_the_last_value(seed: int) -> None:
    values = random_walk(seed)
    made = outlook(values, GRID, Bounds(0, 1000, whole=True))
    assert not made.reliable
    assert made.method == LAST_VALUE == made.backtest.better_baseline
    assert "not better beyond chance" in made.reason
    # The baseline's figure is what is shown: the latest figure, held.
    assert [p.value for p in made.points] == [values[-1]] * 4


def test_noise_around_a_level_is_forecast_by_its_level() -> None:
    """White noise is not a random walk: the model forecasts its level, and that does beat
    the last value (which carries each hour's noise forward): an honest win, shown."""
    values = np.round(50 + np.random.default_rng(4).normal(0, 5, GRID.hours))
    tested = run_backtest(values, GRID.hour_of_week(4))
    assert tested.reliable
    assert abs(outlook(values, GRID, Bounds(0, 500, True)).points[0].value - 50) < 4


def test_too_little_history_answers_with_the_last_value() -> None:
    values = generated("ed-busy", 30, seed=5)
    values[: -10 * 24] = np.nan  # ten days only
    made = outlook(values, GRID, Bounds(0, 500, True))
    assert not made.reliable and made.method == LAST_VALUE
    assert "too little history" in made.reason


def test_baselines_are_statsforecasts() -> None:
    values = generated("beds-free", 40, seed=3, missing=0.0)
    origin = GRID.hours - 20
    for ours, theirs in ((last_value, Naive()), (same_hour_last_week, SeasonalNaive(168))):
        mine = ours(values, np.array([origin]), 4).row(0)
        reference = theirs.forecast(values[:origin], h=4, level=[80])
        assert np.allclose(mine.mean, reference["mean"])
        assert np.allclose(mine.lower, reference["lo-80"])
        assert np.allclose(mine.upper, reference["hi-80"])


def test_forecast_stays_in_the_items_range() -> None:
    """Free beds running out: the figures fall towards 0; no forecast or interval below it,
    counts' intervals in whole beds."""
    values = generated("beds-free", 3, seed=8)
    values[-6:] = [3, 2, 1, 1, 0, 0]
    beds = load_catalogue().get("hospital.beds.ic.available")
    assert beds is not None
    made = outlook(values, GRID, bounds_of(beds))
    for point in made.points:
        assert 0 <= point.lower <= point.value <= point.upper <= 500
        assert point.lower == int(point.lower) and point.upper == int(point.upper)


def test_a_regions_sum_carries_a_missing_report_forward() -> None:
    a = np.array([5.0, np.nan, 7.0, np.nan, np.nan, np.nan])
    b = np.array([1.0, 1.0, np.nan, np.nan, np.nan, np.nan])
    assert summed([a, b], carry_hours=2).tolist()[:5] == [6, 6, 8, 8, 7]
    assert np.isnan(summed([a, b], carry_hours=2)[5])
    assert np.isnan(carried_forward(np.array([np.nan, 1.0]))[0])


def test_hour_of_week_is_local_time() -> None:
    # 2026-09-27 22:00 UTC is Monday 00:00 in Amsterdam (summer time).
    assert GRID.hour_of_week()[0] == 0
    assert GRID.hour_of_week()[24 * 5 + 20] == 5 * 24 + 20  # Saturday 20:00


def test_which_items_have_forecasts_and_regional_ones() -> None:
    items = {d.code: d for d in forecast_items(load_catalogue())}
    for code in ("hospital.beds.ic.available", "hospital.seh.nedocs_score",
                 "hap.uitloop.phone.queue", "gp.consults.u3.free", "ambulance.available.a1"):
        assert code in items
    assert "hospital.seh.status" not in items and "ggz.doctor.available" not in items
    assert has_regional_forecast(items["hospital.beds.ic.available"])
    assert not has_regional_forecast(items["hospital.seh.nedocs_score"])
    assert bounds_of(items["hospital.beds.ic.available"], 3).high == 1500
