"""The FHIR side as a FHIR client sees it, with fhirpy (sync) against the running stack:
create via PUT, the CapabilityStatement, every search parameter, paging, who sees what, and
every refusal an OperationOutcome. Also the HTTP contract around it: OPTIONS and 405 name the
methods a path takes, and a parameter FastAPI cannot read is an OperationOutcome naming it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import ForbiddenError, OperationOutcome, ResourceNotFound

from stack import demo
from stack.config import StackConfig
from tests.identities import Platform, token_of
from tests.integration.helpers import push, stored_count
from tests.waiting import wait_for

SECTOR = "https://zorgcapaciteit.nl/fhir/CodeSystem/sector"
LOCAL_ID = "https://zorgcapaciteit.test/location-id"
AVAILABLE = "https://zorgcapaciteit.nl/fhir/Measure/available-capacity"
BUSYNESS = "https://zorgcapaciteit.nl/fhir/Measure/busyness"


def _token(client: httpx.Client) -> str:
    client.get("/v1/definitions").raise_for_status()  # signs the client in
    token = token_of(client)
    assert token is not None
    return str(token)


def fhir_client(stack: StackConfig, client: httpx.Client | None = None) -> SyncFHIRClient:
    """fhirpy against the test stack, with `client`'s token (none: anonymous)."""
    authorization = f"Bearer {_token(client)}" if client is not None else None
    return SyncFHIRClient(f"{stack.api_url}/fhir", authorization=authorization,
                          requests_config={"timeout": 15})


@dataclass(frozen=True)
class World:
    """A hospital organisation in West with three locations (one a HAP), one in
    Noord-Nederland, and fhirpy clients of both providers."""

    suffix: str
    west_org: str
    west: SyncFHIRClient
    west_http: httpx.Client
    leiden: str
    leiderdorp: str
    hap: str
    north_org: str
    north: SyncFHIRClient
    north_http: httpx.Client
    groningen: str


def _location(fhir: SyncFHIRClient, location_id: str, org: str, region: str, lat: float,
              lon: float, sector: str = "hospital") -> None:
    body = demo.location_resource(location_id, org, f"Locatie {location_id}", region, lat, lon,
                                  sector)
    body["identifier"] = [{"system": LOCAL_ID, "value": location_id.upper()}]
    fhir.resource("Location", **body).save()  # PUT Location/<id>: update as create


@pytest.fixture(scope="module")
def world(stack: StackConfig, platform: Platform) -> World:
    suffix = uuid.uuid4().hex[:8]
    west_org, north_org = f"fs-west-{suffix}", f"fs-north-{suffix}"
    west_http = platform.provider(west_org, f"Ziekenhuis West {suffix}", ura="12345670")
    north_http = platform.provider(north_org, f"Ziekenhuis Noord {suffix}", ura="76543210")
    west, north = fhir_client(stack, west_http), fhir_client(stack, north_http)
    names = {"leiden": f"fs-leiden-{suffix}", "leiderdorp": f"fs-leiderdorp-{suffix}",
             "hap": f"fs-hap-{suffix}", "groningen": f"fs-groningen-{suffix}"}
    _location(west, names["leiden"], west_org, "west", 52.1665, 4.4782)
    _location(west, names["leiderdorp"], west_org, "west", 52.1580, 4.5290)
    _location(west, names["hap"], west_org, "west", 52.0900, 4.3000, sector="hap")
    _location(north, names["groningen"], north_org, "noord-nederland", 53.2194, 6.5665)
    return World(suffix, west_org, west, west_http, names["leiden"], names["leiderdorp"],
                 names["hap"], north_org, north, north_http, names["groningen"])


def _ids(resources: list[Any]) -> list[str]:
    return [str(r["id"]) for r in resources]


def _outcome(raised: pytest.ExceptionInfo[OperationOutcome]) -> dict[str, Any]:
    resource: dict[str, Any] = raised.value.resource
    assert resource["resourceType"] == "OperationOutcome"
    return resource


def test_metadata_is_the_capability_statement_of_what_is_served(stack: StackConfig) -> None:
    anonymous = fhir_client(stack)
    statement = anonymous.execute("metadata", method="get")
    CapabilityStatement.model_validate({**statement, "fhirVersion": "4.3.0"})  # R4B model
    assert statement["fhirVersion"] == "4.0.1" and statement["kind"] == "instance"
    rest = statement["rest"][0]
    resources = {r["type"]: r for r in rest["resource"]}
    assert set(resources) == {"Organization", "Location", "HealthcareService", "MeasureReport",
                              "Slot", "Appointment", "AppointmentResponse"}  # docs/planning.md
    location = resources["Location"]
    assert [i["code"] for i in location["interaction"]] == [
        "read", "update", "history-instance", "search-type"]
    assert {p["name"] for p in location["searchParam"]} == {
        "_id", "identifier", "name", "type", "organization", "near"}
    assert {p["name"] for p in resources["MeasureReport"]["searchParam"]} == {
        "subject", "measure", "date", "period"}
    assert [i["code"] for i in resources["MeasureReport"]["interaction"]] == [
        "create", "search-type"]
    token_uri = rest["security"]["extension"][0]["extension"][0]["valueUri"]
    assert token_uri == f"{stack.api_url}/oauth/token"


def test_create_via_put_then_read_and_search_by_id(world: World) -> None:
    service_id = f"fs-seh-{world.suffix}"
    service = world.west.resource(
        "HealthcareService", id=service_id, name="SEH", active=True,
        providedBy={"reference": f"Organization/{world.west_org}"},
        location=[{"reference": f"Location/{world.leiden}"}])
    service.save()
    assert service["meta"]["versionId"] == "1"
    read = world.west.reference("Location", world.leiden).to_resource()
    assert read["managingOrganization"]["reference"] == f"Organization/{world.west_org}"
    found = world.west.resources("Location").search(_id=world.leiden).fetch()
    assert _ids(found) == [world.leiden]
    assert _ids(world.west.resources("HealthcareService").search(
        location=f"Location/{world.leiden}").fetch()) == [service_id]
    assert _ids(world.west.resources("HealthcareService").search(
        organization=world.west_org).fetch()) == [service_id]


def test_each_location_search_parameter(world: World) -> None:
    locations = world.west.resources("Location")
    mine = {world.leiden, world.leiderdorp, world.hap}
    assert set(_ids(locations.search(organization=f"Organization/{world.west_org}")
                    .fetch_all())) == mine
    assert _ids(locations.search(identifier=f"{LOCAL_ID}|{world.leiderdorp.upper()}")
                .fetch()) == [world.leiderdorp]
    assert _ids(locations.search(identifier=world.hap.upper()).fetch()) == [world.hap]
    assert _ids(locations.search(identifier=f"{LOCAL_ID}|nobody").fetch()) == []
    assert set(_ids(locations.search(type=f"{SECTOR}|hospital").fetch_all())) == {
        world.leiden, world.leiderdorp}
    assert _ids(locations.search(type="hap").fetch()) == [world.hap]
    assert _ids(locations.search(_id=f"{world.leiden},{world.hap}", type="hap")
                .fetch()) == [world.hap]
    assert _ids(locations.search(name=f"locatie fs-leiderdorp-{world.suffix}")
                .fetch()) == [world.leiderdorp]


def test_near_finds_within_the_distance_nearest_first(world: World) -> None:
    locations = world.west.resources("Location")
    # From Leiden station: Leiden 0.2 km, Leiderdorp 3.4 km, the HAP near The Hague 15 km.
    bundle = locations.search(near="52.1664|4.4811|5|km").fetch_raw()
    assert [e["resource"]["id"] for e in bundle["entry"]] == [world.leiden, world.leiderdorp]
    distance = bundle["entry"][1]["search"]["extension"][0]
    assert distance["url"] == "http://hl7.org/fhir/StructureDefinition/location-distance"
    assert 2.0 < distance["valueDistance"]["value"] < 5.0
    assert distance["valueDistance"]["code"] == "km"
    assert _ids(locations.search(near="52.1664|4.4811|1000|m").fetch()) == [world.leiden]
    assert _ids(locations.search(near="52.1664|4.4811|20").fetch_all()) == [
        world.leiden, world.leiderdorp, world.hap]  # km when no unit is given


def test_paging_follows_next_links(world: World) -> None:
    locations = world.west.resources("Location").search(
        organization=world.west_org).limit(2)
    first = locations.fetch_raw()
    assert first["total"] == 3 and len(first["entry"]) == 2
    links = {link["relation"]: link["url"] for link in first["link"]}
    assert "_count=2" in links["next"] and "_offset=2" in links["next"]
    assert "previous" not in links
    every = locations.fetch_all()  # fhirpy follows the next links
    assert sorted(_ids(every)) == sorted([world.leiden, world.leiderdorp, world.hap])
    second = world.west.execute(links["next"], method="get")
    assert len(second["entry"]) == 1 and {lk["relation"] for lk in second["link"]} == {
        "self", "first", "previous"}
    assert locations.count() == 3


def test_a_west_zcv_does_not_see_noord_nederland(world: World, stack: StackConfig,
                                                platform: Platform) -> None:
    west_zcv = fhir_client(stack, platform.zcv(("west",)))
    seen = set(_ids(west_zcv.resources("Location").search(
        _id=f"{world.leiden},{world.groningen}").fetch()))
    assert seen == {world.leiden}
    organizations = set(_ids(west_zcv.resources("Organization").search(
        _id=f"{world.west_org},{world.north_org}").fetch()))
    assert organizations == {world.west_org}
    national = fhir_client(stack, platform.zcv(national=True))
    assert set(_ids(national.resources("Location").search(
        _id=f"{world.leiden},{world.groningen}").fetch())) == {world.leiden, world.groningen}
    north_zcv = fhir_client(stack, platform.zcv(("noord-nederland",)))
    assert _ids(north_zcv.resources("Location").search(
        near="53.2194|6.5665|1|km", organization=world.north_org).fetch()) == [world.groningen]


def test_a_provider_sees_only_its_own_organisation(world: World, stack: StackConfig,
                                                   admin: httpx.Client) -> None:
    both = f"{world.leiden},{world.groningen}"
    assert _ids(world.west.resources("Location").search(_id=both).fetch()) == [world.leiden]
    assert _ids(world.north.resources("Location").search(_id=both).fetch()) == [
        world.groningen]
    assert _ids(world.north.resources("Organization").search(
        identifier="http://fhir.nl/fhir/NamingSystem/ura|12345670").fetch()) == []
    assert _ids(world.west.resources("Organization").search(
        identifier="http://fhir.nl/fhir/NamingSystem/ura|12345670").fetch()) == [world.west_org]
    # An administrator reads every registration, but no figures.
    operator = fhir_client(stack, admin)
    assert set(_ids(operator.resources("Location").search(_id=both).fetch())) == {
        world.leiden, world.groningen}
    with pytest.raises(ForbiddenError):
        operator.resources("MeasureReport").search(subject=world.leiden).fetch()


@pytest.fixture(scope="module")
def reported(world: World) -> Iterator[datetime]:
    """Figures at Leiden (a MeasureReport and a NEDOCS message) and at Groningen, stored."""
    moment = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    push(world.west_http, world.leiden, {"numICUBeds": 12, "numICUBedsAvail": 3,
                                         "numICUBedsOcc": None}, moment).raise_for_status()
    world.west_http.post("/v1/hospital/nedocs", json={
        "location": world.leiden, "observed_at": moment.isoformat(), "ed_patients": 30,
        "admitted_boarders": 4}).raise_for_status()
    push(world.north_http, world.groningen, {"numICUBedsAvail": 1},
         moment).raise_for_status()
    yield moment


def test_measure_reports_are_built_from_the_stored_figures(
    world: World, reported: datetime, db: psycopg.Connection[Any],
) -> None:
    wait_for(lambda: stored_count(db, world.leiden) >= 5 and stored_count(db, world.groningen),
             timeout=30, what="the figures stored")
    reports = world.west.resources("MeasureReport").search(
        subject=f"Location/{world.leiden}").fetch_all()
    by_measure = {r["measure"]: r for r in reports}
    assert set(by_measure) == {AVAILABLE, BUSYNESS}
    capacity = by_measure[AVAILABLE]
    assert capacity["status"] == "complete" and capacity["type"] == "summary"
    assert datetime.fromisoformat(capacity["date"]) == reported
    assert capacity["subject"]["reference"] == f"Location/{world.leiden}"
    populations = {p["code"]["coding"][0]["code"]: p
                   for p in capacity["group"][0]["population"]}
    assert populations["hospital.beds.ic.available"]["count"] == 3
    assert populations["hospital.beds.ic.staffed"]["count"] == 12
    occupied = populations["hospital.beds.ic.occupied"]
    assert "count" not in occupied  # not reported is never 0
    assert occupied["_count"]["extension"][0]["valueCode"] == "unsupported"
    busy = {p["code"]["coding"][0]["code"]: p["count"]
            for p in by_measure[BUSYNESS]["group"][0]["population"]}
    assert busy == {"hospital.seh.patients": 30, "hospital.seh.admitted_boarders": 4}
    assert _ids(world.west.resources("MeasureReport").search(
        subject=world.leiden, measure=BUSYNESS).fetch()) == [by_measure[BUSYNESS]["id"]]
    # A report as served is a report the platform takes.
    again = world.west_http.post("/fhir/MeasureReport", json=capacity,
                                 headers={"Content-Type": "application/fhir+json"})
    assert again.status_code == 202, again.text


def test_measure_reports_by_date_and_period(world: World, reported: datetime,
                                            db: psycopg.Connection[Any]) -> None:
    wait_for(lambda: stored_count(db, world.leiden) >= 5, timeout=30, what="the figures")
    reports = world.west.resources("MeasureReport")
    before, after = reported - timedelta(minutes=1), reported + timedelta(minutes=1)
    at = reports.search(subject=world.leiden, date=[f"ge{before.isoformat()}",
                                                    f"lt{after.isoformat()}"]).fetch()
    assert len(at) == 2
    assert reports.search(subject=world.leiden, date=f"gt{after.isoformat()}").fetch() == []
    assert len(reports.search(subject=world.leiden,
                              period=f"eq{reported.isoformat()}").fetch()) == 2
    assert reports.search(subject=world.leiden,
                          period=f"lt{(reported - timedelta(days=2)).date()}").fetch() == []


def test_measure_reports_follow_the_read_scope(world: World, reported: datetime,
                                               stack: StackConfig, platform: Platform,
                                               db: psycopg.Connection[Any]) -> None:
    wait_for(lambda: stored_count(db, world.groningen) >= 1, timeout=30, what="the figures")
    both = f"{world.leiden},{world.groningen}"
    west_zcv = fhir_client(stack, platform.zcv(("west",)))
    subjects = {r["subject"]["reference"] for r in west_zcv.resources("MeasureReport").search(
        subject=both).fetch_all()}
    assert subjects == {f"Location/{world.leiden}"}
    assert {r["subject"]["reference"] for r in world.north.resources("MeasureReport").search(
        subject=both).fetch_all()} == {f"Location/{world.groningen}"}


def test_refusals_are_operation_outcomes(world: World, stack: StackConfig) -> None:
    locations = world.west.resources("Location")
    with pytest.raises(OperationOutcome) as bad_near:
        locations.search(near="52.1|east").fetch()
    assert _outcome(bad_near)["issue"][0]["expression"] == ["near"]
    with pytest.raises(OperationOutcome) as bad_count:
        locations.search(_count="many").fetch()
    assert _outcome(bad_count)["issue"][0]["expression"] == ["_count"]
    with pytest.raises(OperationOutcome) as modifier:
        locations.search(**{"name:exact": "x"}).fetch()
    assert _outcome(modifier)["issue"][0]["code"] == "not-supported"
    with pytest.raises(OperationOutcome) as bad_date:
        world.west.resources("MeasureReport").search(date="ge2026-13-45").fetch()
    assert _outcome(bad_date)["issue"][0]["expression"] == ["date"]
    with pytest.raises(ResourceNotFound):
        world.west.reference("Location", f"fs-nowhere-{world.suffix}").to_resource()
    with pytest.raises(OperationOutcome) as refused_put:
        world.west.resource("Location", id=f"fs-bad-{world.suffix}", name="x").save()
    assert _outcome(refused_put)["issue"][0]["expression"]


def test_unknown_parameters_are_ignored_unless_strict(world: World, stack: StackConfig) -> None:
    lenient = world.west_http.get("/fhir/Location", params={"_id": world.leiden,
                                                            "colour": "blue"})
    assert lenient.status_code == 200
    bundle = lenient.json()
    assert [e["resource"]["id"] for e in bundle["entry"] if e["search"]["mode"] == "match"] == [
        world.leiden]
    outcome = [e["resource"] for e in bundle["entry"] if e["search"]["mode"] == "outcome"]
    assert outcome[0]["issue"][0]["expression"] == ["colour"]
    assert "colour" not in bundle["link"][0]["url"]
    strict = world.west_http.get("/fhir/Location", params={"colour": "blue"},
                                 headers={"Prefer": "handling=strict"})
    assert strict.status_code == 400
    assert strict.headers["content-type"].startswith("application/fhir+json")
    assert strict.json()["issue"][0]["expression"] == ["colour"]


def test_options_and_405_name_every_method_of_the_path(api: httpx.Client) -> None:
    options = api.options("/fhir/Location/anything")
    assert options.status_code == 204
    assert options.headers["Allow"] == "GET, OPTIONS, PUT"
    assert api.options("/fhir/MeasureReport").headers["Allow"] == "GET, OPTIONS, POST"
    refused = api.delete("/fhir/Location/anything")
    assert refused.status_code == 405 and refused.headers["Allow"] == "GET, OPTIONS, PUT"
    assert refused.json()["resourceType"] == "OperationOutcome"
    assert api.options("/nowhere").status_code == 404


def test_a_parameter_fastapi_cannot_read_is_an_outcome_naming_it(world: World) -> None:
    answer = world.west_http.get("/v1/availability", params={"near": "52.1,4.4",
                                                             "radius_km": "far"})
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/fhir+json")
    issue = answer.json()["issue"][0]
    assert issue["expression"] == ["radius_km"] and issue["code"] == "value"
    not_json = world.west_http.post("/v1/alert-rules", content=b"{not json",
                                    headers={"Content-Type": "application/json"})
    assert not_json.status_code == 400
    assert not_json.json()["issue"][0]["code"] == "structure"
