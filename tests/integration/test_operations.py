"""Health, metrics and the OpenAPI document of the running stack."""

from __future__ import annotations

import httpx

from stack.config import StackConfig


def test_healthz_checks_broker_and_database(api: httpx.Client) -> None:
    body = api.get("/healthz").json()
    assert body == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}


def test_openapi_documents_the_endpoints(api: httpx.Client) -> None:
    paths = api.get("/openapi.json").json()["paths"]
    assert {"/fhir/MeasureReport", "/fhir/Location/{resource_id}",
            "/fhir/Organization/{resource_id}", "/v1/availability", "/healthz"} <= set(paths)


def test_every_process_exposes_its_metrics(api: httpx.Client, stack: StackConfig) -> None:
    api_metrics = api.get("/metrics").text
    for name in ("zc_messages_received_total", "zc_messages_rejected_total",
                 "zc_messages_produced_total"):
        assert f"# HELP {name.removesuffix('_total')}" in api_metrics
    worker = httpx.get(f"http://127.0.0.1:{stack.worker_metrics_port}/metrics").text
    for name in ("zc_messages_consumed", "zc_observations_written",
                 "zc_end_to_end_latency_seconds", "zc_sink_batch_seconds"):
        assert f"# HELP {name}" in worker
