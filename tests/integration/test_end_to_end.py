"""Over HTTP on the running stack: register, push, query; refuse bad input, store nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg

from stack.demo import location_resource
from tests.integration.helpers import figures_of, push, raw_count, stored_count
from tests.waiting import wait_for


def test_pushed_figures_show_up_in_live_availability(api: httpx.Client, hospital: str) -> None:
    observed = datetime.now(UTC) - timedelta(seconds=30)
    response = push(api, hospital, {"numICUBeds": 40, "numICUBedsOcc": 35,
                                    "numICUBedsAvail": None}, observed)
    assert response.status_code == 202, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")

    figures = wait_for(lambda: figures_of(api, hospital), timeout=20, what="live figures")
    assert set(figures) == {"hospital.beds.ic.staffed", "hospital.beds.ic.occupied",
                            "hospital.beds.ic.available"}
    staffed = figures["hospital.beds.ic.staffed"]
    assert staffed["value"] == 40 and staffed["reported"] is True
    assert datetime.fromisoformat(staffed["observed_at"]) == observed
    assert staffed["stale"] is False and staffed["definition_version"] == 1
    absent = figures["hospital.beds.ic.available"]
    assert absent["value"] is None and absent["reported"] is False
    assert absent["not_reported_reason"] == "unsupported"


def test_old_figures_are_marked_stale(api: httpx.Client, hospital: str) -> None:
    push(api, hospital, {"numICUBedsOcc": 12},
         datetime.now(UTC) - timedelta(hours=2)).raise_for_status()
    figures = wait_for(lambda: figures_of(api, hospital), timeout=20, what="live figures")
    assert figures["hospital.beds.ic.occupied"]["stale"] is True
    assert figures["hospital.beds.ic.occupied"]["age_seconds"] > 7000


def test_newer_report_replaces_the_live_figure(
    api: httpx.Client, hospital: str, db: psycopg.Connection[Any],
) -> None:
    t0 = datetime.now(UTC) - timedelta(minutes=2)
    push(api, hospital, {"numICUBedsOcc": 10}, t0).raise_for_status()
    push(api, hospital, {"numICUBedsOcc": 11}, t0 + timedelta(minutes=1)).raise_for_status()
    wait_for(lambda: stored_count(db, hospital) == 2, timeout=20, what="two observations")
    assert figures_of(api, hospital)["hospital.beds.ic.occupied"]["value"] == 11


def test_bad_report_gets_operation_outcome_and_nothing_is_stored(
    api: httpx.Client, hospital: str, db: psycopg.Connection[Any],
) -> None:
    response = push(api, hospital, {"numICUBeds": -5})
    assert response.status_code == 422
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    issue = outcome["issue"][0]
    assert issue["severity"] == "error"
    assert issue["expression"] == ["MeasureReport.group[0].population[0].count"]
    assert "must lie within" in issue["diagnostics"]

    malformed = api.post("/fhir/MeasureReport", content=b'{"resourceType": "MeasureReport",')
    assert malformed.status_code == 400
    assert malformed.json()["issue"][0]["code"] == "structure"

    # A good report afterwards is the barrier: once it is stored, the bad ones would be too.
    push(api, hospital, {"numICUBeds": 5}).raise_for_status()
    wait_for(lambda: stored_count(db, hospital) == 1, timeout=20, what="the good report")
    assert raw_count(db, hospital) == 1


def test_report_for_an_unregistered_location_is_refused(api: httpx.Client) -> None:
    response = push(api, "nowhere-123", {"numICUBeds": 5})
    assert response.status_code == 422
    issue = response.json()["issue"][0]
    assert issue["code"] == "not-found" and "PUT /fhir/Location/nowhere-123" in issue["diagnostics"]


def test_unknown_population_codes_come_back_as_warnings(api: httpx.Client, hospital: str) -> None:
    response = push(api, hospital, {"numICUBeds": 5, "numC19HospPats": 2})
    assert response.status_code == 202
    severities = [i["severity"] for i in response.json()["issue"]]
    assert severities == ["warning", "information"]


def test_location_of_an_unregistered_organisation_is_refused(api: httpx.Client) -> None:
    location = location_resource("loc-orphan", "org-missing", "Nergens", "west", 52.0, 4.0)
    response = api.put("/fhir/Location/loc-orphan", json=location)
    assert response.status_code == 422
    assert response.json()["issue"][0]["expression"] == ["Location.managingOrganization"]


def test_reregistering_a_location_updates_it(api: httpx.Client, hospital: str) -> None:
    current = api.get("/openapi.json")  # the API answers; now update the location
    assert current.status_code == 200
    org_id = "org-" + hospital.removeprefix("loc-")
    moved = location_resource(hospital, org_id, "Verhuisd", "zuidwest", 51.9, 4.47)
    response = api.put(f"/fhir/Location/{hospital}", json=moved)
    assert response.status_code == 200 and response.json()["name"] == "Verhuisd"


def test_unknown_region_is_a_clear_error(api: httpx.Client) -> None:
    response = api.get("/v1/availability", params={"region": "atlantis"})
    assert response.status_code == 422
    assert "unknown ROAZ region" in response.json()["detail"]
