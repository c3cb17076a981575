"""`python -m bench` (`make bench`): load a national data set, time the live queries and the sink.

Starts its own embedded PostgreSQL (state in `.bench/`, port 35532) unless DATABASE_URL is set,
then that database is used (use a scratch one: the bench replaces its own `bench-*` rows there).
The figures go to stdout and to `.bench/results.json`. Not a test: nothing is asserted about speed.
"""

from __future__ import annotations

import argparse
import asyncio
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
from bench.database import STATE_DIR, BenchDatabase, bench_database
from bench.dataset import SECTOR_SHAPE, UNIT_POSITION_EVERY, NationalDataSet
from bench.e2e import measure_e2e
from bench.load import LoadReport, load
from bench.push import measure_push
from bench.report import write
from bench.sink import measure_sink
from core.logs import configure_logging
from storage.migrate import migrate
from storage.paths import current_path

SEED = 20261122
RESULTS = STATE_DIR / "results.json"

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


async def measure(url: str, data: NationalDataSet) -> dict[str, Any]:
    """The four measurements, one connection, in the order the brief lists them."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        comparisons = [
            await queries.live_region(conn, data),
            await queries.live_national(conn),
            await queries.nearest_ambulances(conn, data, only_available=True),
            await queries.nearest_ambulances(conn, data, only_available=False),
            await forecasts.forecast_query(conn),
        ]
        for c in comparisons:
            log.info("bench_query", **c.figures())
        sink = await measure_sink(conn, data)
    return {"queries": [c.figures() for c in comparisons], "sink": sink.figures()}


def run(db: BenchDatabase) -> dict[str, Any]:
    """Migrate, load, measure; returns every figure of the report."""
    log.info("bench_database", database=db.description)
    migrate(db.url)
    data = NationalDataSet(SEED, datetime.now(UTC))
    with psycopg.connect(db.url, autocommit=True) as conn:
        loaded = load(conn, data)
        facts = machine(conn)
        log.info("bench_forecast_fit_start", note="every series of the national data set")
        fitted = forecasts.fit(conn, data)
        log.info("bench_forecast_fit", **fitted)
        table = forecasts.backtest_table(conn)
    figures = asyncio.run(measure(db.url, data))
    return {"measured_at": datetime.now(UTC).isoformat(), "database": db.description,
            "machine": facts, "dataset": dataset_summary(data, loaded), **figures,
            "forecast": {"fit": fitted, "backtest": table}}


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    # Unwind like Ctrl-C, so the database this bench started is stopped on the way out.
    raise KeyboardInterrupt


def main() -> None:
    """CLI entry point."""
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--skip", default="", help="comma-separated parts not to run: push, e2e "
                                                   "(the queries, sink and forecasts always run)")
    skip = set(filter(None, parser.parse_args().skip.split(",")))
    if skip - {"push", "e2e"}:
        parser.error(f"unknown parts to skip: {sorted(skip - {'push', 'e2e'})}")
    configure_logging(os.environ.get("LOG_LEVEL", "INFO"), process="bench")
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    started = time.perf_counter()
    try:
        with bench_database() as db:
            results = run(db)
        if "push" not in skip:
            log.info("bench_push_start", note="the push path with and without authentication")
            results["push"] = measure_push()
        if "e2e" not in skip:
            results["e2e"] = measure_e2e(lambda step: log.info("bench_e2e", step=step))
    except KeyboardInterrupt:
        sys.stderr.write("bench interrupted; its database is stopped\n")
        sys.exit(130)
    results["bench_seconds"] = round(time.perf_counter() - started, 1)
    write(results, RESULTS)


if __name__ == "__main__":
    main()
