"""The OpenAPI document describes the API truly: every operation that reads a body declares it
with a schema, every refusal an operation can give is declared with the OperationOutcome as its
body, and FastAPI's own validation error shape is nowhere. Also: a parameter FastAPI cannot
read is answered as an OperationOutcome naming it, and OPTIONS / 405 name every method a path
takes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

import pytest
from fastapi import APIRouter, FastAPI, Query
from fastapi.testclient import TestClient
from pydantic import ValidationError

from api import errors
from api.access import Public, add_route
from api.admin_routes import ClientIn
from api.app import create_app
from api.contract import NUL_FREE, OUTCOME_REF
from api.errors import element_of
from api.task_routes import HoldIn
from core.settings import Settings

DOCUMENT = create_app(Settings()).openapi()
# Operations whose POST reads no body: the act is named by the path.
BODILESS = {("post", "/v1/mobile-units/{unit_id}/device-key"),
            ("post", "/v1/alerts/{alert_id}/acknowledge")}
# Not refusals: the health document says which part is down (probes read `checks`).
OWN_ERROR_BODIES = {("get", "/healthz", "503")}


def operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, by_method in DOCUMENT["paths"].items():
        for method, operation in by_method.items():
            yield method, path, operation


def _is_outcome(schema: dict[str, Any]) -> bool:
    return schema == OUTCOME_REF or OUTCOME_REF in schema.get("allOf", [])


def test_every_operation_that_reads_a_body_declares_its_schema() -> None:
    checked = 0
    for method, path, operation in operations():
        if method not in ("post", "put") or (method, path) in BODILESS:
            assert "requestBody" not in operation or method in ("post", "put"), (method, path)
            continue
        content = operation.get("requestBody", {}).get("content", {})
        assert content, f"{method} {path} declares no request body"
        for media_type, media in content.items():
            schema = media["schema"]
            if media_type == "text/csv":
                assert schema["type"] == "string", (method, path)
            else:  # a real shape, not a bare object
                assert schema.get("properties") or schema.get("$ref") or schema.get(
                    "anyOf"), (method, path, media_type)
            checked += 1
    assert checked > 20


def test_every_error_response_is_an_operation_outcome() -> None:
    checked = 0
    for method, path, operation in operations():
        for status, response in operation["responses"].items():
            if int(status) < 400 or (method, path, status) in OWN_ERROR_BODIES:
                continue
            content = response["content"]
            assert all(_is_outcome(media["schema"]) for media in content.values()), (
                method, path, status, content)
            checked += 1
    assert checked > 300
    assert "HTTPValidationError" not in repr(DOCUMENT)


def test_what_an_operation_can_answer_follows_from_what_it_is() -> None:
    for method, path, operation in operations():
        answers = set(operation["responses"])
        if {"oauth2": []} in operation.get("security", []):
            assert {"401", "403", "429", "503"} <= answers, (method, path)
        if "requestBody" in operation and path != "/oauth/token":
            assert {"400", "413", "415"} <= answers, (method, path)
        if "{" in path:
            assert answers & {"400", "422"}, (method, path)  # a path value can be malformed
        if path.startswith("/fhir/") and "{" in path:
            assert "422" not in answers or method == "put", (method, path)
    document = DOCUMENT["paths"]
    assert "404" in document["/fhir/Location/{resource_id}"]["get"]["responses"]
    assert set(document["/fhir/Location/{resource_id}"]["put"]["responses"]) >= {"200", "201"}
    assert "201" in document["/v1/mobile-units/{unit_id}/device-key"]["post"]["responses"]
    assert "422" not in document["/osmand"]["post"]["responses"]  # Traccar's answers: 400


def test_fhir_answers_are_declared_as_fhir_json() -> None:
    document = DOCUMENT["paths"]
    for path, method, status in (("/fhir/Location/{resource_id}", "get", "200"),
                                 ("/fhir/Location", "get", "200"),
                                 ("/fhir/metadata", "get", "200"),
                                 ("/fhir/MeasureReport", "post", "202"),
                                 ("/v1/hap/status", "post", "202")):
        assert list(document[path][method]["responses"][status]["content"]) == [
            "application/fhir+json"], (path, method)


def test_every_reference_resolves() -> None:
    components = DOCUMENT["components"]["schemas"]

    def refs(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                yield node["$ref"]
            for value in node.values():
                yield from refs(value)
        elif isinstance(node, list):
            for value in node:
                yield from refs(value)

    found = set(refs(DOCUMENT))
    assert found
    for ref in found:
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.removeprefix("#/components/schemas/") in components, ref


def _strings(node: Any, components: dict[str, Any], seen: set[str]) -> Iterator[dict[str, Any]]:
    """Every string schema of a body schema, through its refs."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref not in seen:
            seen.add(ref)
            yield from _strings(components[ref.rsplit("/", 1)[1]], components, seen)
        if node.get("type") == "string":
            yield node
        for key, value in node.items():
            if key not in ("$ref", "examples", "example", "default", "enum", "const"):
                yield from _strings(value, components, seen)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value, components, seen)


def test_every_free_text_string_of_a_json_body_says_it_holds_no_nul() -> None:
    """The strict reader refuses a NUL in any string of any JSON body (and JsonBody in the
    bodies FastAPI reads): the document says so, so a fuzzer's NUL is not a valid request."""
    components = DOCUMENT["components"]["schemas"]
    free = 0
    for method, path, operation in operations():
        for media_type, media in operation.get("requestBody", {}).get("content", {}).items():
            if not media_type.endswith("json"):
                continue
            for schema in _strings(media["schema"], components, set()):
                assert {"pattern", "enum", "const", "format"} & set(schema), (method, path, schema)
                free += schema.get("pattern") == NUL_FREE
    assert free > 50


@pytest.mark.parametrize(("body", "element"), [
    ({"location_id": "ehv-1", "category": "vvt.beds.elv_low_complex", "reason": "x",
      "ttl_seconds": "600"}, "ttl_seconds"),
    ({"location_id": "ehv-1", "category": "vvt.beds.elv_low_complex", "reason": "Val\x00"},
     "reason"),
    ({"location_id": "ehv-1", "category": "vvt.beds.elv_low_complex", "reason": "\ud800"},
     "reason"),
])
def test_a_json_body_takes_values_only_as_their_json_type_and_no_nul(
    body: dict[str, Any], element: str,
) -> None:
    with pytest.raises(ValidationError) as refused:
        HoldIn.model_validate(body)
    assert [e["loc"] for e in refused.value.errors()] == [(element,)]


def test_a_json_body_of_the_right_types_is_taken() -> None:
    hold = HoldIn.model_validate({"location_id": "ehv-1", "category": "vvt.beds.elv_low_complex",
                                  "reason": "overplaatsing", "ttl_seconds": 600})
    assert hold.ttl_seconds == 600
    client = ClientIn.model_validate({"organization": "roaz-west", "role": "zcv",
                                      "regions": ["west"], "national": False})
    assert client.regions == ["west"] and client.national is False


def test_the_search_parameters_are_in_the_document() -> None:
    parameters = {p["name"] for p in DOCUMENT["paths"]["/fhir/Location"]["get"]["parameters"]}
    assert {"_id", "identifier", "type", "near", "organization", "_count", "Prefer"} <= parameters


@pytest.fixture
def small_app() -> TestClient:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    errors.install(app)
    router = APIRouter()

    async def figures(radius_km: Annotated[float, Query(gt=0)]) -> dict[str, Any]:
        return {}

    add_route(router, "/v1/x", figures, methods=["GET"], rule=Public())
    add_route(router, "/v1/x", figures, methods=["PUT"], rule=Public())
    add_route(router, "/fhir/Thing/{thing_id}", figures, methods=["GET"], rule=Public())
    app.include_router(router)
    return TestClient(app)


def test_a_parameter_that_does_not_parse_is_an_outcome_naming_it(small_app: TestClient) -> None:
    answer = small_app.get("/v1/x", params={"radius_km": "far"})
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/fhir+json"
    issue = answer.json()["issue"][0]
    assert issue["expression"] == ["radius_km"] and issue["code"] == "value"
    assert small_app.get("/fhir/Thing/x", params={"radius_km": "0"}).status_code == 400
    assert element_of(("body", "webhook_url")) == "body.webhook_url"
    assert element_of(("query", "near")) == "near"


def test_options_and_405_name_every_method_of_the_path(small_app: TestClient) -> None:
    options = small_app.options("/v1/x")
    assert options.status_code == 204 and options.headers["allow"] == "GET, OPTIONS, PUT"
    refused = small_app.delete("/v1/x")
    assert refused.status_code == 405 and refused.headers["allow"] == "GET, OPTIONS, PUT"
    assert refused.json()["issue"][0]["diagnostics"].startswith("DELETE is not allowed")
    assert small_app.options("/v1/nowhere").status_code == 404
