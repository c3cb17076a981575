"""Over HTTP on the running stack: register, push, query; refuse bad input, store nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg

from stack.demo import location_resource
from tests.identities import Site
from tests.integration.helpers import all_figures_of, figures_of, push, raw_count, stored_count
from tests.waiting import wait_for


def test_pushed_figures_show_up_in_live_availability(
    provider: httpx.Client, zcv: httpx.Client, hospital: str,
) -> None:
    observed = datetime.now(UTC) - timedelta(seconds=30)
    response = push(provider, hospital, {"numICUBeds": 40, "numICUBedsOcc": 35,
                                    "numICUBedsAvail": None}, observed)
    assert response.status_code == 202, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")

    wanted = {"hospital.beds.ic.staffed", "hospital.beds.ic.occupied",
              "hospital.beds.ic.available"}
    figures = wait_for(lambda: all_figures_of(zcv, hospital, wanted), timeout=20,
                       what="live figures")
    assert set(figures) == wanted
    staffed = figures["hospital.beds.ic.staffed"]
    assert staffed["value"] == 40 and staffed["reported"] is True
    assert datetime.fromisoformat(staffed["observed_at"]) == observed
    assert staffed["stale"] is False and staffed["definition_version"] == 1
    absent = figures["hospital.beds.ic.available"]
    assert absent["value"] is None and absent["reported"] is False
    assert absent["not_reported_reason"] == "unsupported"


def test_old_figures_are_marked_stale(
    provider: httpx.Client, zcv: httpx.Client, hospital: str,
) -> None:
    push(provider, hospital, {"numICUBedsOcc": 12},
         datetime.now(UTC) - timedelta(hours=2)).raise_for_status()
    figures = wait_for(lambda: figures_of(zcv, hospital), timeout=20, what="live figures")
    assert figures["hospital.beds.ic.occupied"]["stale"] is True
    assert figures["hospital.beds.ic.occupied"]["age_seconds"] > 7000


def test_newer_report_replaces_the_live_figure(
    provider: httpx.Client, zcv: httpx.Client, hospital: str, db: psycopg.Connection[Any],
) -> None:
    t0 = datetime.now(UTC) - timedelta(minutes=2)
    push(provider, hospital, {"numICUBedsOcc": 10}, t0).raise_for_status()
    push(provider, hospital, {"numICUBedsOcc": 11}, t0 + timedelta(minutes=1)).raise_for_status()
    wait_for(lambda: stored_count(db, hospital) == 2, timeout=20, what="two observations")
    assert figures_of(zcv, hospital)["hospital.beds.ic.occupied"]["value"] == 11


def test_bad_report_gets_operation_outcome_and_nothing_is_stored(
    provider: httpx.Client, hospital: str, db: psycopg.Connection[Any],
) -> None:
    response = push(provider, hospital, {"numICUBeds": -5})
    assert response.status_code == 422
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    issue = outcome["issue"][0]
    assert issue["severity"] == "error"
    assert issue["expression"] == ["MeasureReport.group[0].population[0].count"]
    assert "must lie within" in issue["diagnostics"]

    malformed = provider.post("/fhir/MeasureReport",
                              content=b'{"resourceType": "MeasureReport",',
                              headers={"Content-Type": "application/fhir+json"})
    assert malformed.status_code == 400
    assert malformed.json()["issue"][0]["code"] == "structure"

    # A good report afterwards is the barrier: once it is stored, the bad ones would be too.
    push(provider, hospital, {"numICUBeds": 5}).raise_for_status()
    wait_for(lambda: stored_count(db, hospital) == 1, timeout=20, what="the good report")
    assert raw_count(db, hospital) == 1


def test_report_for_an_unregistered_location_is_refused(provider: httpx.Client) -> None:
    response = push(provider, "nowhere-123", {"numICUBeds": 5})
    assert response.status_code == 404
    issue = response.json()["issue"][0]
    assert issue["code"] == "not-found" and "PUT /fhir/Location/nowhere-123" in issue["diagnostics"]


def test_unknown_population_codes_come_back_as_warnings(
    provider: httpx.Client, hospital: str,
) -> None:
    response = push(provider, hospital, {"numICUBeds": 5, "numC19HospPats": 2})
    assert response.status_code == 202
    severities = [i["severity"] for i in response.json()["issue"]]
    assert severities == ["warning", "information"]


def test_a_location_is_registered_for_the_callers_own_organisation_only(
    provider: httpx.Client,
) -> None:
    location = location_resource("loc-orphan", "org-missing", "Nergens", "west", 52.0, 4.0)
    response = provider.put("/fhir/Location/loc-orphan", json=location)
    assert response.status_code == 403
    issue = response.json()["issue"][0]
    assert issue["code"] == "forbidden" and "Organization/org-missing" in issue["diagnostics"]


def test_reregistering_a_location_updates_it(hospital_site: Site) -> None:
    moved = location_resource(hospital_site.location_id, hospital_site.organization_id,
                              "Verhuisd", "zuidwest", 51.9, 4.47)
    response = hospital_site.client.put(f"/fhir/Location/{hospital_site.location_id}",
                                        json=moved)
    assert response.status_code == 200 and response.json()["name"] == "Verhuisd"


def test_unknown_region_is_a_clear_error(zcv: httpx.Client) -> None:
    response = zcv.get("/v1/availability", params={"region": "atlantis"})
    assert response.status_code == 422
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["expression"] == ["region"]
    assert "unknown ROAZ region" in outcome["issue"][0]["diagnostics"]


def test_without_a_point_there_is_no_distance(
    provider: httpx.Client, zcv: httpx.Client, hospital: str,
) -> None:
    push(provider, hospital, {"numICUBeds": 5}).raise_for_status()
    wait_for(lambda: figures_of(zcv, hospital), timeout=20, what="live figures")
    body = zcv.get("/v1/availability", params={"region": "west"}).json()
    ours = next(loc for loc in body["locations"] if loc["location_id"] == hospital)
    assert ours["distance_km"] is None
