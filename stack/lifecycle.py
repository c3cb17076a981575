"""`up`, `down` and `status` of the whole local stack, and of its single services."""

from __future__ import annotations

import signal
import sys
import time

import httpx

from core.settings import REPO_ROOT, Settings
from stack import broker, postgres, processes
from stack.config import StackConfig
from stack.credentials import bootstrap
from stack.supervisor import CONFIG_VARIABLE, config_to_env
from storage.migrate import migrate

# Stopped in this order: first the supervisor (or it would start them again), then what
# produces and consumes, then what they depend on.
SERVICES = ("supervisor", "api", "streams", "forecast", "postgres", "broker")


def platform_settings(config: StackConfig) -> Settings:
    """The settings the platform processes of this stack run with."""
    return Settings(kafka_bootstrap_servers=config.kafka_bootstrap_servers,
                    database_url=config.database_url, api_port=config.api_port,
                    worker_metrics_port=config.worker_metrics_port,
                    auth_keys_dir=config.keys_dir)


def _start_python(config: StackConfig, name: str, module: str) -> None:
    processes.start(
        name, [sys.executable, "-m", module], marker=f"-m {module}", pid_dir=config.pid_dir,
        log_dir=config.log_dir, env=config.service_env(), cwd=REPO_ROOT,
    )


def start_worker(config: StackConfig) -> None:
    """Start the faust stream worker."""
    _start_python(config, "streams", "streams")


def stop_worker(config: StackConfig, *, kill: bool = False) -> None:
    """Stop the stream worker: gracefully, or with SIGKILL to simulate a crash."""
    processes.stop(config.pid_dir, "streams", timeout=20.0,
                   first_signal=signal.SIGKILL if kill else signal.SIGTERM)


def start_forecaster(config: StackConfig) -> None:
    """Start the forecaster (python -m forecast): refits on its schedule, off the request path."""
    _start_python(config, "forecast", "forecast")


def start_api(config: StackConfig, *, wait: bool = True) -> None:
    """Start the HTTP API and (unless told not to) wait until /healthz answers 200."""
    _start_python(config, "api", "api")
    if wait:
        wait_healthy(config)


def start_supervisor(config: StackConfig) -> None:
    """Start the supervisor that restarts what dies (stack/supervisor.py)."""
    env = {**config.service_env(), CONFIG_VARIABLE: config_to_env(config)}
    processes.start("supervisor", [sys.executable, "-m", "stack", "supervise"],
                    marker="-m stack supervise", pid_dir=config.pid_dir,
                    log_dir=config.log_dir, env=env, cwd=REPO_ROOT)


def wait_healthy(config: StackConfig, timeout: float = 60.0) -> None:
    """Block until GET /healthz answers 200, or raise with the API log's tail."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{config.api_url}/healthz", timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        api = processes.find(config.pid_dir, "api")
        if api is None or not api.is_running():
            break
        time.sleep(0.2)
    tail = (config.log_dir / "api.log").read_text(errors="replace")[-3000:]
    raise RuntimeError(f"the API did not become healthy at {config.api_url}:\n{tail}")


def start_infrastructure(config: StackConfig) -> None:
    """Broker and database (unless external), migrations and topics."""
    if config.external_kafka is None and not _running(config, "broker"):
        broker.start(config)
    if config.external_database is None and not _running(config, "postgres"):
        postgres.start(config)
    migrate(config.database_url)
    bootstrap(config.keys_dir, config.admin_credentials, config.database_url)
    broker.create_topics(platform_settings(config))


def up(config: StackConfig) -> None:
    """Start everything that is not running yet; return once the API is healthy."""
    start_infrastructure(config)
    if not _running(config, "streams"):
        start_worker(config)
    if not _running(config, "forecast"):
        start_forecaster(config)
    if not _running(config, "api"):
        start_api(config)
    wait_healthy(config)
    if not _running(config, "supervisor"):
        start_supervisor(config)


def down(config: StackConfig) -> list[str]:
    """Stop everything this stack started, by PID; returns the names that were running."""
    stopped = []
    for name in SERVICES:
        # postgres: SIGINT is its "fast shutdown" (roll back, stop now).
        first = signal.SIGINT if name == "postgres" else signal.SIGTERM
        if processes.stop(config.pid_dir, name, timeout=20.0, first_signal=first):
            stopped.append(name)
    return stopped


def status(config: StackConfig) -> dict[str, str]:
    """Each service: 'running (pid N)', 'external', or 'stopped'."""
    external = {"broker": config.external_kafka, "postgres": config.external_database}
    result = {}
    for name in reversed(SERVICES):
        managed = processes.find(config.pid_dir, name)
        if external.get(name):
            result[name] = f"external ({external[name]})"
        elif managed is not None and managed.is_running():
            result[name] = f"running (pid {managed.pid})"
        else:
            result[name] = "stopped"
    return result


def _running(config: StackConfig, name: str) -> bool:
    managed = processes.find(config.pid_dir, name)
    return managed is not None and managed.is_running()
