"""The fuzzer's hooks: which refusals of a schema-valid request are the API keeping a rule the
document cannot state (dropped), and which stay failures."""

from __future__ import annotations

import json

import pytest

from tests.fuzz_hooks import loopback_webhook, refused_only_for_unstatable_rules


def outcome(*issues: tuple[str, str]) -> bytes:
    return json.dumps({"resourceType": "OperationOutcome", "issue": [
        {"severity": "error", "code": "value", "expression": [element], "diagnostics": words}
        for element, words in issues]}).encode()


RADIUS = ("radius_km", "radius_km needs near=latitude,longitude")


@pytest.mark.parametrize(("operation", "status", "body"), [
    ("GET /v1/availability", 422, outcome(RADIUS)),
    ("GET /v1/history", 422, outcome(("location", "give location or region, not both"))),
    ("PUT /fhir/Location/{resource_id}", 400,
     outcome(("Location.id", "id in the body ('b') differs from the URL"))),
])
def test_a_refusal_for_a_rule_the_document_cannot_state_is_dropped(
    operation: str, status: int, body: bytes,
) -> None:
    assert refused_only_for_unstatable_rules(operation, status, body)


@pytest.mark.parametrize(("operation", "status", "body"), [
    ("GET /v1/availability", 500, outcome(RADIUS)),  # not a refusal
    ("POST /v1/holds", 422, outcome(RADIUS)),  # not a rule of that operation
    ("GET /v1/availability", 422, outcome(RADIUS, ("item", "no item starts with ''"))),
    ("GET /v1/availability", 422, outcome(("near", "radius_km needs near"))),  # other element
    ("GET /v1/availability", 422, b"{}"),
    ("GET /v1/availability", 422, b"not json"),
])
def test_any_other_refusal_of_a_schema_valid_request_stays_a_failure(
    operation: str, status: int, body: bytes,
) -> None:
    assert not refused_only_for_unstatable_rules(operation, status, body)


def test_a_generated_webhook_stays_on_this_machine() -> None:
    moved = loopback_webhook({"webhook_url": "https://example.org:8443/hook?x=1", "name": "a"})
    assert moved == {"webhook_url": "https://127.0.0.1:9/hook?x=1", "name": "a"}
    assert loopback_webhook({"webhook_url": "not a url"}) == {"webhook_url": "not a url"}
