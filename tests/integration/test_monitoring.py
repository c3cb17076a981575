"""The production dashboard and alert rules, evaluated by a real Prometheus scraping the stack."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from stack import monitoring
from stack.config import StackConfig
from tests.integration.helpers import push, stored_count
from tests.waiting import wait_for


@pytest.fixture
def prometheus(stack: StackConfig, tmp_path: Path) -> Iterator[str]:
    """Prometheus scraping the test stack's API and worker under the production job names."""
    config = monitoring.local_config(f"127.0.0.1:{stack.api_port}",
                                     f"127.0.0.1:{stack.worker_metrics_port}")
    url = monitoring.start(tmp_path, config)
    try:
        yield url
    finally:
        monitoring.stop(tmp_path)


def test_every_panel_and_alert_evaluates_on_metrics_the_platform_exposes(
    provider: httpx.Client, hospital: str, db: psycopg.Connection[Any], prometheus: str,
    tmp_path: Path, api: httpx.Client,
) -> None:
    # Traffic of every kind the panels show: accepted, refused, a part not stored, stored,
    # a caller without a token.
    assert api.get("/v1/availability").status_code == 401
    assert push(provider, hospital, {"numICUBeds": 10, "numC19HospPats": 2}).status_code == 202
    assert push(provider, hospital, {"numICUBeds": -1}).status_code == 422
    wait_for(lambda: stored_count(db, hospital) >= 1, timeout=20, what="a stored figure")

    wait_for(lambda: monitoring.targets_up(prometheus), timeout=30, what="both targets up")
    wanted = set().union(*(e.metrics() for e in monitoring.expressions()))
    def missing() -> set[str]:
        scraped = monitoring.scraped_metrics(prometheus)
        return {m for m in wanted if not monitoring.exposed_metric(m, scraped)}

    try:
        wait_for(lambda: not missing(), timeout=30, what="every metric scraped")
    except AssertionError:
        raise AssertionError(f"never scraped: {sorted(missing())}") from None

    assert monitoring.promtool_problems(tmp_path / "prometheus.yml") == []
    assert monitoring.problems(prometheus) == []
    assert len(monitoring.expressions()) >= 20


def test_declared_metrics_cover_labelled_ones_before_their_first_sample(
    stack: StackConfig,
) -> None:
    pages = [f"{stack.api_url}/metrics", f"http://127.0.0.1:{stack.worker_metrics_port}/metrics"]
    declared = monitoring.declared_metrics(pages)
    assert {"zc_messages_rejected_total", "zc_message_warnings_total",
            "zc_end_to_end_latency_seconds_bucket", "zc_sink_last_write_timestamp_seconds"
            } <= declared


def test_a_misspelt_metric_is_caught(prometheus: str) -> None:
    wait_for(lambda: monitoring.targets_up(prometheus), timeout=30, what="both targets up")
    expression = monitoring.Expression("test", "sum(rate(zc_observation_writen_total[5m]))")
    assert expression.metrics() == {"zc_observation_writen_total"}
    wait_for(lambda: "zc_observations_written_total" in monitoring.scraped_metrics(prometheus),
             timeout=30, what="the real metric scraped")
    assert any("no such metric zc_observation_writen_total" in problem
               for problem in monitoring.problems_of(prometheus, [expression]))
