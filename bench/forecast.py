"""Forecasts on the national data set: one refit timed, the forecast query next to raw SQL,
and the backtest table (MAE per item class against the two baselines).

Every figure here comes from generated series (bench/dataset.py with stack/patterns.py): the
table says how the model does on those rhythms, not on real capacity.
"""

from __future__ import annotations

import os
import statistics
from collections import defaultdict
from dataclasses import asdict
from datetime import timedelta
from typing import Any

import psycopg

from api.forecast_routes import forecast_answer
from bench.dataset import NationalDataSet
from bench.measure import Comparison, compare
from definitions import load_catalogue
from forecast.methods import LAST_VALUE, MODEL, SAME_HOUR_LAST_WEEK
from forecast.refit import refit
from stack.patterns import item_class
from storage.forecasts import get_forecast

AsyncConn = psycopg.AsyncConnection[Any]
RAW_FORECAST = "SELECT * FROM forecast WHERE scope = %s AND subject = %s AND definition = %s"


def history_days(data: NationalDataSet) -> int:
    """Whole days of hourly history the data set holds."""
    return int((data.scale.history + data.scale.hourly_history) / timedelta(days=1))


def fit(conn: psycopg.Connection[Any], data: NationalDataSet) -> dict[str, Any]:
    """One refit of every series (all locations × items, and the regions' sums), on as many
    processes as the machine has cores."""
    workers = os.cpu_count() or 1
    report = refit(conn, data.catalogue, days=history_days(data), now=data.end,
                   workers=workers)
    return {**asdict(report), "workers": workers, "history_days": history_days(data)}


def backtest_table(conn: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    """Per item class (stack/patterns.py), over the location series that could be tested:
    mean MAE and interval coverage of the model and the two baselines, the median of the
    model's MAE over the better baseline's, and the share shown as a forecast."""
    rows = conn.execute(
        "SELECT definition, reliable, backtest FROM forecast WHERE scope = 'location'"
        " AND (backtest->>'origins')::int > 0").fetchall()
    by_class: dict[str, list[tuple[bool, dict[str, Any]]]] = defaultdict(list)
    for code, reliable, backtest in rows:
        by_class[item_class(code)].append((reliable, backtest))
    table = []
    for kind, series in sorted(by_class.items()):
        mae = {m: [b["mae"][m] for _, b in series if b["mae"].get(m) is not None]
               for m in (MODEL, LAST_VALUE, SAME_HOUR_LAST_WEEK)}
        coverage = {m: [b["coverage"][m] for _, b in series
                        if b["coverage"].get(m) is not None] for m in mae}
        ratios = [b["mae"][MODEL] / b["mae"][b["better_baseline"]] for _, b in series
                  if b["mae"].get(b["better_baseline"])]
        table.append({
            "class": kind, "series": len(series),
            "shown_as_forecast": round(sum(r for r, _ in series) / len(series), 3),
            "mae_model": _mean(mae[MODEL]), "mae_last_value": _mean(mae[LAST_VALUE]),
            "mae_same_hour_last_week": _mean(mae[SAME_HOUR_LAST_WEEK]),
            "model_vs_better_baseline": round(statistics.median(ratios), 3) if ratios else None,
            "coverage_model": _mean(coverage[MODEL]),
            "coverage_last_value": _mean(coverage[LAST_VALUE]),
            "coverage_same_hour_last_week": _mean(coverage[SAME_HOUR_LAST_WEEK]),
        })
    return table


def _mean(values: list[float]) -> float | None:
    return round(statistics.fmean(values), 3) if values else None


async def forecast_query(conn: AsyncConn) -> Comparison:
    """GET /v1/forecast's work (the stored row, the answer built) next to a raw SELECT of the
    row; the runs cycle through every stored series."""
    cur = await conn.execute("SELECT scope, subject, definition FROM forecast"
                             " ORDER BY scope, subject, definition")
    keys = await cur.fetchall()
    catalogue = load_catalogue()

    async def platform(n: int) -> Any:
        scope, subject, code = keys[n % len(keys)]
        row = await get_forecast(conn, scope=scope, subject=subject, definition=code)
        assert row is not None
        definition = catalogue.get(code)
        assert definition is not None
        return forecast_answer(row, definition, 4)

    async def raw(n: int) -> Any:
        cur = await conn.execute(RAW_FORECAST, keys[n % len(keys)])
        return await cur.fetchone()

    return await compare("forecast of one series", platform, raw,
                         note=f"cycles through the {len(keys)} stored series")
