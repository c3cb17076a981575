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
                "batch_p99_ms")


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


def render(results: dict[str, Any]) -> str:
    """The human-readable report."""
    machine, data = results["machine"], results["dataset"]
    sink = dict(results["sink"], sink=f"upsert_observations, {results['sink']['batch_size']}"
                                      f"/batch ({results['sink']['rows']} rows)")
    parts = [
        f"Machine: {machine['cores']} cores, {machine['cpu']}; {machine['postgres']}"
        f" ({results['database']}, storage path {machine['storage_path']})",
        "Data set: " + ", ".join(f"{name} {count:,}" for name, count in data["rows"].items()),
        f"Locations per sector: {data['locations']} (the 25 ambulance ones are the RAV regions"
        f" the migrations seed); mobile units: {data['units']}",
        f"History: {data['history']}, hourly {data.get('hourly_history', 'none')}"
        f" ({data['positions_every']}); loaded in"
        f" {data['load_seconds']:.1f} s",
        "",
        "Queries (ms; raw = minimal hand-written SQL on the same data, same run;"
        " ratio = platform / raw):",
        _table(QUERY_COLUMNS, results["queries"]),
        "",
        "Sink (ratio = COPY rows/s ÷ upsert rows/s; COPY into an empty copy of the table):",
        _table(SINK_COLUMNS, [sink]),
    ]
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
    notes = [f"  {q['query']}: {q['note']}" for q in results["queries"] if q.get("note")]
    return "\n".join([*parts, "", "Notes:", *notes, ""]) if notes else "\n".join(parts) + "\n"


def write(results: dict[str, Any], path: Path) -> None:
    """Print the table and write the figures as JSON to `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    sys.stdout.write(render(results))
    sys.stdout.write(f"\nFigures written to {path}\n")
