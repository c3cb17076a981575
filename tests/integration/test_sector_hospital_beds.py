"""Per-bed hospital status end to end over HTTP: a FHIR bed-Location Bundle and the LPZ CSV.

A hospital registers itself and its wards as Locations, pushes the status of every bed, and the
care coordination centre sees bed counts per ward and per hospital in /v1/availability. The LPZ
Stekker CSV needs the hospital's mapping table of department codes first. Bad input gets an
OperationOutcome and nothing is stored.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import psycopg
import pytest

from adapters.hospital.bed_locations import BED_CATEGORY_SYSTEM
from stack.demo import location_resource
from tests.identities import Platform
from tests.integration.helpers import all_figures_of, raw_count, stored_count
from tests.waiting import wait_for

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
PHYSICAL = "http://terminology.hl7.org/CodeSystem/location-physical-type"
V2_0116 = "http://terminology.hl7.org/CodeSystem/v2-0116"
FHIR_JSON = {"Content-Type": "application/fhir+json"}
CSV = {"Content-Type": "text/csv; charset=utf-8"}
COUNTS = ("total", "staffed", "occupied", "available")


@dataclass(frozen=True)
class Hospital:
    """A registered hospital with an IC and a general ward, each a registered Location, and
    the provider client of its organisation."""

    id: str
    ic: str
    ward: str
    client: httpx.Client


def _register(client: httpx.Client, location: dict[str, Any]) -> None:
    client.put(f"/fhir/Location/{location['id']}", json=location,
               headers=FHIR_JSON).raise_for_status()


@pytest.fixture
def hospital(platform: Platform) -> Hospital:
    """A freshly registered hospital in ROAZ region West with two ward Locations, registered
    by its own organisation's provider client.

    Replaces the plain `hospital` of tests/conftest.py here: these tests need its wards too.
    """
    suffix = uuid.uuid4().hex[:10]
    org_id, hospital_id = f"org-{suffix}", f"gh-leiden-{suffix}"
    provider = platform.provider(org_id, "Groene Hart Ziekenhuis", "01234567")
    _register(provider, location_resource(hospital_id, org_id, "Groene Hart Ziekenhuis",
                                          "west", 52.0172, 4.7165))
    found = Hospital(hospital_id, f"{hospital_id}-ic", f"{hospital_id}-b3", provider)
    for ward_id, name in ((found.ic, "Intensive Care"), (found.ward, "Verpleegafdeling B3")):
        ward = location_resource(ward_id, org_id, name, "west", 52.0172, 4.7165)
        ward["partOf"] = {"reference": f"Location/{hospital_id}"}
        _register(provider, ward)
    return found


def _now() -> datetime:
    return (datetime.now(AMSTERDAM) - timedelta(seconds=30)).replace(microsecond=0)


def _ward(ward_id: str, hospital_id: str, category: str) -> dict[str, Any]:
    return {"resourceType": "Location", "id": ward_id, "status": "active",
            "type": [{"coding": [{"system": BED_CATEGORY_SYSTEM, "code": category}]}],
            "physicalType": {"coding": [{"system": PHYSICAL, "code": "wa"}]},
            "partOf": {"reference": f"Location/{hospital_id}"}}


def _beds(ward_id: str, codes: str) -> list[dict[str, Any]]:
    return [{"resourceType": "Location", "id": f"{ward_id}-bed-{n}", "status": "active",
             "operationalStatus": {"system": V2_0116, "code": code},
             "physicalType": {"coding": [{"system": PHYSICAL, "code": "bd"}]},
             "partOf": {"reference": f"Location/{ward_id}"}}
            for n, code in enumerate(codes, 1)]


def _bundle(hospital: Hospital, observed: datetime, ward_id: str | None = None) -> dict[str, Any]:
    resources = [_ward(hospital.ic, hospital.id, "ic"),
                 _ward(ward_id or hospital.ward, hospital.id, "ward"),
                 *_beds(hospital.ic, "OOOUC"), *_beds(ward_id or hospital.ward, "OOOOUUHKC")]
    return {"resourceType": "Bundle", "type": "collection", "timestamp": observed.isoformat(),
            "entry": [{"resource": r} for r in resources]}


def _counts(figures: dict[str, Any], category: str) -> list[Any]:
    return [figures[f"hospital.beds.{category}.{n}"]["value"] for n in COUNTS]


def _figures(zcv: httpx.Client, location: str, *categories: str) -> dict[str, Any]:
    """The live figures of `location` once every count of `categories` is there, else {}."""
    return all_figures_of(zcv, location, {f"hospital.beds.{c}.{n}" for c in categories
                                          for n in COUNTS})


def _push_bundle(client: httpx.Client, bundle: dict[str, Any]) -> httpx.Response:
    return client.post("/fhir/bed-status", json=bundle, headers=FHIR_JSON)


def test_bed_bundle_gives_ward_and_hospital_figures(zcv: httpx.Client, hospital: Hospital) -> None:
    observed = _now()
    response = _push_bundle(hospital.client, _bundle(hospital, observed))
    assert response.status_code == 202, response.text

    figures = wait_for(lambda: _figures(zcv, hospital.id, "ic", "ward", "inpatient"), timeout=20,
                       what="hospital figures")
    assert _counts(figures, "ic") == [5, 4, 3, 1]
    assert _counts(figures, "ward") == [9, 8, 4, 2]
    assert _counts(figures, "inpatient") == [14, 12, 7, 3]
    available = figures["hospital.beds.inpatient.available"]
    assert datetime.fromisoformat(available["observed_at"]) == observed
    assert available["stale"] is False and available["reported"] is True

    ic = wait_for(lambda: _figures(zcv, hospital.ic, "ic"), timeout=20, what="IC ward figures")
    ward = wait_for(lambda: _figures(zcv, hospital.ward, "ward"), timeout=20,
                    what="ward figures")
    assert _counts(ic, "ic") == [5, 4, 3, 1] and set(ic) == {f"hospital.beds.ic.{n}"
                                                            for n in COUNTS}
    assert _counts(ward, "ward") == [9, 8, 4, 2]


def test_bed_bundle_naming_an_unregistered_ward_stores_nothing(
    hospital: Hospital, db: psycopg.Connection[Any],
) -> None:
    provider = hospital.client
    unregistered = f"{hospital.id}-c2"
    response = _push_bundle(provider, _bundle(hospital, _now(), ward_id=unregistered))
    assert response.status_code == 404, response.text  # what it names is not registered
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert any(f"Location/{unregistered}" in i["diagnostics"] for i in outcome["issue"])

    bad = _bundle(hospital, _now())
    del bad["entry"][3]["resource"]["operationalStatus"]
    response = _push_bundle(provider, bad)
    assert response.status_code == 422, response.text
    assert response.json()["issue"][0]["expression"] == [
        "Bundle.entry[3].resource.operationalStatus"]

    # A good Bundle afterwards is the barrier: once it is stored, the bad ones would be too.
    _push_bundle(provider, _bundle(hospital, _now())).raise_for_status()
    wait_for(lambda: stored_count(db, hospital.id) == 12, timeout=20, what="the good Bundle")
    assert raw_count(db, hospital.id) == 1


MAPPING = {"departments": {"IC": "ic", "B3": "ward"}, "ignore": ["DAGBEH"]}


def _csv(location_id: str, observed: datetime, *rows: str) -> bytes:
    lines = [f"#location={location_id}", "afdeling;kamer;bed;status;tijdstip"]
    lines += [f"{row};{observed.isoformat()}" for row in rows]
    return ("\n".join(lines) + "\n").encode()


GOOD_ROWS = ("IC;Box 1;1;bezet", "IC;Box 2;1;bezet", "IC;Box 3;1;vrij", "IC;Box 4;1;gesloten",
             "B3;301;1;bezet", "B3;301;2;Vrij", "B3;302;1;gereserveerd", "B3;302;2;schoonmaak",
             "DAGBEH;D1;1;vrij")


def _put_mapping(client: httpx.Client, location_id: str, mapping: Any) -> httpx.Response:
    return client.put(f"/v1/mappings/{location_id}/csv/lpz-beds", json=mapping)


def _push_csv(client: httpx.Client, body: bytes) -> httpx.Response:
    return client.post("/v1/hospital/lpz-beds.csv", content=body, headers=CSV)


def test_lpz_csv_with_a_registered_mapping_gives_hospital_figures(
    zcv: httpx.Client, hospital: Hospital,
) -> None:
    provider = hospital.client
    assert _put_mapping(provider, hospital.id, MAPPING).status_code == 200
    assert provider.get(f"/v1/mappings/{hospital.id}/csv/lpz-beds").json() == MAPPING
    observed = _now()
    response = _push_csv(provider, _csv(hospital.id, observed, *GOOD_ROWS))
    assert response.status_code == 202, response.text

    figures = wait_for(lambda: _figures(zcv, hospital.id, "ic", "ward", "inpatient"), timeout=20,
                       what="CSV figures")
    assert _counts(figures, "ic") == [4, 3, 2, 1]
    assert _counts(figures, "ward") == [4, 4, 1, 1]
    assert _counts(figures, "inpatient") == [8, 7, 3, 2]
    occupied = figures["hospital.beds.ward.occupied"]
    assert datetime.fromisoformat(occupied["observed_at"]) == observed
    assert occupied["stale"] is False


def test_a_mapping_with_an_unknown_category_is_refused(hospital: Hospital) -> None:
    provider = hospital.client
    response = _put_mapping(provider, hospital.id, {"departments": {"IC": "intensive"}})
    assert response.status_code == 422
    assert "unknown bed category 'intensive'" in response.text
    assert provider.get(f"/v1/mappings/{hospital.id}/csv/lpz-beds").status_code == 404


def test_lpz_csv_for_a_location_without_mapping_is_refused(hospital: Hospital) -> None:
    response = _push_csv(hospital.client, _csv(hospital.id, _now(), *GOOD_ROWS))
    assert response.status_code == 404
    issue = response.json()["issue"][0]
    assert issue["code"] == "not-found" and issue["expression"] == ["mapping"]


def test_bad_lpz_csv_gets_operation_outcome_and_nothing_is_stored(
    hospital: Hospital, db: psycopg.Connection[Any],
) -> None:
    provider = hospital.client
    _put_mapping(provider, hospital.id, MAPPING).raise_for_status()
    unmapped = _push_csv(provider, _csv(hospital.id, _now(), "IC;Box 1;1;bezet", "SEH;1;1;bezet"))
    assert unmapped.status_code == 422
    outcome = unmapped.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["expression"] == ["row 4, column afdeling"]
    assert "'SEH' is not in this hospital's mapping table" in outcome["issue"][0]["diagnostics"]

    misspelt = _csv(hospital.id, _now(), *GOOD_ROWS).replace(b"afdeling;", b"afd;", 1)
    response = _push_csv(provider, misspelt)
    assert response.status_code == 400
    assert response.json()["issue"][0]["expression"] == ["row 2, column afd"]

    _push_csv(provider, _csv(hospital.id, _now(), *GOOD_ROWS)).raise_for_status()
    wait_for(lambda: stored_count(db, hospital.id) == 12, timeout=20, what="the good CSV")
    assert raw_count(db, hospital.id) == 1
