"""`python -m stack supervise`: restarts what dies, as systemd or a container runtime would.

The local stack's processes are started once; in production a supervisor (compose's
`restart: unless-stopped`, Kubernetes) brings a crashed process back. This is that supervisor
for the embedded stack: every second it looks at the processes the stack started (by their PID
files) and starts any that is gone, the broker with its topics, with a backoff that grows while
a process keeps dying. A process stopped on purpose has no PID file and is left alone.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import structlog

from core.logs import configure_logging
from stack import broker, postgres, processes
from stack.config import StackConfig

log = structlog.get_logger()
CONFIG_VARIABLE = "ZC_STACK_CONFIG"
CHECK_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 30.0


def config_to_env(config: StackConfig) -> str:
    """The stack's configuration as the supervisor reads it back."""
    fields = dataclasses.asdict(config)
    fields["state_dir"] = str(config.state_dir)
    return json.dumps(fields)


def config_from_env() -> StackConfig:
    """The configuration of the stack this supervisor watches."""
    fields = json.loads(os.environ[CONFIG_VARIABLE])
    fields["state_dir"] = Path(fields["state_dir"])
    fields["extra_env"] = tuple(tuple(pair) for pair in fields["extra_env"])
    return StackConfig(**fields)


def _restarters(config: StackConfig) -> dict[str, Callable[[], None]]:
    """How to start each service again, in the order they depend on each other."""
    from stack import lifecycle  # lifecycle starts this supervisor: imported when it runs

    def restart_broker() -> None:
        broker.start(config)
        broker.create_topics(lifecycle.platform_settings(config), repair=True)

    services: dict[str, Callable[[], None]] = {}
    if config.external_kafka is None:
        services["broker"] = restart_broker
    if config.external_database is None:
        services["postgres"] = lambda: postgres.start(config)
    services["streams"] = lambda: lifecycle.start_worker(config)
    services["forecast"] = lambda: lifecycle.start_forecaster(config)
    services["api"] = lambda: lifecycle.start_api(config, wait=False)
    return services


@dataclasses.dataclass
class Watch:
    """When a service was last started, and how long to wait before starting it again."""

    started_at: float = 0.0
    backoff: float = 1.0
    not_before: float = 0.0


def supervise(config: StackConfig, stop: threading.Event) -> None:
    """Restart dead services until `stop` is set. A service that dies within a minute of its
    start waits twice as long as before to be started again (at most 30 s)."""
    restarters = _restarters(config)
    watches = {name: Watch() for name in restarters}
    while not stop.wait(CHECK_SECONDS):
        for name, restart in restarters.items():
            managed = processes.find(config.pid_dir, name)
            watch, now = watches[name], time.monotonic()
            if managed is None or managed.is_running() or now < watch.not_before:
                continue
            if processes.find(config.pid_dir, name) != managed:
                continue  # stopped on purpose (its PID file went) or restarted meanwhile
            quick = now - watch.started_at < 60.0
            watch.backoff = min(watch.backoff * 2, MAX_BACKOFF_SECONDS) if quick else 1.0
            log.warning("service_died", service=name, pid=managed.pid)
            try:
                restart()
                log.info("service_restarted", service=name)
            except Exception as exc:  # noqa: BLE001 - keep supervising the others
                log.error("service_restart_failed", service=name, error=str(exc))
            watch.started_at = time.monotonic()
            watch.not_before = watch.started_at + watch.backoff


def main() -> None:
    """Supervise until SIGTERM or SIGINT."""
    configure_logging(os.environ.get("LOG_LEVEL", "INFO"), process="supervisor")
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    supervise(config_from_env(), stop)
