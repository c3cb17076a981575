"""The request bodies the OpenAPI document shows are the bodies the adapters take: every valid
example message of every pushed format meets its schema, and the schemas hold the rules a
client can check before sending (required elements, ranges, codes)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import pytest
from jsonschema import Draft202012Validator

from adapters import Adapter, registry
from adapters.facility import healthcare_service_schema, location_schema, organization_schema
from api.registry_routes import mapping_schema
from stack import demo

PUSHED = sorted((a for a in registry().values() if a.path is not None),
                key=lambda a: a.source_format)
SIDE_FILES = (".expected.json", ".context.json")


def _examples(adapter: Adapter) -> list[Path]:
    return sorted(p for p in adapter.examples.glob("*.*")
                  if p.is_file() and not p.name.endswith(SIDE_FILES))


def _errors(schema: dict[str, Any], instance: Any) -> list[str]:
    Draft202012Validator.check_schema(schema)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in Draft202012Validator(schema).iter_errors(instance)]


CASES = [(adapter, path) for adapter in PUSHED for path in _examples(adapter)]


@runtime_checkable
class DeclaresSchema(Protocol):
    """A pushed adapter: it declares its request body's schema (`api.ingest_routes`)."""

    def request_schema(self) -> dict[str, Any]: ...


def _request_schema(adapter: Adapter) -> dict[str, Any]:
    assert isinstance(adapter, DeclaresSchema), adapter.source_format
    return adapter.request_schema()


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0].source_format}:{c[1].name}")
def test_every_valid_example_meets_its_request_schema(case: tuple[Adapter, Path]) -> None:
    adapter, path = case
    text = path.read_text(encoding="utf-8")
    payload = text if path.suffix == ".csv" else json.loads(text)
    schema = _request_schema(adapter)
    assert _errors(schema, payload) == []


@pytest.mark.parametrize("adapter", PUSHED, ids=lambda a: a.source_format)
def test_every_pushed_format_declares_a_schema_with_substance(adapter: Adapter) -> None:
    schema = _request_schema(adapter)
    if adapter.media_type == "text/csv":
        assert schema["type"] == "string" and schema["description"]
    else:
        assert schema["properties"] and schema["required"]


def test_a_json_status_schema_holds_the_definitions_rules() -> None:
    schema = _request_schema(registry()["json/hap-status"])
    body = {"location": "hap-x", "observed_at": "2026-11-22T13:45:00+01:00"}
    assert _errors(schema, {**body, "consults_free": 3}) == []
    assert _errors(schema, {**body, "consults_free": None}) == []  # not reported
    assert _errors(schema, {**body, "consults_free": -1})
    assert _errors(schema, {**body, "consults_free": "3"})
    assert _errors(schema, {**body, "colour": "blue"})  # a typo is not ignored
    assert _errors(schema, {"observed_at": body["observed_at"]})  # no location
    seh = _request_schema(registry()["json/seh-status"])
    assert _errors(seh, {**body, "seh": {"status": "closed"}})
    assert _errors(seh, body)  # neither seh nor admission_stops


def test_the_facility_schemas_take_the_demo_resources_and_hold_their_rules() -> None:
    location = demo.location_resource("loc-1", "org-1", "Ziekenhuis", "west", 52.1, 4.4)
    assert _errors(location_schema(), location) == []
    assert _errors(location_schema(), {**location, "position": {"latitude": 99,
                                                               "longitude": 4.4}})
    wrong_region = {**location, "extension": [{**location["extension"][0],
                                               "valueCode": "atlantis"}]}
    assert _errors(location_schema(), wrong_region)
    organization = demo.organization_resource("org-1", "Ziekenhuis", "00000104")
    assert _errors(organization_schema(), organization) == []
    assert _errors(organization_schema(), {**organization, "identifier": []})
    service = {"resourceType": "HealthcareService", "name": "SEH",
               "providedBy": {"reference": "Organization/org-1"},
               "location": [{"reference": "Location/loc-1"}]}
    assert _errors(healthcare_service_schema(), service) == []
    assert _errors(healthcare_service_schema(), {**service, "location": []})


def test_the_mapping_schema_takes_the_example_mappings() -> None:
    contexts = sorted(registry()["csv/lpz-beds"].examples.glob("*.context.json"))
    assert contexts
    for context in contexts:
        assert _errors(mapping_schema(), json.loads(context.read_text())["mapping"]) == []
    assert _errors(mapping_schema(), {"departments": {"IC": "attic"}})
