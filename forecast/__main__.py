"""`python -m forecast`: refit every forecast now and then every FORECAST_REFIT_SECONDS, until
SIGTERM / SIGINT; `--once`: one refit, then exit (tests, cron, the bench).

A process of its own, started by the local stack beside the API and the stream worker (in
production: a service or a scheduled job). Fitting is CPU-bound for minutes on a national data
set; inside the faust worker it would stall the stream stages' event loop (and their consumer
group heartbeats), inside the API the request path. Here it only costs a core, and pandas /
statsforecast are loaded by nobody else.
"""

from __future__ import annotations

import argparse
import signal
import threading

import psycopg
import structlog

from core.logs import configure_logging
from core.settings import Settings, get_settings
from definitions import load_catalogue
from forecast.refit import refit

log = structlog.get_logger()
RETRY_SECONDS = 30.0


def refit_once(settings: Settings) -> None:
    """One refit with a connection of its own."""
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        refit(conn, load_catalogue(), days=settings.forecast_history_days,
              workers=settings.forecast_workers)


def main() -> None:
    """Refit once or on the schedule."""
    parser = argparse.ArgumentParser(prog="python -m forecast")
    parser.add_argument("--once", action="store_true", help="one refit, then exit")
    args = parser.parse_args()
    settings = get_settings()
    configure_logging(settings.log_level, process="forecast")
    if args.once:
        refit_once(settings)
        return
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.is_set():
        wait = settings.forecast_refit_seconds
        try:
            refit_once(settings)
        except psycopg.Error as exc:  # the database is away: try again soon, never crash
            log.warning("forecast_refit_failed", error=str(exc))
            wait = min(wait, RETRY_SECONDS)
        stop.wait(wait)


if __name__ == "__main__":
    main()
