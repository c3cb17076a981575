"""`python -m streams`: run the stream worker, with Prometheus metrics on 127.0.0.1."""

from __future__ import annotations

import sys

import faust.worker
from prometheus_client import start_http_server

from core.logs import configure_logging
from core.settings import get_settings
from streams.app import create_app


def faust_log_level(level: str) -> str:
    """faust's name for a logging level: it knows `warn` and `crit`, not `warning`."""
    name = level.lower()
    return {"warning": "warn", "critical": "crit"}.get(name, name)


def _keep_title(title: str) -> None:
    """faust's process title is not set (see main)."""


def main() -> None:
    """Start metrics, then the faust worker (blocks until stopped)."""
    settings = get_settings()
    configure_logging(settings.log_level, process="streams")
    start_http_server(settings.worker_metrics_port, addr=settings.worker_metrics_host)
    app = create_app(settings)
    # faust renames its process ("[Faust:Worker] ...") when setproctitle is installed (a dev
    # tool in the same venv brings it); the stack finds and stops its processes by their
    # command line (stack/processes.py), so the worker keeps its own.
    faust.worker.setproctitle = _keep_title  # type: ignore[attr-defined]
    sys.argv = [sys.argv[0], "worker", "--loglevel", faust_log_level(settings.log_level),
                "--without-web"]
    app.main()


if __name__ == "__main__":
    main()
