"""Facility registration: Organization and Location rules."""

from __future__ import annotations

from typing import Any

import pytest

from adapters import AdapterError
from adapters.facility import (
    AGB_SYSTEM,
    MAX_NAME_CHARS,
    URA_SYSTEM,
    healthcare_service_record,
    location_record,
    organization_record,
)
from stack.demo import location_resource, organization_resource


def test_organization_with_ura_is_accepted() -> None:
    record = organization_record(organization_resource("o1", "UMCG", "00000101", "06010101"),
                                 "o1")
    assert (record.id, record.name, record.ura, record.agb) == ("o1", "UMCG", "00000101",
                                                                "06010101")


def test_organization_needs_ura_or_agb() -> None:
    payload = organization_resource("o1", "UMCG", "00000101")
    payload["identifier"] = []
    with pytest.raises(AdapterError) as caught:
        organization_record(payload, "o1")
    assert caught.value.issues[0].expression == "Organization.identifier"


def test_ura_has_eight_digits() -> None:
    with pytest.raises(AdapterError) as caught:
        organization_record(organization_resource("o1", "UMCG", "12ab"), "o1")
    assert caught.value.issues[0].expression == "Organization.identifier[0].value"


def test_location_maps_region_sector_position_and_organisation() -> None:
    payload = location_resource("l1", "o1", "LUMC", "west", 52.1665, 4.4782)
    record = location_record(payload, "l1")
    assert (record.organization_id, record.roaz_region, record.sector) == ("o1", "west",
                                                                           "hospital")
    assert (record.latitude, record.longitude) == (52.1665, 4.4782)


def test_location_reports_every_problem_at_once() -> None:
    payload = location_resource("l1", "o1", "LUMC", "atlantis", 52.1, 4.4)
    del payload["position"]
    payload["type"][0]["coding"][0]["code"] = "spa"
    with pytest.raises(AdapterError) as caught:
        location_record(payload, "l1")
    expressions = {i.expression for i in caught.value.issues}
    assert expressions == {"Location.extension[0].valueCode", "Location.type[0].coding[0].code",
                           "Location.position"}


def test_wrong_resource_type_is_refused() -> None:
    with pytest.raises(AdapterError) as caught:
        location_record({"resourceType": "Patient"}, "l1")
    assert caught.value.issues[0].expression == "resourceType"


# --- Organizations: URA and AGB-Z, names ------------------------------------------------------

def _organization(ura: str | None, agb: str | None, name: str | None = "UMCG") -> dict[str, Any]:
    identifiers = [{"system": system, "value": value}
                   for system, value in ((URA_SYSTEM, ura), (AGB_SYSTEM, agb)) if value]
    payload: dict[str, Any] = {"resourceType": "Organization", "id": "o1",
                               "identifier": identifiers, "active": True}
    if name is not None:
        payload["name"] = name
    return payload


def test_an_organization_known_by_agb_alone_is_accepted_and_keeps_the_url_id() -> None:
    record = organization_record(_organization(None, "01012345", "De Linde"), "o2")
    assert (record.id, record.name, record.ura, record.agb) == ("o2", "De Linde", None,
                                                                "01012345")
    assert record.resource["id"] == "o2" and record.resource["name"] == "De Linde"


@pytest.mark.parametrize(("ura", "agb", "expression", "label"), [
    ("1234567", None, "Organization.identifier[0].value", "URA"),
    ("123456789", None, "Organization.identifier[0].value", "URA"),
    (None, "0101234a", "Organization.identifier[0].value", "AGB-Z"),
    ("00000101", "1", "Organization.identifier[1].value", "AGB-Z"),
])
def test_ura_and_agb_have_exactly_eight_digits(ura: str | None, agb: str | None,
                                                expression: str, label: str) -> None:
    with pytest.raises(AdapterError) as caught:
        organization_record(_organization(ura, agb), "o1")
    [issue] = caught.value.issues
    assert (issue.expression, issue.code) == (expression, "value")
    assert f"a {label} number has exactly 8 digits" in issue.diagnostics


def test_every_problem_of_an_organization_is_reported_at_once() -> None:
    with pytest.raises(AdapterError) as caught:
        organization_record(_organization("123", "45", name=None), "o1")
    assert [(i.expression, i.code) for i in caught.value.issues] == [
        ("Organization.identifier[0].value", "value"),
        ("Organization.identifier[1].value", "value"),
        ("Organization.name", "required")]


def test_a_name_past_the_limit_is_refused_and_one_at_it_is_taken() -> None:
    at_limit = _organization("00000101", None, "Z" * MAX_NAME_CHARS)
    assert organization_record(at_limit, "o1").name == "Z" * MAX_NAME_CHARS
    with pytest.raises(AdapterError) as caught:
        organization_record(_organization("00000101", None, "Z" * (MAX_NAME_CHARS + 1)), "o1")
    [issue] = caught.value.issues
    assert issue.expression == "Organization.name" and issue.code == "value"
    assert f"a name of {MAX_NAME_CHARS + 1:,} characters; at most {MAX_NAME_CHARS}" \
        in issue.diagnostics


# --- HealthcareServices: a name, who provides it, where --------------------------------------

def _service(**changes: object) -> dict[str, object]:
    service: dict[str, object] = {
        "resourceType": "HealthcareService", "id": "s1", "name": "Spoedeisende hulp",
        "providedBy": {"reference": "Organization/o1"},
        "location": [{"reference": "Location/l1"}, {"reference": "Location/l2"}]}
    service.update(changes)
    return {k: v for k, v in service.items() if v is not None}


def test_a_healthcare_service_maps_its_organization_and_locations() -> None:
    record = healthcare_service_record(_service(), "s9")
    assert (record.id, record.organization_id, record.location_ids, record.name) == (
        "s9", "o1", ["l1", "l2"], "Spoedeisende hulp")
    assert record.resource["id"] == "s9"


@pytest.mark.parametrize(("changes", "expression"), [
    ({"name": None}, "HealthcareService.name"),
    ({"providedBy": None}, "HealthcareService.providedBy"),
    ({"providedBy": {"reference": "Location/l1"}}, "HealthcareService.providedBy"),
    ({"location": None}, "HealthcareService.location"),
    ({"location": [{"reference": "Location/l1"}, {"reference": "Organization/o1"}]},
     "HealthcareService.location[1]"),
])
def test_a_healthcare_service_without_what_it_needs_is_refused_naming_it(
    changes: dict[str, object], expression: str,
) -> None:
    with pytest.raises(AdapterError) as caught:
        healthcare_service_record(_service(**changes), "s1")
    assert [i.expression.split(".reference")[0] for i in caught.value.issues] == [expression]


def test_every_problem_of_a_healthcare_service_is_reported_at_once() -> None:
    payload = _service(name=None, providedBy=None, location=None)
    with pytest.raises(AdapterError) as caught:
        healthcare_service_record(payload, "s1")
    assert [i.expression.split(".reference")[0] for i in caught.value.issues] == [
        "HealthcareService.name", "HealthcareService.providedBy", "HealthcareService.location"]
