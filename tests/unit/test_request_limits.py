"""Limits before work, in-process over ASGI: 413 before a body is parsed (from Content-Length
and while streaming), 415 for a media type an endpoint does not read, 400 for a NUL in the
query, and a 500 OperationOutcome with the request id for anything unexpected."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
from fastapi import FastAPI, Request
from prometheus_client import REGISTRY

from api import errors
from api.audit import AuditMiddleware, AuditTrail
from api.fhir_body import csv_body, json_object_body
from api.limits import RequestLimits, RequestLimitsMiddleware, declare_body
from core.settings import Settings

SETTINGS = Settings(body_limit_json_bytes=2048, body_limit_csv_bytes=8192)


class Probe:
    """A small app with one endpoint per body kind, counting the bodies that were parsed."""

    def __init__(self) -> None:
        self.parsed = 0
        self.app = FastAPI()
        errors.install(self.app)
        limits = RequestLimits.of(SETTINGS)
        self.app.state.limits = limits
        self.app.add_middleware(RequestLimitsMiddleware, limits=limits)
        self.app.add_middleware(AuditMiddleware, trail=AuditTrail(60.0))

        async def json_endpoint(request: Request) -> dict[str, Any]:
            body = await json_object_body(request)
            self.parsed += 1
            return body

        async def csv_endpoint(request: Request) -> dict[str, int]:
            text = await csv_body(request)
            self.parsed += 1
            return {"lines": text.count("\n")}

        async def broken() -> None:
            raise RuntimeError("a bug")

        declare_body(csv_endpoint, "csv")
        self.app.add_api_route("/json", json_endpoint, methods=["POST", "PUT"])
        self.app.add_api_route("/csv", csv_endpoint, methods=["POST"])
        self.app.add_api_route("/broken", broken, methods=["GET"])

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        async def call() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
                return await client.request(method, url, **kwargs)
        return asyncio.run(call())


JSON = {"Content-Type": "application/json"}


def _outcome(answer: httpx.Response) -> tuple[int, str, list[str], str]:
    issue = answer.json()["issue"][0]
    assert answer.json()["resourceType"] == "OperationOutcome"
    return answer.status_code, issue["code"], issue["expression"], issue["diagnostics"]


def test_a_body_within_its_endpoints_limit_is_read() -> None:
    probe = Probe()
    assert probe.request("POST", "/json", json={"a": "x" * 1000}).status_code == 200
    # 6 KB: too large for a JSON status body, fine for a CSV file.
    answer = probe.request("POST", "/csv", content="a;b\n" + "1;2\n" * 1500,
                           headers={"Content-Type": "text/csv; charset=utf-8"})
    assert answer.json() == {"lines": 1501}


def test_content_length_past_the_limit_is_413_before_reading() -> None:
    probe = Probe()
    answer = probe.request("POST", "/json", content=b'{"a": "' + b"x" * 3000 + b'"}',
                           headers=JSON)
    status, code, where, rule = _outcome(answer)
    assert (status, code, where) == (413, "too-long", ["body"])
    assert "Content-Length" in rule and "BODY_LIMIT_JSON_BYTES" in rule
    assert answer.headers["x-request-id"]
    assert probe.parsed == 0


def test_a_streamed_body_is_cut_off_at_the_limit() -> None:
    probe = Probe()
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(100):
            sent += 1
            yield b"1;2\n" * 256  # 1 KiB each, no Content-Length: chunked

    answer = probe.request("POST", "/csv", content=chunks(), headers={"Content-Type": "text/csv"})
    status, code, where, rule = _outcome(answer)
    assert (status, code, where) == (413, "too-long", ["body"])
    assert "BODY_LIMIT_CSV_BYTES" in rule and probe.parsed == 0
    assert sent < 20  # stopped reading soon after 8 KiB, not after all 100 KiB


def test_a_media_type_the_endpoint_does_not_read_is_415() -> None:
    probe = Probe()
    for headers in ({}, {"Content-Type": "text/plain"}, {"Content-Type": "text/csv"}):
        status, code, where, _ = _outcome(probe.request("PUT", "/json", content=b"{}",
                                                        headers=headers))
        assert (status, code, where) == (415, "not-supported", ["Content-Type"]), headers
    status, _, _, rule = _outcome(probe.request(
        "POST", "/csv", content="a;b\n".encode("latin-1"),
        headers={"Content-Type": "text/csv; charset=ISO-8859-1"}))
    assert status == 415 and "UTF-8" in rule
    assert probe.parsed == 0


def test_a_nul_in_the_query_or_path_is_400_naming_it() -> None:
    probe = Probe()
    status, code, where, _ = _outcome(probe.request("POST", "/json?region=we%00st",
                                                    json={}))
    assert (status, code, where) == (400, "invalid", ["region"])
    assert _outcome(probe.request("GET", "/bro%00ken"))[:3] == (400, "invalid", ["path"])
    assert probe.parsed == 0


def test_the_form_of_a_body_is_refused_naming_the_element() -> None:
    probe = Probe()
    answer = probe.request("POST", "/json", content=b'{"a": 1, "a": 2}', headers=JSON)
    assert _outcome(answer)[:3] == (400, "structure", ["body.a"])


def _unexpected() -> float:
    return REGISTRY.get_sample_value("zc_unexpected_errors_total") or 0.0


def test_anything_unexpected_is_a_500_outcome_with_the_request_id_and_counted() -> None:
    probe = Probe()
    before = _unexpected()
    answer = probe.request("GET", "/broken", headers={"X-Request-ID": "req-42"})
    status, code, _, rule = _outcome(answer)
    assert (status, code) == (500, "exception")
    assert answer.headers["x-request-id"] == "req-42" and "req-42" in rule
    assert "a bug" not in rule  # the caller is told the id, not the internals
    assert _unexpected() == before + 1
