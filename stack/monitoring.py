"""Checks the production dashboards and alert rules against a real Prometheus.

Grafana cannot be installed here, so the dashboard is verified the way it would fail in
production: a real Prometheus (Debian's) scrapes the real API and stream worker under the
production job names, and every panel query and alert expression is evaluated through its HTTP
API. An expression that does not parse fails, and so does one that names a metric the platform
does not expose (such a query would not fail in Grafana, it would just stay empty forever).

`python -m stack.monitoring` checks against the running local stack (`make up`).
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from core.settings import REPO_ROOT
from stack import processes
from stack.config import StackConfig

OPS = REPO_ROOT / "ops"
DASHBOARDS = OPS / "grafana" / "dashboards"
PROMETHEUS_CONFIG = OPS / "prometheus" / "prometheus.yml"
ALERTS = OPS / "prometheus" / "alerts.yml"
METRIC_NAME = re.compile(r"\b(zc_[a-z0-9_]+|up)\b")


@dataclass(frozen=True)
class Expression:
    """One PromQL expression and where it is used."""

    where: str
    promql: str

    def metrics(self) -> set[str]:
        """The metric names it reads (ours, and `up`)."""
        return set(METRIC_NAME.findall(self.promql))


def expressions() -> list[Expression]:
    """Every panel query of every dashboard and every alert expression."""
    found = []
    for path in sorted(DASHBOARDS.glob("*.json")):
        for panel in json.loads(path.read_text())["panels"]:
            found += [Expression(f"{path.name}: {panel['title']}", target["expr"])
                      for target in panel.get("targets", [])]
    for group in yaml.safe_load(ALERTS.read_text())["groups"]:
        found += [Expression(f"alerts.yml: {rule['alert']}", rule["expr"])
                  for rule in group["rules"]]
    return found


def local_config(api_target: str, worker_target: str) -> dict[str, Any]:
    """The production scrape config with the local stack's targets and a 1 s interval."""
    config: dict[str, Any] = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    targets = {"zc-api": api_target, "zc-streams": worker_target}
    config["global"].update(scrape_interval="1s", evaluation_interval="1s")
    config["rule_files"] = [str(ALERTS)]
    for job in config["scrape_configs"]:
        job["static_configs"] = [{"targets": [targets[job["job_name"]]]}]
    return config


def promtool_problems(config_path: Path) -> list[str]:
    """What `promtool` says is wrong with the config and the rules."""
    promtool = shutil.which("promtool")
    if promtool is None:
        return ["promtool is not installed (make install puts Debian's prometheus in place)"]
    problems = []
    for args in (["check", "config", str(config_path)], ["check", "rules", str(ALERTS)]):
        run = subprocess.run([promtool, *args], capture_output=True, text=True, check=False)
        if run.returncode != 0:
            problems.append(f"promtool {' '.join(args[:2])}: {run.stdout}{run.stderr}")
    return problems


def start(state_dir: Path, config: dict[str, Any]) -> str:
    """Start Prometheus on a free loopback port with `config`; returns its base URL."""
    state_dir.mkdir(parents=True, exist_ok=True)
    config_path = state_dir / "prometheus.yml"
    config_path.write_text(yaml.safe_dump(config))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    listen = f"127.0.0.1:{port}"
    processes.start(
        "prometheus",
        ["prometheus", f"--config.file={config_path}", f"--web.listen-address={listen}",
         f"--storage.tsdb.path={state_dir / 'data'}"],
        marker=f"--web.listen-address={listen}", pid_dir=state_dir, log_dir=state_dir,
    )
    return f"http://{listen}"


def stop(state_dir: Path) -> None:
    """Stop the Prometheus started in `state_dir`, by PID."""
    processes.stop(state_dir, "prometheus", timeout=10.0)


def _query(url: str, promql: str) -> dict[str, Any]:
    answer: dict[str, Any] = httpx.get(f"{url}/api/v1/query", params={"query": promql},
                                       timeout=10.0).json()
    return answer


def scraped_metrics(url: str) -> set[str]:
    """Every metric name Prometheus has series for."""
    names = httpx.get(f"{url}/api/v1/label/__name__/values", timeout=10.0).json()["data"]
    return set(names)


def targets_up(url: str) -> bool:
    """True once both platform jobs have been scraped successfully (False while Prometheus
    itself is still starting)."""
    try:
        result = _query(url, 'up{job=~"zc-.*"} == 1').get("data", {}).get("result", [])
    except (httpx.HTTPError, ValueError):
        return False
    return len(result) == 2


def declared_metrics(metrics_urls: Sequence[str]) -> set[str]:
    """Metric names the platform declares, from the `# TYPE` lines of its /metrics pages: a
    labelled metric is declared there before its first sample exists."""
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"),
                "summary": ("_sum", "_count")}
    names: set[str] = set()
    for metrics_url in metrics_urls:
        for line in httpx.get(metrics_url, timeout=10.0).text.splitlines():
            if line.startswith("# TYPE "):
                _, _, name, kind = line.split(maxsplit=3)
                names |= {name, *(name + suffix for suffix in suffixes.get(kind, ()))}
    return names


def problems(url: str, metrics_urls: Sequence[str] = ()) -> list[str]:
    """Dashboard and alert expressions that do not evaluate, or read a metric nobody exposes."""
    return problems_of(url, expressions(), declared_metrics(metrics_urls))


def problems_of(url: str, checked: list[Expression], declared: set[str] | None = None,
                ) -> list[str]:
    """Expressions of `checked` that do not evaluate, or read a metric that is neither scraped
    nor declared by the platform."""
    exposed = scraped_metrics(url) | (declared or set())
    found = []
    for expression in checked:
        answer = _query(url, expression.promql)
        if answer.get("status") != "success":
            found.append(f"{expression.where}: {answer.get('error')}")
        missing = {m for m in expression.metrics() if not exposed_metric(m, exposed)}
        if missing:
            found.append(f"{expression.where}: no such metric {', '.join(sorted(missing))}")
    return found


def exposed_metric(metric: str, exposed: set[str]) -> bool:
    """True when `metric` is among the scraped names."""
    # A histogram is exposed as _bucket, _sum and _count series.
    return metric in exposed or f"{metric}_bucket" in exposed


def main() -> None:
    """CLI: check against the running local stack."""
    config = StackConfig.from_env()
    state_dir = config.state_dir / "prometheus"
    settings = local_config(f"127.0.0.1:{config.api_port}",
                            f"127.0.0.1:{config.worker_metrics_port}")
    url = start(state_dir, settings)
    try:
        deadline = time.monotonic() + 30
        while not targets_up(url) and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(3)  # a few scrapes, so rate() has two points
        pages = [f"{config.api_url}/metrics",
                 f"http://127.0.0.1:{config.worker_metrics_port}/metrics"]
        found = promtool_problems(state_dir / "prometheus.yml") + problems(url, pages)
    finally:
        stop(state_dir)
    for problem in found:
        sys.stderr.write(f"monitoring: {problem}\n")
    sys.stdout.write(f"monitoring: {len(expressions())} expressions checked, "
                     f"{len(found)} problem(s)\n")
    sys.exit(1 if found else 0)


if __name__ == "__main__":
    main()
