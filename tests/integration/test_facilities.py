"""Facility information over FHIR: versions with validity periods, services, regions."""

from __future__ import annotations

import uuid
from datetime import datetime

import httpx

from stack.demo import location_resource
from tests.identities import Platform

SAFETY_REGION_URL = "https://zorgcapaciteit.nl/fhir/StructureDefinition/veiligheidsregio"
VALID_PERIOD_URL = "https://zorgcapaciteit.nl/fhir/StructureDefinition/valid-period"


def _organisation(platform: Platform) -> tuple[str, httpx.Client]:
    """A freshly registered organisation and its provider client."""
    org_id = f"org-{uuid.uuid4().hex[:8]}"
    return org_id, platform.provider(org_id, "HAP Leiden", "00001234")


def _period(resource: dict[str, object]) -> dict[str, str]:
    meta = resource["meta"]
    assert isinstance(meta, dict)
    extension = meta["extension"][0]
    assert extension["url"] == VALID_PERIOD_URL
    period: dict[str, str] = extension["valuePeriod"]
    return period


def test_changes_are_kept_with_their_validity_period(platform: Platform) -> None:
    org_id, provider = _organisation(platform)
    loc_id = f"loc-{uuid.uuid4().hex[:8]}"
    first = location_resource(loc_id, org_id, "HAP Leiden", "west", 52.16, 4.48, "hap")
    created = provider.put(f"/fhir/Location/{loc_id}", json=first)
    assert created.status_code == 201 and created.json()["meta"]["versionId"] == "1"
    assert provider.put(f"/fhir/Location/{loc_id}", json=first).json()["meta"]["versionId"] == "1"
    moved = {**first, "name": "HAP Leiden (LUMC)", "position": {"latitude": 52.166,
                                                                 "longitude": 4.478}}
    assert provider.put(f"/fhir/Location/{loc_id}", json=moved).json()["meta"]["versionId"] == "2"

    bundle = provider.get(f"/fhir/Location/{loc_id}/_history").json()
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "history"
    newest, oldest = (entry["resource"] for entry in bundle["entry"])
    assert (newest["name"], oldest["name"]) == ("HAP Leiden (LUMC)", "HAP Leiden")
    assert "end" not in _period(newest)
    assert _period(oldest)["end"] == _period(newest)["start"]
    assert datetime.fromisoformat(_period(oldest)["start"]) <= datetime.fromisoformat(
        _period(oldest)["end"])
    assert provider.get(f"/fhir/Location/{loc_id}").json()["name"] == "HAP Leiden (LUMC)"


def test_a_healthcare_service_offers_care_at_registered_locations(platform: Platform) -> None:
    org_id, provider = _organisation(platform)
    loc_id = f"loc-{uuid.uuid4().hex[:8]}"
    provider.put(f"/fhir/Location/{loc_id}", json=location_resource(
        loc_id, org_id, "HAP", "west", 52.16, 4.48, "hap")).raise_for_status()
    service = {
        "resourceType": "HealthcareService", "name": "Huisartsenpost avond/nacht/weekend",
        "providedBy": {"reference": f"Organization/{org_id}"},
        "location": [{"reference": f"Location/{loc_id}"}],
        "availableTime": [
            {"daysOfWeek": ["mon", "tue", "wed", "thu", "fri"],
             "availableStartTime": "17:00:00", "availableEndTime": "08:00:00"},
            {"daysOfWeek": ["sat", "sun"], "allDay": True}],
        "telecom": [{"system": "phone", "value": "0900-1234567", "use": "work"}],
    }
    service_id = f"svc-{uuid.uuid4().hex[:8]}"
    created = provider.put(f"/fhir/HealthcareService/{service_id}", json=service)
    assert created.status_code == 201, created.text
    assert created.json()["availableTime"][1]["allDay"] is True

    orphan = {**service, "location": [{"reference": "Location/not-there"}]}
    refused = provider.put(f"/fhir/HealthcareService/{service_id}", json=orphan)
    assert refused.status_code == 404  # what it names is not registered
    assert refused.json()["issue"][0]["expression"] == ["HealthcareService.location[0]"]


def test_the_veiligheidsregio_must_lie_in_the_roaz_region(platform: Platform) -> None:
    org_id, provider = _organisation(platform)
    loc_id = f"loc-{uuid.uuid4().hex[:8]}"
    location = location_resource(loc_id, org_id, "Post", "west", 52.16, 4.48, "hap")
    location["extension"].append({"url": SAFETY_REGION_URL, "valueCode": "vr24"})
    refused = provider.put(f"/fhir/Location/{loc_id}", json=location)
    assert refused.status_code == 422
    issue = refused.json()["issue"][0]
    assert issue["expression"] == ["Location.extension[1].valueCode"]
    assert "Zuid-Limburg" in issue["diagnostics"] and "limburg" in issue["diagnostics"]
    location["extension"][1]["valueCode"] = "vr16"
    assert provider.put(f"/fhir/Location/{loc_id}", json=location).status_code == 201


def test_reading_an_unknown_facility_is_an_operation_outcome(zcv: httpx.Client) -> None:
    response = zcv.get("/fhir/Organization/does-not-exist")
    assert response.status_code == 404
    assert response.json()["resourceType"] == "OperationOutcome"
