"""How an R4 model's refusal is told to a provider: each problem as an issue naming its element
(FHIRPath-like), of the kind FHIR's IssueType has for it."""

from __future__ import annotations

from typing import Any

import pytest
from fhir.resources.R4B.location import Location
from fhir.resources.R4B.measurereport import MeasureReport

from adapters import AdapterError
from adapters.fhir import expression_of, validate_resource


@pytest.mark.parametrize(("loc", "expression"), [
    ((), "MeasureReport"),
    (("group", 0, "population", 2, "count"), "MeasureReport.group[0].population[2].count"),
    (("resource_type",), "MeasureReport"),  # the model's own name for resourceType
    (("contained", 1, "resource_type", "id"), "MeasureReport.contained[1].id"),
])
def test_an_element_is_named_as_fhirpath(loc: tuple[int | str, ...], expression: str) -> None:
    assert expression_of("MeasureReport", loc) == expression


def _issues(model: Any, payload: dict[str, Any]) -> list[tuple[str, str, str]]:
    with pytest.raises(AdapterError) as refused:
        validate_resource(model, payload)
    return [(i.code, i.expression, i.diagnostics) for i in refused.value.issues]


def test_an_element_r4_does_not_have_is_a_structure_issue() -> None:
    assert _issues(Location, {"resourceType": "Location", "nme": "Isala"}) == [
        ("structure", "Location.nme", "Extra inputs are not permitted")]


def test_every_problem_of_a_resource_is_named_where_it_is() -> None:
    payload = {"resourceType": "Location", "extension": [{"valueCode": "west"}],
               "position": {"latitude": 52.1, "longitude": 4.4, "altitude": "hoog"}}
    assert [(code, where) for code, where, _ in _issues(Location, payload)] == [
        ("required", "Location.extension[0].url"), ("invalid", "Location.position.altitude")]


def test_a_required_element_is_named() -> None:
    """A missing element is a `required` issue (422), whichever check of fhir.resources finds
    it (its own are typed `model_field_validation.missing`)."""
    payload = {"resourceType": "MeasureReport", "measure": "https://example.org/Measure/x",
               "type": "summary", "period": {"start": "2026-01-01"}}
    assert _issues(MeasureReport, payload) == [
        ("required", "MeasureReport.status", "Value for the field 'status' is required.")]
    assert _issues(Location, {"resourceType": "Location", "position": {"latitude": 52.1}}) == [
        ("required", "Location.position.longitude",
         "Value for the field 'longitude' is required.")]


@pytest.mark.parametrize("resource_type", [None, "Organization", "location"])
def test_another_resource_type_is_refused_naming_both(resource_type: str | None) -> None:
    [(code, where, words)] = _issues(Location, {"resourceType": resource_type})
    assert (code, where) == ("invalid", "resourceType")
    assert words == f"expected resourceType Location, got {resource_type!r}"


def test_a_null_is_refused_before_the_model_reads_it() -> None:
    [(code, where, _)] = _issues(Location, {"resourceType": "Location", "name": None})
    assert (code, where) == ("structure", "Location.name")
