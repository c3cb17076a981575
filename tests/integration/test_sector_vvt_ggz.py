"""VVT and acute GGZ over HTTP on the running stack: register, push every format, query, refuse.

A VVT organisation with two ELV locations and a GGZ crisis centre push beds as JSON and as the
ELV spreadsheet (CSV, both locations in one file), VVT and GGZ status, and a GGZ MeasureReport
with platform codes; the figures show up per sector in /v1/availability and /v1/busyness with
their observed time and staleness. Each organisation pushes with its own provider client; a
national ZCV reads. Bad input is refused with an OperationOutcome and stores nothing, and so is
a file about another organisation's location.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest

from stack.demo import location_resource
from tests.identities import Platform
from tests.integration.helpers import raw_count, stored_count
from tests.waiting import wait_for

CAPACITY_ITEM_SYSTEM = "https://zorgcapaciteit.nl/fhir/CodeSystem/capacity-item"
CSV_HEADER = "locatie;zorgsoort;beschikbaar;totaal;tijdstip"


@dataclass(frozen=True)
class Providers:
    """The registered VVT locations (one organisation) and the GGZ location (another), with
    each organisation's provider client."""

    elv: str
    elv_other: str
    ggz: str
    vvt_client: httpx.Client
    ggz_client: httpx.Client


def _register(platform: Platform, sector: str, names: list[str],
              ura: str) -> tuple[httpx.Client, list[str]]:
    """A new organisation, registered by the admin, whose provider registers its locations."""
    suffix = uuid.uuid4().hex[:8]
    org_id = f"org-{sector}-{suffix}"
    client = platform.provider(org_id, f"Zorggroep {suffix}", ura)
    locations = []
    for i, name in enumerate(names):
        location_id = f"{sector}-{name}-{suffix}"
        client.put(f"/fhir/Location/{location_id}", json=location_resource(
            location_id, org_id, f"{name} {suffix}", "west", 52.07 + i / 100, 4.30, sector,
        )).raise_for_status()
        locations.append(location_id)
    return client, locations


@pytest.fixture
def providers(platform: Platform) -> Providers:
    """A VVT organisation with two ELV locations, and an acute GGZ crisis centre."""
    vvt, (elv, elv_other) = _register(platform, "vvt", ["mariahoeve", "zuiderpark"],
                                      "00007431")
    ggz_client, (ggz,) = _register(platform, "ggz", ["crisiscentrum"], "00003390")
    return Providers(elv, elv_other, ggz, vvt, ggz_client)


def _ago(minutes: float) -> datetime:
    return (datetime.now(UTC) - timedelta(minutes=minutes)).replace(microsecond=0)


def _live(zcv: httpx.Client, query: str, sector: str, location_id: str) -> dict[str, Any]:
    """The live figures of one location from /v1/{query}?sector=..., by definition code."""
    response = zcv.get(f"/v1/{query}", params={"sector": sector, "region": "west"})
    response.raise_for_status()
    for location in response.json()["locations"]:
        if location["location_id"] == location_id:
            assert location["sector"] == sector
            return {f["definition"]: f for f in location["figures"]}
    return {}


def _await(zcv: httpx.Client, query: str, sector: str, location_id: str,
           codes: set[str]) -> dict[str, Any]:
    def probe() -> dict[str, Any]:
        figures = _live(zcv, query, sector, location_id)
        return figures if codes <= set(figures) else {}
    return wait_for(probe, timeout=20, what=f"{sorted(codes)} at {location_id}")


def _post_json(api: httpx.Client, path: str, body: dict[str, Any]) -> httpx.Response:
    return api.post(path, json=body)


def _post_csv(api: httpx.Client, *rows: str) -> httpx.Response:
    text = "\r\n".join([CSV_HEADER, *rows]) + "\r\n"
    return api.post("/v1/vvt/beds.csv", content=text.encode("utf-8"),
                    headers={"Content-Type": "text/csv; charset=utf-8"})


def _issues(response: httpx.Response) -> list[dict[str, Any]]:
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    return [i for i in outcome["issue"] if i["severity"] == "error"]


def _population(code: str, count: int | None) -> dict[str, Any]:
    population: dict[str, Any] = {"code": {"coding": [{"system": CAPACITY_ITEM_SYSTEM,
                                                       "code": code}]}}
    if count is None:
        population["_count"] = {"extension": [{
            "url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason",
            "valueCode": "temp-unknown"}]}
    else:
        population["count"] = count
    return population


def _ggz_report(location_id: str, figures: dict[str, int | None],
                observed_at: datetime) -> dict[str, Any]:
    return {
        "resourceType": "MeasureReport", "status": "complete", "type": "summary",
        "measure": "https://zorgcapaciteit.nl/fhir/Measure/ggz-capacity",
        "subject": {"reference": f"Location/{location_id}"},
        "date": observed_at.isoformat(),
        "period": {"start": observed_at.isoformat(), "end": observed_at.isoformat()},
        "group": [{"population": [_population(c, n) for c, n in figures.items()]}],
    }


def test_vvt_beds_json_and_csv_show_up_per_location(
    zcv: httpx.Client, providers: Providers,
) -> None:
    vvt = providers.vvt_client
    now, old = _ago(1), _ago(5 * 60)
    response = _post_json(vvt, "/v1/vvt/beds", {
        "location": providers.elv, "observed_at": now.isoformat(),
        "beds": {"elv_palliative": {"available": 1, "total": 4},
                 "wlz_crisis": {"available": None, "total": 2}}})
    assert response.status_code == 202, response.text
    # One spreadsheet for both locations; the second location's rows are five hours old.
    response = _post_csv(
        vvt, f"{providers.elv};ELV laag complex;2;14;{now.isoformat()}",
        f"{providers.elv};GRZ;;20;{now.isoformat()}",
        f"{providers.elv_other};ELV hoog complex;0;6;{old.isoformat()}")
    assert response.status_code == 202, response.text

    expected = {
        "vvt.beds.elv_palliative.available": 1, "vvt.beds.elv_palliative.total": 4,
        "vvt.beds.wlz_crisis.available": None, "vvt.beds.wlz_crisis.total": 2,
        "vvt.beds.elv_low_complex.available": 2, "vvt.beds.elv_low_complex.total": 14,
        "vvt.beds.grz.available": None, "vvt.beds.grz.total": 20}
    # Two messages, each stored in its own sink batch, possibly apart: await all eight.
    elv = _await(zcv, "availability", "vvt", providers.elv, set(expected))
    assert {code: f["value"] for code, f in elv.items()} == expected
    assert elv["vvt.beds.wlz_crisis.available"]["reported"] is False
    assert elv["vvt.beds.grz.available"]["not_reported_reason"] == "unknown"
    assert all(datetime.fromisoformat(f["observed_at"]) == now for f in elv.values())
    assert not any(f["stale"] for f in elv.values())

    other = _await(zcv, "availability", "vvt", providers.elv_other,
                   {"vvt.beds.elv_high_complex.available", "vvt.beds.elv_high_complex.total"})
    available, total = (other[f"vvt.beds.elv_high_complex.{k}"] for k in ("available", "total"))
    assert (available["value"], total["value"]) == (0, 6)
    assert datetime.fromisoformat(available["observed_at"]) == old
    # Free beds go stale after 4 hours; the contracted total only after a week.
    assert available["stale"] is True and total["stale"] is False


def test_vvt_status_gives_district_nursing_and_busyness(
    zcv: httpx.Client, providers: Providers,
) -> None:
    observed = _ago(2)
    response = _post_json(providers.vvt_client, "/v1/vvt/status", {
        "location": providers.elv, "observed_at": observed.isoformat(),
        "district_nursing_teams_available": 3, "busyness_level": "3"})
    assert response.status_code == 202, response.text

    busy = _await(zcv, "busyness", "vvt", providers.elv, {"vvt.busyness.level"})
    level = busy["vvt.busyness.level"]
    assert (level["value"], level["value_type"], level["stale"]) == ("3", "code", False)
    assert datetime.fromisoformat(level["observed_at"]) == observed
    teams = _await(zcv, "availability", "vvt", providers.elv,
                   {"vvt.district_nursing.teams_available"})
    assert teams["vvt.district_nursing.teams_available"]["value"] == 3
    assert "vvt.busyness.level" not in teams  # busyness is not available capacity


def test_ggz_status_and_measure_report_show_up_under_ggz(
    zcv: httpx.Client, providers: Providers, db: psycopg.Connection[Any],
) -> None:
    ggz_client = providers.ggz_client
    response = _post_json(ggz_client, "/v1/ggz/status", {
        "location": providers.ggz, "observed_at": _ago(3).isoformat(),
        "crisis_beds": {"available": 1, "total": 6}, "iht_capacity": 2,
        "crisis_service_available": True, "doctor_available": False})
    assert response.status_code == 202, response.text
    report = _ggz_report(providers.ggz, {"ggz.beds.hic.available": 0, "ggz.beds.hic.total": 12,
                                         "ggz.iht.capacity": None}, _ago(1))
    response = ggz_client.post("/fhir/MeasureReport", json=report,
                               headers={"Content-Type": "application/fhir+json"})
    assert response.status_code == 202, response.text

    wait_for(lambda: stored_count(db, providers.ggz) == 8, timeout=20, what="8 GGZ figures")
    ggz = _live(zcv, "availability", "ggz", providers.ggz)
    assert {code: f["value"] for code, f in ggz.items()} == {
        "ggz.beds.crisis.available": 1, "ggz.beds.crisis.total": 6,
        "ggz.beds.hic.available": 0, "ggz.beds.hic.total": 12,
        "ggz.iht.capacity": None,  # the newer report says it is not known right now
        "ggz.crisis_service.available": True, "ggz.doctor.available": False}
    assert ggz["ggz.iht.capacity"]["not_reported_reason"] == "temp-unknown"
    assert not any(f["stale"] for f in ggz.values())
    assert _live(zcv, "availability", "vvt", providers.ggz) == {}


def test_csv_naming_an_unregistered_location_is_refused_and_stores_nothing(
    zcv: httpx.Client, providers: Providers, db: psycopg.Connection[Any],
) -> None:
    vvt = providers.vvt_client
    nowhere = f"vvt-nergens-{uuid.uuid4().hex[:8]}"
    at = _ago(1).isoformat()
    response = _post_csv(vvt, f"{providers.elv_other};GRZ;1;10;{at}",
                         f"{nowhere};ELV laag complex;2;12;{at}")
    assert response.status_code == 404, response.text
    [issue] = _issues(response)
    assert issue["code"] == "not-found" and f"Location/{nowhere}" in issue["diagnostics"]

    # A good file afterwards is the barrier: once it is stored, the refused one would be too.
    _post_csv(vvt, f"{providers.elv_other};GRZ;3;10;{at}").raise_for_status()
    wait_for(lambda: stored_count(db, providers.elv_other) == 2, timeout=20,
             what="the good file")
    assert raw_count(db, providers.elv_other) == 1
    assert stored_count(db, nowhere) == 0
    assert _live(zcv, "availability", "vvt", providers.elv_other)[
        "vvt.beds.grz.available"]["value"] == 3


def test_a_site_registered_after_a_refused_file_is_taken_at_once(
    providers: Providers, db: psycopg.Connection[Any],
) -> None:
    """The API remembers registered locations for a few seconds (api/location_cache.py), never
    the absence of one: a file refused for naming an unregistered site goes through as soon as
    the site is registered."""
    vvt = providers.vvt_client
    organization = vvt.get(f"/fhir/Location/{providers.elv}").json()[
        "managingOrganization"]["reference"].removeprefix("Organization/")
    newcomer = f"vvt-nieuw-{uuid.uuid4().hex[:8]}"
    at = _ago(1).isoformat()
    rows = (f"{providers.elv};GRZ;1;10;{at}", f"{newcomer};GRZ;4;10;{at}")
    assert _post_csv(vvt, *rows).status_code == 404
    vvt.put(f"/fhir/Location/{newcomer}", json=location_resource(
        newcomer, organization, "Nieuwbouw", "west", 52.1, 4.3, "vvt")).raise_for_status()
    response = _post_csv(vvt, *rows)
    assert response.status_code == 202, response.text
    wait_for(lambda: stored_count(db, newcomer) == 2, timeout=20, what="the newcomer's figures")


def test_more_available_than_total_is_refused_naming_the_field(
    providers: Providers, db: psycopg.Connection[Any],
) -> None:
    vvt, ggz_client = providers.vvt_client, providers.ggz_client
    at = _ago(1).isoformat()
    response = _post_json(vvt, "/v1/vvt/beds", {
        "location": providers.elv, "observed_at": at,
        "beds": {"elv_low_complex": {"available": 2, "total": 14},
                 "grz": {"available": 21, "total": 20}}})
    assert response.status_code == 422, response.text
    [issue] = _issues(response)
    # Both figures, and the rule declared in definitions/rules/vvt.yaml.
    assert issue["expression"] == ["body.beds.grz.available", "body.beds.grz.total"]
    assert "vvt.beds.grz.available (21) is more than vvt.beds.grz.total (20)" in (
        issue["diagnostics"])
    assert issue["details"]["coding"][0]["code"] == "vvt.beds.grz.available-within-total"

    response = _post_csv(vvt, f"{providers.elv};GRZ;21;20;{at}")
    assert response.status_code == 422, response.text
    assert _issues(response)[0]["expression"] == ["row 2, column beschikbaar",
                                                  "row 2, column totaal"]

    response = _post_json(ggz_client, "/v1/ggz/status", {
        "location": providers.ggz, "observed_at": at, "hic_beds": {"available": 5, "total": 4}})
    assert response.status_code == 422, response.text
    assert _issues(response)[0]["expression"] == ["body.hic_beds.available",
                                                  "body.hic_beds.total"]

    _post_json(vvt, "/v1/vvt/status", {"location": providers.elv, "observed_at": at,
                                       "busyness_level": "1"}).raise_for_status()
    wait_for(lambda: stored_count(db, providers.elv) == 1, timeout=20, what="the good status")
    assert raw_count(db, providers.elv) == 1
    assert stored_count(db, providers.ggz) == 0


def test_a_sector_format_is_refused_for_a_location_of_another_sector(
    providers: Providers,
) -> None:
    # The GGZ provider itself sends the VVT format about its own crisis centre.
    response = _post_json(providers.ggz_client, "/v1/vvt/status", {
        "location": providers.ggz, "observed_at": _ago(1).isoformat(), "busyness_level": "2"})
    assert response.status_code == 422, response.text
    assert "is a ggz location" in _issues(response)[0]["diagnostics"]


def test_a_file_may_not_report_on_another_organisations_location(
    platform: Platform, providers: Providers, db: psycopg.Connection[Any],
) -> None:
    competitor_client, (competitor,) = _register(platform, "vvt", ["concurrent"], "00009876")
    at = _ago(1).isoformat()
    # A file about the VVT organisation's own location with a row about the competitor's.
    response = _post_csv(providers.vvt_client, f"{providers.elv};GRZ;1;10;{at}",
                         f"{competitor};GRZ;9;10;{at}")
    assert response.status_code == 403, response.text
    [issue] = _issues(response)
    assert issue["code"] == "forbidden"
    assert f"Location/{competitor}, which belongs to" in issue["diagnostics"]
    # A file about the competitor's location only: not this client's to send at all.
    response = _post_csv(providers.vvt_client, f"{competitor};GRZ;9;10;{at}")
    assert response.status_code == 403, response.text
    [issue] = _issues(response)
    assert issue["code"] == "forbidden"
    assert f"Location/{competitor} belongs to" in issue["diagnostics"]

    # The competitor's own file is the barrier: once it is stored, a refused one would be too.
    _post_csv(competitor_client, f"{competitor};GRZ;4;10;{at}").raise_for_status()
    wait_for(lambda: stored_count(db, competitor) == 2, timeout=20, what="the competitor's file")
    assert raw_count(db, competitor) == 1
    assert stored_count(db, providers.elv) == raw_count(db, providers.elv) == 0
