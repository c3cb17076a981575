"""`python -m bench` (`make bench`): load a national data set, time the live queries and the sink.

Starts its own embedded PostgreSQL (state in `.bench/`, port 35532 or BENCH_POSTGRES_PORT) unless
DATABASE_URL is set, then that database is used (use a scratch one: the bench replaces its own
`bench-*` rows there). The figures go to stdout and to `.bench/results.json`. Not a test:
nothing is asserted about speed.

`--only queries` (or `sink`, `forecast`, `push`, `e2e`; repeatable or comma-separated) runs only
those parts, `--skip push,e2e` all but those; results.json then holds only theirs (`parts` says
which ran).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import platform
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import psycopg
import structlog

from bench import forecast as forecasts
from bench import queries
from bench.background import Background, BackgroundPlan, write_messages
from bench.database import STATE_DIR, BenchDatabase, bench_database
from bench.dataset import SECTOR_SHAPE, UNIT_POSITION_EVERY, NationalDataSet
from bench.e2e import measure_e2e
from bench.load import LoadReport, load
from bench.measure import Comparison
from bench.push import measure_push
from bench.report import live_board, write
from bench.sink import fresh_rows, measure_marks, measure_sink
from core.logs import configure_logging
from storage.migrate import migrate
from storage.paths import current_path

SEED = 20261122
RESULTS = STATE_DIR / "results.json"
PARTS = ("queries", "sink", "forecast", "push", "e2e")
# Fresh observations (the hours after the history): the sink's, then as many again for the
# live state's cost to the write, then the background writes of the queries under load.
SINK_ROWS = 100_000
BACKGROUND_ROWS = 30_000
# The background of the queries under load: live queries per second (a ZCV board each), and
# provider messages written per second (the national rate of issue 9: 20 reports a second).
BACKGROUND_QUERIES_PER_S = 200.0
BACKGROUND_WRITES_PER_S = 20.0

log = structlog.get_logger()


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    """What the figures were measured on."""
    version = conn.execute("SELECT version()").fetchone()
    return {
        "cores": os.cpu_count(), "cpu": _cpu_model(), "python": platform.python_version(),
        "postgres": str(version[0]).split(" on ")[0] if version else "unknown",
        "storage_path": current_path(conn),
    }


def dataset_summary(data: NationalDataSet, loaded: LoadReport) -> dict[str, Any]:
    """Sizes of the data set as loaded."""
    kinds = sorted({u.kind for u in data.units})
    return {
        "seed": data.seed, "end": data.end.isoformat(),
        "history": f"{data.scale.history.total_seconds() / 86400:g} days",
        "hourly_history": f"{data.scale.hourly_history.total_seconds() / 86400:g} days before",
        "positions_every": f"positions every {int(UNIT_POSITION_EVERY.total_seconds() // 60)}"
                           " min, not 5: 1.7M rows would only slow the load",
        "locations": {s: len(data.sites_of(s)) for s in (*SECTOR_SHAPE, "ambulance")},
        "units": {k: len(data.units_of(k)) for k in kinds},
        "rows": loaded.rows, "load_seconds": round(loaded.total_seconds, 1),
        "load_steps_seconds": {k: round(v, 1) for k, v in loaded.seconds.items()},
    }


async def _queries(conn: psycopg.AsyncConnection[Any],
                   data: NationalDataSet) -> list[Comparison]:
    before = "per-figure rows, before"
    return [
        await queries.live_region(conn, data),
        await queries.live_national(conn),
        await queries.live_region(conn, data, way=before, suffix=" (before)"),
        # A national query took 100 ms and more before: fewer runs keep the bench short.
        await queries.live_national(conn, way=before, runs=50, suffix=" (before)"),
        await queries.nearest_ambulances(conn, data, only_available=True),
        await queries.nearest_ambulances(conn, data, only_available=False),
    ]


async def _under_load(url: str, data: NationalDataSet,
                      rows: list[tuple[Any, ...]]) -> dict[str, Any]:
    """The live queries again, now and as before, while the background load runs in a
    process of its own."""
    messages = write_messages(rows, STATE_DIR / "background.pickle")
    plan = BackgroundPlan(url=url, regions=tuple(sorted(data.catalogue.regions)),
                          rate=BACKGROUND_QUERIES_PER_S, writes_per_s=BACKGROUND_WRITES_PER_S,
                          messages_file=messages)
    before, loaded = "per-figure rows, before", " (under load)"
    try:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            with Background(plan) as background:
                comparisons = [
                    await queries.live_region(conn, data, suffix=loaded),
                    await queries.live_national(conn, suffix=loaded),
                    await queries.live_region(conn, data, way=before,
                                              suffix=f" (before){loaded}"),
                    await queries.live_national(conn, way=before, runs=50,
                                                suffix=f" (before){loaded}"),
                ]
    finally:
        messages.unlink(missing_ok=True)
    for c in comparisons:
        log.info("bench_query", **c.figures())
    return {"background": background.figures, "queries": [c.figures() for c in comparisons]}


def _settle() -> None:
    # What the bench holds (the data set, the fresh rows) is not what an API process holds:
    # keep the garbage collector from walking it in the middle of a timed query.
    gc.collect()
    gc.freeze()


async def measure(db: BenchDatabase, data: NationalDataSet, parts: set[str]) -> dict[str, Any]:
    """The query and sink measurements, in the order the brief lists them."""
    results: dict[str, Any] = {}
    async with await psycopg.AsyncConnection.connect(db.url, autocommit=True) as conn:
        comparisons: list[Comparison] = []
        if "queries" in parts:
            _settle()
            comparisons += await _queries(conn, data)
        if "forecast" in parts:
            comparisons.append(await forecasts.forecast_query(conn))
        for c in comparisons:
            log.info("bench_query", **c.figures())
        if comparisons:
            results["queries"] = [c.figures() for c in comparisons]
        rows = fresh_rows(data, 2 * SINK_ROWS + BACKGROUND_ROWS)
        if "sink" in parts:
            sink = await measure_sink(conn, data, rows[:SINK_ROWS])
            log.info("bench_sink", **sink.figures())
            marks = await measure_marks(conn, data, rows[SINK_ROWS:2 * SINK_ROWS],
                                        server_here=db.embedded)
            log.info("bench_live_state_marks", **marks)
            results["sink"] = {**sink.figures(), "live_state_marks": marks}
    if "queries" in parts:
        background_rows = rows[2 * SINK_ROWS:]
        del rows
        gc.unfreeze()
        _settle()
        results["queries_under_load"] = await _under_load(db.url, data, background_rows)
        results["live_board"] = live_board(results)
    return results


def run(db: BenchDatabase, parts: set[str]) -> dict[str, Any]:
    """Migrate, load, measure; returns every figure of the report."""
    log.info("bench_database", database=db.description)
    migrate(db.url)
    data = NationalDataSet(SEED, datetime.now(UTC))
    with psycopg.connect(db.url, autocommit=True) as conn:
        loaded = load(conn, data)
        facts = machine(conn)
        if "forecast" in parts:
            log.info("bench_forecast_fit_start", note="every series of the national data set")
            fitted = forecasts.fit(conn, data)
            log.info("bench_forecast_fit", **fitted)
            forecast = {"fit": fitted, "backtest": forecasts.backtest_table(conn)}
    figures = asyncio.run(measure(db, data, parts))
    if "forecast" in parts:
        figures["forecast"] = forecast
    return {"measured_at": datetime.now(UTC).isoformat(), "database": db.description,
            "machine": facts, "dataset": dataset_summary(data, loaded), **figures}


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    # Unwind like Ctrl-C, so the database this bench started is stopped on the way out.
    raise KeyboardInterrupt


def _named(values: list[str]) -> set[str]:
    return {part.strip() for value in values for part in value.split(",") if part.strip()}


def _parts(argv: list[str] | None) -> set[str]:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", default=[], metavar="PART",
                        help="run only these parts: " + ", ".join(PARTS)
                             + " (repeat the option or separate with commas)")
    parser.add_argument("--skip", action="append", default=[], metavar="PART",
                        help="run every part but these (repeat or separate with commas)")
    args = parser.parse_args(argv)
    chosen, skipped = _named(args.only), _named(args.skip)
    unknown = (chosen | skipped) - set(PARTS)
    if unknown:
        parser.error(f"unknown part(s) {', '.join(sorted(unknown))}; one of {', '.join(PARTS)}")
    return (chosen or set(PARTS)) - skipped


def main(argv: list[str] | None = None) -> None:
    """CLI entry point."""
    parts = _parts(argv)
    configure_logging(os.environ.get("LOG_LEVEL", "INFO"), process="bench")
    # The probes push hundreds of requests: a line each from httpx would bury the progress.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    started = time.perf_counter()
    results: dict[str, Any] = {}
    try:
        if parts & {"queries", "sink", "forecast"}:
            with bench_database() as db:
                results = run(db, parts)
        if "push" in parts:
            log.info("bench_push_start", note="the push path with and without authentication")
            results["push"] = measure_push()
        if "e2e" in parts:
            results["e2e"] = measure_e2e(lambda step: log.info("bench_e2e", step=step))
    except KeyboardInterrupt:
        sys.stderr.write("bench interrupted; its database is stopped\n")
        sys.exit(130)
    results["parts"] = [part for part in PARTS if part in parts]
    results["bench_seconds"] = round(time.perf_counter() - started, 1)
    write(results, RESULTS)


if __name__ == "__main__":
    main()
