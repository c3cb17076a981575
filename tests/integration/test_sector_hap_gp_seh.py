"""Over HTTP on the running stack: SEH status and admission stops, NEDOCS, HAP status and GP
consults (counts and a FHIR agenda) are refused or stored, and show up live."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest

from stack.demo import location_resource
from tests.identities import Platform, Site
from tests.integration.helpers import raw_count, stored_count
from tests.waiting import wait_for

FHIR_JSON = {"Content-Type": "application/fhir+json"}


def _register(platform: Platform, sector: str, name: str, lat: float, lon: float) -> Site:
    """A location of a fresh organisation, registered by that organisation's provider."""
    suffix = uuid.uuid4().hex[:10]
    org_id, location_id = f"org-{suffix}", f"{sector}-{suffix}"
    provider = platform.provider(org_id, name, "87654321")
    provider.put(f"/fhir/Location/{location_id}",
                 json=location_resource(location_id, org_id, name, "west", lat, lon, sector),
                 ).raise_for_status()
    return Site(location_id, org_id, provider)


@pytest.fixture
def hospital_seh(platform: Platform) -> Site:
    """A registered hospital (sector hospital) in ROAZ region West, with its provider."""
    return _register(platform, "hospital", "HMC Westeinde", 52.0740, 4.3050)


@pytest.fixture
def hap(platform: Platform) -> Site:
    """A registered huisartsenpost (sector hap), with its provider."""
    return _register(platform, "hap", "HAP Haaglanden Westeinde", 52.0745, 4.3052)


@pytest.fixture
def gp_practice(platform: Platform) -> Site:
    """A registered huisartsenpraktijk (sector gp-practice), with its provider."""
    return _register(platform, "gp-practice", "Huisartsenpraktijk Zeeheldenkwartier",
                     52.0830, 4.2990)


def _live(reader: httpx.Client, path: str, location_id: str) -> dict[str, Any]:
    """The live figures of one location from /v1/availability or /v1/busyness, by code."""
    body = reader.get(path, params={"region": "west"}).json()
    for location in body["locations"]:
        if location["location_id"] == location_id:
            return {f["definition"]: f for f in location["figures"]}
    return {}


def _live_with(reader: httpx.Client, path: str, location_id: str,
               codes: set[str]) -> dict[str, Any]:
    """Wait until all `codes` are live for the location; return its figures."""
    return wait_for(lambda: (lambda f: f if codes <= set(f) else {})(
        _live(reader, path, location_id)), timeout=20, what=f"{sorted(codes)} at {location_id}")


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)


def test_seh_status_admission_stops_and_nedocs_show_up_live(
    zcv: httpx.Client, hospital_seh: Site,
) -> None:
    seh, provider = hospital_seh.location_id, hospital_seh.client
    observed = _now()
    expected_end = observed + timedelta(hours=2)
    status = {"location": seh, "observed_at": observed.isoformat(),
              "seh": {"status": "stop", "reason": "no-beds",
                      "expected_end": expected_end.isoformat()},
              "admission_stops": {"ic": True, "ccu": False, "stroke": None}}
    response = provider.post("/v1/hospital/seh-status", json=status)
    assert response.status_code == 202, response.text
    nedocs = {"location": seh, "observed_at": observed.isoformat(),
              "ed_patients": 30, "ed_treatment_places": 24, "admitted_boarders": 6,
              "ventilated_patients": 1, "longest_boarder_wait_min": 240,
              "last_bed_placement_wait_min": 60, "hospital_beds": 400}
    response = provider.post("/v1/hospital/nedocs", json=nedocs)
    assert response.status_code == 202, response.text

    available = _live_with(zcv, "/v1/availability", seh, {
        "hospital.seh.status", "hospital.seh.status_reason", "hospital.seh.status_expected_end",
        "hospital.admission_stop.ic", "hospital.admission_stop.ccu",
        "hospital.admission_stop.stroke", "hospital.beds.inpatient.total"})
    assert available["hospital.seh.status"]["value"] == "stop"
    assert available["hospital.seh.status_reason"]["value"] == "no-beds"
    end = available["hospital.seh.status_expected_end"]["value"]
    assert datetime.fromisoformat(end) == expected_end
    assert available["hospital.admission_stop.ic"]["value"] is True
    assert available["hospital.admission_stop.ccu"]["value"] is False
    stroke = available["hospital.admission_stop.stroke"]
    assert stroke["value"] is None and stroke["reported"] is False
    assert available["hospital.beds.inpatient.total"]["value"] == 400
    figure = available["hospital.seh.status"]
    assert datetime.fromisoformat(figure["observed_at"]) == observed
    assert figure["stale"] is False

    busy = _live_with(zcv, "/v1/busyness", seh, {
        "hospital.seh.nedocs_score", "hospital.seh.nedocs_band", "hospital.seh.patients"})
    # -20 + 85.8 x 30/24 + 600 x 6/400 + 13.4 x 1 + 0.93 x 4 h + 5.64 x 1 h = 119.01
    assert busy["hospital.seh.nedocs_score"]["value"] == 119.0
    assert busy["hospital.seh.nedocs_band"]["value"] == "overcrowded"
    assert busy["hospital.seh.patients"]["value"] == 30
    assert busy["hospital.seh.longest_boarder_wait"]["value"] == 240
    assert busy["hospital.seh.nedocs_score"]["stale"] is False


def test_seh_stop_without_expected_end_is_refused_and_nothing_stored(
    zcv: httpx.Client, hospital_seh: Site, db: psycopg.Connection[Any],
) -> None:
    seh, provider = hospital_seh.location_id, hospital_seh.client
    bad = {"location": seh, "observed_at": _now().isoformat(),
           "seh": {"status": "stop", "reason": "staff"}, "admission_stops": {"ic": True}}
    response = provider.post("/v1/hospital/seh-status", json=bad)
    assert response.status_code == 422, response.text
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert response.headers["content-type"].startswith("application/fhir+json")
    issues = {i["expression"][0]: i for i in outcome["issue"]}
    assert set(issues) == {"body.seh.expected_end"}
    assert issues["body.seh.expected_end"]["severity"] == "error"

    # A good message afterwards is the barrier: once it is stored, the bad one would be too.
    good = {**bad, "seh": {"status": "open"}}
    provider.post("/v1/hospital/seh-status", json=good).raise_for_status()
    wait_for(lambda: stored_count(db, seh) == 2, timeout=20, what="the good status")
    assert raw_count(db, seh) == 1
    assert _live(zcv, "/v1/availability", seh)["hospital.seh.status"]["value"] == "open"


def test_hap_status_shows_capacity_and_uitloop(zcv: httpx.Client, hap: Site) -> None:
    hap_id, provider = hap.location_id, hap.client
    observed = _now()
    status = {"location": hap_id, "observed_at": observed.isoformat(),
              "triagists_on_duty": 4, "doctors_on_duty": 6, "consults_free": 9,
              "visits_free": 3, "phone": {"queue": 5, "longest_wait_s": 140},
              "waiting_room": {"waiting": 3, "delay_min": None}}
    response = provider.post("/v1/hap/status", json=status)
    assert response.status_code == 202, response.text

    available = _live_with(zcv, "/v1/availability", hap_id, {
        "hap.triagists.on_duty", "hap.doctors.on_duty", "hap.consults.free", "hap.visits.free"})
    assert {code: f["value"] for code, f in available.items()} == {
        "hap.triagists.on_duty": 4, "hap.doctors.on_duty": 6, "hap.consults.free": 9,
        "hap.visits.free": 3}
    busy = _live_with(zcv, "/v1/busyness", hap_id, {
        "hap.uitloop.phone.queue", "hap.uitloop.phone.longest_wait",
        "hap.uitloop.physical.waiting", "hap.uitloop.physical.delay"})
    assert busy["hap.uitloop.phone.queue"]["value"] == 5
    assert busy["hap.uitloop.phone.longest_wait"]["value"] == 140
    assert busy["hap.uitloop.physical.waiting"]["value"] == 3
    assert busy["hap.uitloop.physical.delay"]["reported"] is False
    assert datetime.fromisoformat(busy["hap.uitloop.phone.queue"]["observed_at"]) == observed


def test_hap_status_for_a_hospital_is_refused(
    hospital_seh: Site, db: psycopg.Connection[Any],
) -> None:
    seh, provider = hospital_seh.location_id, hospital_seh.client
    status = {"location": seh, "observed_at": _now().isoformat(),
              "doctors_on_duty": 6}
    response = provider.post("/v1/hap/status", json=status)
    assert response.status_code == 422, response.text
    issue = response.json()["issue"][0]
    assert issue["expression"] == ["subject"]
    assert "is a hospital location" in issue["diagnostics"]
    assert raw_count(db, seh) == 0


def _slot(schedule: str, status: str, start: datetime) -> dict[str, Any]:
    return {"resource": {"resourceType": "Slot", "schedule": {"reference": schedule},
                         "status": status, "start": start.isoformat(),
                         "end": (start + timedelta(minutes=10)).isoformat()}}


def test_gp_agenda_and_counts_show_free_consults(zcv: httpx.Client, gp_practice: Site) -> None:
    practice, provider = gp_practice.location_id, gp_practice.client
    read_at = _now() - timedelta(minutes=1)
    schedule = "urn:uuid:" + str(uuid.uuid4())
    bundle = {"resourceType": "Bundle", "type": "collection", "timestamp": read_at.isoformat(),
              "entry": [
                  {"fullUrl": schedule, "resource": {
                      "resourceType": "Schedule", "active": True,
                      "actor": [{"reference": f"Location/{practice}"}]}},
                  _slot(schedule, "free", read_at - timedelta(minutes=5)),  # started
                  _slot(schedule, "free", read_at + timedelta(minutes=30)),  # U3 and U4
                  _slot(schedule, "busy", read_at + timedelta(minutes=40)),
                  _slot(schedule, "free", read_at + timedelta(hours=5)),  # U4 only
                  _slot(schedule, "free", read_at + timedelta(hours=25)),  # beyond U4
              ]}
    response = provider.post("/fhir/consult-slots", json=bundle, headers=FHIR_JSON)
    assert response.status_code == 202, response.text
    codes = {"gp.consults.u3.free", "gp.consults.u4.free"}
    figures = _live_with(zcv, "/v1/availability", practice, codes)
    assert {c: figures[c]["value"] for c in codes} == {"gp.consults.u3.free": 1,
                                                       "gp.consults.u4.free": 2}
    assert datetime.fromisoformat(figures["gp.consults.u3.free"]["observed_at"]) == read_at

    # The practice system sends counts a minute later: they replace the agenda's figures.
    counts = {"location": practice, "observed_at": _now().isoformat(),
              "u3_free": 3, "u4_free": 8}
    provider.post("/v1/gp/consults", json=counts).raise_for_status()
    wait_for(lambda: _live(zcv, "/v1/availability", practice)
             ["gp.consults.u4.free"]["value"] == 8, timeout=20, what="the newer counts")
    assert _live(zcv, "/v1/availability", practice)["gp.consults.u3.free"]["value"] == 3

    inverted = {**counts, "u3_free": 5, "u4_free": 2}
    response = provider.post("/v1/gp/consults", json=inverted)
    assert response.status_code == 422
    [issue] = response.json()["issue"]
    assert issue["expression"] == ["body.u3_free", "body.u4_free"]
    assert issue["details"]["coding"][0]["code"] == "gp.consults.u3-within-u4"
