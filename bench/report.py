"""The bench's output: a table on stdout and the same figures as JSON."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

QUERY_COLUMNS = ("query", "p50_ms", "p99_ms", "raw_p50_ms", "raw_p99_ms", "ratio_p50",
                 "ratio_p99")
PUSH_COLUMNS = ("push", "with_auth_cpu_ms", "without_auth_cpu_ms", "ratio_cpu",
                "with_auth_p50_ms", "without_auth_p50_ms", "ratio_p50", "with_auth_p99_ms",
                "without_auth_p99_ms", "ratio_p99", "with_auth_req_s", "without_auth_req_s")
BACKTEST_COLUMNS = ("class", "series", "shown_as_forecast", "mae_model", "mae_last_value",
                    "mae_same_hour_last_week", "model_vs_better_baseline", "coverage_model",
                    "coverage_last_value", "coverage_same_hour_last_week")
SINK_COLUMNS = ("sink", "upsert_rows_per_s", "copy_rows_per_s", "ratio", "batch_p50_ms",
                "batch_p99_ms", "refresh_p50_ms", "refresh_p99_ms")
BOARD_COLUMNS = ("live board", "p50_ms", "p99_ms", "before_p50_ms", "before_p99_ms",
                 "to_before_p50", "to_before_p99", "under_load_p50_ms", "under_load_p99_ms",
                 "before_under_load_p50_ms", "before_under_load_p99_ms",
                 "under_load_to_before_p50", "under_load_to_before_p99")
# The goals (ms, server side, measured on its machine) next to what the bench measured
# there before: as shares of "before" they can be checked on any machine, in the same run.
GOALS = {"one region": ("p99", 10.0, 51.0), "national": ("p50", 20.0, 100.0)}


def _by_name(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row["query"]: row for row in rows}


def live_board(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The live availability per scope, without and with the background load: now, before
    (the per-figure query, same run, same load), the ratios now ÷ before, and the issue's goal
    as a share of before."""
    now = _by_name(results["queries"])
    loaded = _by_name(results["queries_under_load"]["queries"])
    board = []
    for scope, (share, goal_ms, before_ms) in GOALS.items():
        name = f"live availability, {scope}"
        mine, old = now[name], now[f"{name} (before)"]
        load, old_load = loaded[f"{name} (under load)"], loaded[f"{name} (before) (under load)"]
        board.append({
            "live board": scope, "p50_ms": mine["p50_ms"], "p99_ms": mine["p99_ms"],
            "before_p50_ms": old["p50_ms"], "before_p99_ms": old["p99_ms"],
            "to_before_p50": round(mine["p50_ms"] / old["p50_ms"], 3),
            "to_before_p99": round(mine["p99_ms"] / old["p99_ms"], 3),
            "under_load_p50_ms": load["p50_ms"], "under_load_p99_ms": load["p99_ms"],
            "before_under_load_p50_ms": old_load["p50_ms"],
            "before_under_load_p99_ms": old_load["p99_ms"],
            "under_load_to_before_p50": round(load["p50_ms"] / old_load["p50_ms"], 3),
            "under_load_to_before_p99": round(load["p99_ms"] / old_load["p99_ms"], 3),
            "goal": f"{share} <= {goal_ms:g} ms where before was {before_ms:g} ms: "
                    f"<= {goal_ms / before_ms:.3f} of before",
        })
    return board


def _table(columns: tuple[str, ...], rows: list[dict[str, Any]]) -> str:
    cells = [[str(row.get(c, "")) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]

    def line(values: list[str]) -> str:
        first = values[0].ljust(widths[0])
        rest = (v.rjust(w) for v, w in zip(values[1:], widths[1:], strict=True))
        return " | ".join([first, *rest])

    rule = "-+-".join("-" * w for w in widths)
    return "\n".join([line(list(columns)), rule, *(line(r) for r in cells)])


def _push_rows(push: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for key, label in (("c1", "one at a time (1 connection)"), ("c8", "8 connections")):
        figures = push[key]
        auth, open_ = figures["with_auth"], figures["without_auth"]
        rows.append({"push": label, "with_auth_cpu_ms": auth["cpu_ms_per_request"],
                     "without_auth_cpu_ms": open_["cpu_ms_per_request"],
                     "ratio_cpu": figures["ratio_cpu"],
                     "with_auth_req_s": auth["requests_per_s"],
                     "without_auth_req_s": open_["requests_per_s"],
                     "with_auth_p50_ms": auth["p50_ms"], "without_auth_p50_ms": open_["p50_ms"],
                     "with_auth_p99_ms": auth["p99_ms"], "without_auth_p99_ms": open_["p99_ms"],
                     "ratio_p50": figures["ratio_p50"], "ratio_p99": figures["ratio_p99"]})
    return rows


def _e2e_lines(e2e: dict[str, Any]) -> list[str]:
    single, batched, replay = e2e["single"], e2e["batched"], e2e["replay"]
    lines = ["", "End to end (API -> Kafka -> store, all on this machine with wrk):",
             f"  single SANER reports: {single['accepted_reports_per_s']} accepted/s, "
             f"{single['stored_reports_per_s']} stored/s over the same window; backlog at the "
             f"end {single['backlog_reports_at_end']} reports, drained in "
             f"{single['drain_seconds']} s (push p50 {single['push_p50_ms']} ms, p99 "
             f"{single['push_p99_ms']} ms)"]
    if "cpu_ms_per_report" in single:
        cpu = single["cpu_ms_per_report"]
        parts = ", ".join(f"{part} {ms}" for part, ms in cpu.items() if part != "total")
        lines.append(f"  CPU per stored report: {cpu['total']} ms ({parts}): at most "
                     f"{single['ceiling_reports_per_s']:,} reports/s on this machine's cores")
    if "sse" in e2e:
        sse = e2e["sse"]
        lines.append(f"  /v1/stream fan-out to {sse['clients']} clients, {sse['figures']} figures: "
                     f"stored -> received p50 {sse['stored_to_received_p50_ms']} ms, p99 "
                     f"{sse['stored_to_received_p99_ms']} ms; {sse['events_missed']} of "
                     f"{sse['events_expected']} events missed")
    lines += [f"  push -> queryable at {lat['load']}: p50 {lat['push_to_queryable_p50_ms']} ms, "
              f"p99 {lat['push_to_queryable_p99_ms']} ms ({lat['background_reports_per_s']} "
              f"reports/s in the background, {lat['probes']} probes)" for lat in e2e["latency"]]
    lines += [f"  batched spreadsheets ({batched['figures_per_request']} figures each): "
              f"{batched['stored_figures_per_s']:,} figures/s stored end to end; raw COPY into "
              f"the same table {batched['copy_rows_per_s']:,} rows/s; share "
              f"{batched['share_of_copy']:.1%}",
              f"  replay of {replay['hours_replayed']:g} h ({replay['messages']:,} messages, "
              f"{replay['figures']:,} figures) in {replay['seconds']} s: "
              f"{replay['messages_per_s']:,} messages/s, {replay['figures_per_s']:,} figures/s; "
              f"a national day ({replay['national_day_figures']:,} figures) would take "
              f"{replay['national_day_minutes_at_this_rate']} min"]
    return lines


def _forecast_lines(forecast: dict[str, Any]) -> list[str]:
    fit = forecast["fit"]
    total = fit["read_seconds"] + fit["fit_seconds"] + fit["write_seconds"]
    return ["", f"Forecasts: one refit of {fit['series']:,} series ({fit['locations']:,} "
                f"location x item, {fit['regions']} region sums; {fit['history_days']} days of "
                f"hourly history) in {total:.1f} s on {fit['workers']} "
                f"processes (read {fit['read_seconds']} s, fit and backtest "
                f"{fit['fit_seconds']} s, write {fit['write_seconds']} s); "
                f"{fit['reliable']:,} shown as a forecast, the rest as the better baseline",
            "Backtest per item class (generated data: stack/patterns.py rhythms, not real "
            "capacity; MAE in the items' units, mean over series; ratio = median of model MAE "
            "/ better baseline MAE; coverage of the 80 % intervals):",
            _table(BACKTEST_COLUMNS, forecast["backtest"])]


def _queries_lines(results: dict[str, Any]) -> list[str]:
    lines = ["", "Queries (ms; raw = minimal hand-written SQL on the same data, same run;"
                 " ratio = platform / raw):", _table(QUERY_COLUMNS, results["queries"])]
    if "queries_under_load" in results:
        loaded = results["queries_under_load"]
        back = loaded["background"]
        lines += ["", f"Under load (a process of its own: {back['queries_per_s']} live queries/s "
                      f"of {back['target_queries_per_s']:g} asked, p50 {back['query_p50_ms']} ms"
                      f", p99 {back['query_p99_ms']} ms; {back['writes_per_s']} messages "
                      "written/s; the live-state refresher every second, at most "
                      f"{back['most_marks_waiting']} marks waiting):",
                  _table(QUERY_COLUMNS, loaded["queries"])]
    if "live_board" in results:
        lines += ["", "Live board (same run; before = the per-figure query the API used before;"
                      " to_before = now / before):", _table(BOARD_COLUMNS, results["live_board"])]
        lines += [f"  goal, {row['live board']}: {row['goal']}" for row in results["live_board"]]
    return lines


def _sink_lines(results: dict[str, Any]) -> list[str]:
    figures = results["sink"]
    sink = dict(figures, sink=f"upsert_observations, {figures['batch_size']}"
                              f"/batch ({figures['rows']} rows)")
    lines = ["", "Sink (ratio = COPY rows/s ÷ upsert rows/s; COPY into an empty copy of the table;"
                 " refresh = the live-state refresher after each batch, off the write):",
             _table(SINK_COLUMNS, [sink]),
             f"  refresher time ÷ write time: {figures['refresh_share_of_write']}"]
    marks = figures.get("live_state_marks", {})
    if "skipped" in marks:
        lines.append(f"  live state's cost to the write: not measured ({marks['skipped']})")
    elif marks:
        lines.append(
            f"  live state's cost to the write ({marks['rows']} more rows, batches alternately "
            f"with and without its triggers): batch p50 {marks['with_marks_p50_ms']} vs "
            f"{marks['without_marks_p50_ms']} ms; with ÷ without: wall {marks['wall_ratio']} "
            f"(pairs' median {marks['wall_ratio_pair_median']}), database CPU "
            f"{marks['server_cpu_ratio']}")
    return lines


def render(results: dict[str, Any]) -> str:
    """The human-readable report (of the parts that ran)."""
    parts: list[str] = []
    if "machine" in results:
        machine, data = results["machine"], results["dataset"]
        parts += [
            f"Machine: {machine['cores']} cores, {machine['cpu']}; {machine['postgres']}"
            f" ({results['database']}, storage path {machine['storage_path']})",
            "Data set: " + ", ".join(f"{name} {count:,}" for name, count in data["rows"].items()),
            f"Locations per sector: {data['locations']} (the 25 ambulance ones are the RAV"
            f" regions the migrations seed); mobile units: {data['units']}",
            f"History: {data['history']}, hourly {data.get('hourly_history', 'none')}"
            f" ({data['positions_every']}); loaded in {data['load_seconds']:.1f} s",
        ]
    if "queries" in results:
        parts += _queries_lines(results)
    if "sink" in results:
        parts += _sink_lines(results)
    if "forecast" in results:
        parts += _forecast_lines(results["forecast"])
    if "push" in results:
        push = results["push"]
        parts += ["", f"Push path, one SANER report per request, wrk ({push['rounds']} rounds of "
                      f"{push['seconds_per_run']} s each, medians; ratio = with ÷ without "
                      "authentication, per round, median of the rounds):",
                  _table(PUSH_COLUMNS, _push_rows(push))]
    if "e2e" in results:
        parts += _e2e_lines(results["e2e"])
    rows = results.get("queries", []) + results.get("queries_under_load", {}).get("queries", [])
    notes = [f"  {q['query']}: {q['note']}" for q in rows if q.get("note")]
    return "\n".join([*parts, "", "Notes:", *notes, ""]) if notes else "\n".join(parts) + "\n"


def write(results: dict[str, Any], path: Path) -> None:
    """Print the table and write the figures as JSON to `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    sys.stdout.write(render(results))
    sys.stdout.write(f"\nFigures written to {path}\n")
