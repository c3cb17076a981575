"""Facility registration: Organization and Location rules."""

from __future__ import annotations

from typing import Any

import pytest

from adapters import AdapterError
from adapters.facility import (
    AGB_SYSTEM,
    MAX_NAME_CHARS,
    ROAZ_REGION_URL,
    SAFETY_REGION_URL,
    SECTOR_SYSTEM,
    URA_SYSTEM,
    healthcare_service_record,
    location_record,
    organization_record,
)
from adapters.fhir_schema import SERVICE_AREA
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


# --- Locations: region, veiligheidsregio, sector, position, organisation ----------------------

def _location(**changes: Any) -> dict[str, Any]:
    payload = location_resource("l1", "o1", "Isala", "zwolle", 52.5118, 6.0905)
    payload.update(changes)
    return {k: v for k, v in payload.items() if v is not None}


def _issues(payload: dict[str, Any]) -> list[tuple[str, str, str]]:
    with pytest.raises(AdapterError) as caught:
        location_record(payload, "l1")
    return [(i.expression, i.code, i.diagnostics) for i in caught.value.issues]


def _safety(code: str) -> dict[str, str]:
    return {"url": SAFETY_REGION_URL, "valueCode": code}


def test_a_location_record_carries_every_fact_and_the_url_id() -> None:
    record = location_record(_location(), "l9")
    assert (record.id, record.name, record.organization_id, record.sector,
            record.roaz_region, record.veiligheidsregio) == (
        "l9", "Isala", "o1", "hospital", "zwolle", None)
    assert (record.latitude, record.longitude) == (52.5118, 6.0905)
    assert record.resource["id"] == "l9"


@pytest.mark.parametrize("code", ["vr04", "vr03"])  # vr04 lies in zwolle, vr03 also
def test_a_veiligheidsregio_in_the_locations_roaz_region_is_kept(code: str) -> None:
    payload = _location()
    payload["extension"] = [_safety(code), *payload["extension"]]
    assert location_record(payload, "l1").veiligheidsregio == code


def test_an_unknown_veiligheidsregio_is_refused_naming_its_extension() -> None:
    payload = _location()
    payload["extension"] = [*payload["extension"], _safety("vr99")]
    [(where, code, words)] = _issues(payload)
    assert (where, code) == ("Location.extension[1].valueCode", "value")
    assert "unknown veiligheidsregio 'vr99'" in words


def test_a_veiligheidsregio_outside_the_roaz_region_is_a_business_rule() -> None:
    payload = _location()
    payload["extension"] = [_safety("vr09"), *payload["extension"]]
    [(where, code, words)] = _issues(payload)
    assert (where, code) == ("Location.extension[0].valueCode", "business-rule")
    assert words == ("veiligheidsregio vr09 (Utrecht) does not lie in ROAZ region zwolle; it "
                     "lies in midden-nederland")


def test_without_a_roaz_region_the_extension_is_required() -> None:
    [(where, code, words)] = _issues(_location(extension=[]))
    assert (where, code) == ("Location.extension", "required")
    assert ROAZ_REGION_URL in words


def test_an_unknown_roaz_region_is_named_at_its_extension() -> None:
    payload = _location()
    payload["extension"] = [_safety("vr04"), {"url": ROAZ_REGION_URL, "valueCode": "atlantis"}]
    [(where, code, words)] = _issues(payload)
    assert (where, code) == ("Location.extension[1].valueCode", "value")
    assert words.startswith("unknown ROAZ region 'atlantis'; one of ")


def test_the_sector_is_found_among_other_codings_and_types() -> None:
    other = {"system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode", "code": "HOSP"}
    payload = _location(type=[{"coding": [other]},
                              {"coding": [other, {"system": SECTOR_SYSTEM, "code": "vvt"}]}])
    assert location_record(payload, "l1").sector == "vvt"


@pytest.mark.parametrize(("types", "where", "code"), [
    (None, "Location.type", "required"),
    ([{"coding": [{"system": "http://other", "code": "vvt"}]}], "Location.type", "required"),
    ([{"coding": []}, {"coding": [{"system": "http://other", "code": "x"},
                                  {"system": SECTOR_SYSTEM, "code": "spa"}]}],
     "Location.type[1].coding[1].code", "value"),
])
def test_a_missing_or_unknown_sector_is_named(types: list[Any] | None, where: str,
                                              code: str) -> None:
    [(found, found_code, words)] = _issues(_location(type=types))
    assert (found, found_code) == (where, code)
    assert SECTOR_SYSTEM in words or "unknown sector 'spa'" in words


def test_a_location_without_position_or_organisation_is_refused_naming_both() -> None:
    issues = _issues(_location(position=None, managingOrganization=None))
    assert [(where, code) for where, code, _ in issues] == [
        ("Location.position", "required"),
        ("Location.managingOrganization.reference", "required")]


LATITUDES, LONGITUDES = SERVICE_AREA["latitude"], SERVICE_AREA["longitude"]


@pytest.mark.parametrize(("latitude", "longitude", "where"), [
    (LATITUDES[0] - 0.01, 6.09, "Location.position.latitude"),
    (LATITUDES[1] + 0.01, 6.09, "Location.position.latitude"),
    (52.5, LONGITUDES[0] - 0.01, "Location.position.longitude"),
    (52.5, LONGITUDES[1] + 0.01, "Location.position.longitude"),
])
def test_a_position_outside_the_service_area_is_refused(latitude: float, longitude: float,
                                                         where: str) -> None:
    issues = _issues(_location(position={"latitude": latitude, "longitude": longitude}))
    assert [(w, c) for w, c, _ in issues] == [(where, "value")]


@pytest.mark.parametrize(("latitude", "longitude"), [(LATITUDES[0], LONGITUDES[0]),
                                                     (LATITUDES[1], LONGITUDES[1])])
def test_a_position_at_the_edge_of_the_service_area_is_taken(latitude: float,
                                                             longitude: float) -> None:
    record = location_record(_location(position={"latitude": latitude,
                                                  "longitude": longitude}), "l1")
    assert (record.latitude, record.longitude) == (latitude, longitude)


NOT_IN_NL = "lies outside the Netherlands and its border area"
WGS84 = "give WGS84 decimal degrees (latitude about 52, longitude about 5)"


@pytest.mark.parametrize(("kind", "payload", "refusal"), [
    ("organization", _organization(None, None), [(
        "Organization.identifier", "required", f"identify the organisation by URA ({URA_SYSTEM})"
        f" or AGB-Z ({AGB_SYSTEM})")]),
    ("organization", _organization("12345678", None, name=None), [
        ("Organization.name", "required", "an organisation needs a name")]),
    ("location", _location(name=None), [
        ("Location.name", "required", "a location needs a name")]),
    ("location", _location(position=None), [
        ("Location.position", "required",
         "give latitude and longitude (WGS84) for distance queries")]),
    ("location", _location(position={"latitude": 0, "longitude": 0}), [
        ("Location.position.latitude", "value", f"latitude 0 {NOT_IN_NL} (50.25 to 54.05); "
                                                f"{WGS84}"),
        ("Location.position.longitude", "value", f"longitude 0 {NOT_IN_NL} (2.85 to 7.75); "
                                                 f"{WGS84}")]),
    ("location", _location(extension=[{"url": ROAZ_REGION_URL, "valueCode": "atlantis"}]), [
        ("Location.extension[0].valueCode", "value",
         "unknown ROAZ region 'atlantis'; one of brabant, euregio, limburg, midden-nederland, "
         "noord-holland-flevoland, noord-nederland, oost, west, zuidwest, zwolle")]),
    ("location", _location(extension=[{"url": ROAZ_REGION_URL, "valueCode": "zwolle"},
                                      _safety("vr13")]), [
        ("Location.extension[1].valueCode", "business-rule",
         "veiligheidsregio vr13 (Amsterdam-Amstelland) does not lie in ROAZ region zwolle; "
         "it lies in noord-holland-flevoland")]),
    ("location", _location(type=[{"coding": [{"system": SECTOR_SYSTEM, "code": "spa"}]}]), [
        ("Location.type[0].coding[0].code", "value",
         "unknown sector 'spa'; one of hospital, hap, gp-practice, vvt, ggz, ambulance")]),
    ("service", _service(name=None), [
        ("HealthcareService.name", "required", "a service needs a name")]),
    ("service", _service(location=[]), [
        ("HealthcareService.location", "required",
         "name the Location(s) where the service is offered")]),
], ids=lambda value: value if isinstance(value, str) else "")
def test_a_registration_is_refused_with_exactly_what_its_sender_reads(
    kind: str, payload: dict[str, Any], refusal: list[tuple[str, str, str]],
) -> None:
    """The whole refusal: element, FHIR issue type and text."""
    record = {"organization": organization_record, "location": location_record,
              "service": healthcare_service_record}[kind]
    with pytest.raises(AdapterError) as caught:
        record(payload, "x1")
    assert [(i.expression, i.code, i.diagnostics) for i in caught.value.issues] == refusal
