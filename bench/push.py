"""The push path with and without authentication, loaded by wrk (a compiled load generator).

Starts its own broker, PostgreSQL and two API processes on loopback (state in `.bench/push/`):
the real API (`python -m api`), where every push carries a provider's bearer token, and the
same app with its access rules replaced by a fixed provider (`bench/open_api.py`). wrk posts
the same single-report SANER MeasureReport to both, alternating, one connection at a time
(what one push costs) and eight at a time (throughput), and reads the API process's CPU time
per request. The ratios say what token verification, the revocation check, the rate limit and
the role check add.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psutil
import structlog

from bench.database import STATE_DIR
from core.settings import REPO_ROOT
from stack import lifecycle, processes
from stack.config import StackConfig
from stack.credentials import access_token, read_credentials, register_client_over_api, signed_in
from stack.demo import location_resource, measure_report, organization_resource

log = structlog.get_logger()
PUSH_DIR = STATE_DIR / "push"
ORGANIZATION, LOCATION = "bench-push-org", "bench-push-location"
OPEN_API_PORT = 38281
# The bench's provider may push as fast as wrk can: the rate limit is not what is measured.
ENV = (("RATE_LIMIT_PROVIDER", "1000000/1000000"), ("LOG_LEVEL", "WARNING"))
# Many short rounds, alternating which API goes first: machine noise hits both alike, and the
# ratio is taken per round (the two runs next to each other), then the median of the rounds.
ROUNDS = 8
SECONDS = 4
LATENCY = re.compile(r"^\s+(50|90|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


@dataclass(frozen=True)
class WrkRun:
    """One wrk run: requests per second, latency percentiles (ms) and the CPU time the API
    process spent per request (ms): the cost itself, less shaken by whatever else runs."""

    requests_per_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    cpu_ms_per_request: float = 0.0


def parse_wrk(output: str) -> WrkRun:
    """The figures of wrk's `--latency` report; ValueError when some requests failed."""
    failed = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(r"Socket errors: (.*)", output)
    if failed or errors:
        raise ValueError(f"wrk saw failures, the figures would mean nothing:\n{output}")
    latency = {p: float(v) * UNIT_MS[u] for p, v, u in LATENCY.findall(output)}
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if rate is None or set(latency) != {"50", "90", "99"}:
        raise ValueError(f"unexpected wrk output:\n{output}")
    return WrkRun(float(rate.group(1)), latency["50"], latency["90"], latency["99"])


def _lua(path: Path, body: str, token: str | None) -> Path:
    headers = {"Content-Type": "application/fhir+json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    lines = ['wrk.method = "POST"', f"wrk.body = {json.dumps(body)}"]
    lines += [f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def _cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def _wrk(url: str, script: Path, connections: int, api: psutil.Process) -> WrkRun:
    before = _cpu_seconds(api)
    done = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{SECONDS}s", "--latency",
                           "-s", str(script), f"{url}/fhir/MeasureReport"],
                          capture_output=True, text=True, timeout=SECONDS + 60, check=True)
    run = parse_wrk(done.stdout)
    requests = run.requests_per_s * SECONDS
    cpu_ms = (_cpu_seconds(api) - before) * 1000 / requests if requests else 0.0
    return WrkRun(run.requests_per_s, run.p50_ms, run.p90_ms, run.p99_ms, round(cpu_ms, 3))


def push_config() -> StackConfig:
    """The push bench's own stack: state in .bench/push, ports apart from the others."""
    return StackConfig(state_dir=PUSH_DIR, broker_port=35592, postgres_port=35533,
                       api_port=38280, worker_metrics_port=39302, external_kafka=None,
                       external_database=None, extra_env=ENV)


def _start(config: StackConfig) -> str:
    """Broker, database, both APIs; the provider's token."""
    lifecycle.start_infrastructure(config)
    lifecycle.start_api(config)
    credentials = read_credentials(config.admin_credentials)
    assert credentials is not None
    with signed_in(config.api_url, credentials) as admin:
        admin.put(f"/fhir/Organization/{ORGANIZATION}", json=organization_resource(
            ORGANIZATION, "Bench Ziekenhuis", "12345678")).raise_for_status()
        provider = register_client_over_api(admin, ORGANIZATION, "provider")
    with signed_in(config.api_url, provider) as client:
        client.put(f"/fhir/Location/{LOCATION}", json=location_resource(
            LOCATION, ORGANIZATION, "Bench Ziekenhuis", "west", 52.1, 4.4)).raise_for_status()
    env = {**config.service_env(), "API_PORT": str(OPEN_API_PORT),
           "BENCH_ORGANIZATION": ORGANIZATION}
    processes.start("open-api", [sys.executable, "-m", "bench.open_api"],
                    marker="-m bench.open_api", pid_dir=config.pid_dir, log_dir=config.log_dir,
                    env=env, cwd=REPO_ROOT)
    _wait(f"http://127.0.0.1:{OPEN_API_PORT}/healthz")
    return access_token(config.api_url, provider)


def _wait(url: str) -> None:
    for _ in range(300):
        try:
            if httpx.get(url, timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not become healthy")


def _pid(config: StackConfig, name: str) -> int:
    managed = processes.find(config.pid_dir, name)
    assert managed is not None, f"{name} is not running"
    return managed.pid


def _stop(config: StackConfig) -> None:
    processes.stop(config.pid_dir, "open-api", timeout=20.0)
    lifecycle.down(config)


def median(values: list[float]) -> float:
    """The middle value (the mean of the two middle ones for an even count)."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def _ratios(auth: list[WrkRun], open_: list[WrkRun]) -> dict[str, float]:
    pairs = list(zip(auth, open_, strict=True))
    return {"ratio_cpu": round(median([a.cpu_ms_per_request / o.cpu_ms_per_request
                                       for a, o in pairs]), 3),
            "ratio_p50": round(median([a.p50_ms / o.p50_ms for a, o in pairs]), 3),
            "ratio_p99": round(median([a.p99_ms / o.p99_ms for a, o in pairs]), 3),
            "ratio_throughput": round(median([o.requests_per_s / a.requests_per_s
                                              for a, o in pairs]), 3)}


def _summary(runs: list[WrkRun]) -> dict[str, float]:
    return {"requests_per_s": round(median([r.requests_per_s for r in runs]), 1),
            "p50_ms": round(median([r.p50_ms for r in runs]), 3),
            "p90_ms": round(median([r.p90_ms for r in runs]), 3),
            "p99_ms": round(median([r.p99_ms for r in runs]), 3),
            "cpu_ms_per_request": round(median([r.cpu_ms_per_request for r in runs]), 3)}


def measure_push() -> dict[str, Any]:
    """Both APIs under the same wrk load, alternating; medians of the rounds and ratios."""
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is missing: `make bench` installs it (apt-get install wrk)")
    config = push_config()
    _stop(config)
    shutil.rmtree(PUSH_DIR, ignore_errors=True)
    try:
        token = _start(config)
        body = json.dumps(measure_report(LOCATION, {"numICUBedsAvail": 4},
                                         datetime.now(UTC)))
        scripts = {"auth": _lua(PUSH_DIR / "auth.lua", body, token),
                   "open": _lua(PUSH_DIR / "open.lua", body, None)}
        urls = {"auth": config.api_url, "open": f"http://127.0.0.1:{OPEN_API_PORT}"}
        apis = {name: psutil.Process(_pid(config, process))
                for name, process in (("auth", "api"), ("open", "open-api"))}
        results: dict[str, Any] = {}
        for connections in (1, 8):
            runs: dict[str, list[WrkRun]] = {"auth": [], "open": []}
            for round_ in range(ROUNDS):
                for name in ("auth", "open") if round_ % 2 == 0 else ("open", "auth"):
                    runs[name].append(_wrk(urls[name], scripts[name], connections,
                                           apis[name]))
                    log.info("bench_push_run", api=name, connections=connections,
                             **vars(runs[name][-1]))
            results[f"c{connections}"] = {
                "with_auth": _summary(runs["auth"]), "without_auth": _summary(runs["open"]),
                **_ratios(runs["auth"], runs["open"])}
        return {"rounds": ROUNDS, "seconds_per_run": SECONDS, **results}
    finally:
        _stop(config)


def main() -> None:
    """`python -m bench.push`: only the push comparison."""
    figures = measure_push()
    sys.stdout.write(json.dumps(figures, indent=2) + "\n")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _interrupt)
    main()
