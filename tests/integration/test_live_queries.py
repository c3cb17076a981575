"""The ZCV and administrator queries over HTTP on the running stack.

One organisation runs hospitals in Leiden (West), Utrecht (Midden-Nederland, West's neighbour)
and Maastricht (Limburg, far away), and two HAPs in Limburg; it pushes SANER bed reports,
NEDOCS inputs and HAP status with its own provider client; the platform's own roll-ups answer
the history queries. Ambulances drive around Zwolle, their statuses and positions coming from
the LSIV feed on its Kafka topic, as the dispatch centres send them. Nothing is written around
the platform. The queries are read by a national ZCV, the provider overview by the admin. Other
tests share the stack, so assertions look at this module's own locations and units, or compare
region figures with the per-location figures of the same query.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest
from confluent_kafka import Producer

from core.geo import Point, haversine_km
from core.topics import lsiv_topic
from stack import demo, lifecycle
from stack.config import StackConfig
from tests.identities import Platform
from tests.integration.helpers import push
from tests.waiting import wait_for

HOSPITALS = {"leiden": ("west", 52.1665, 4.4782), "utrecht": ("midden-nederland", 52.0854, 5.1792),
             "maastricht": ("limburg", 50.8424, 5.7107)}
HAPS = {"hap-maastricht": (50.8480, 5.6880), "hap-heerlen": (50.8880, 5.9790)}
LEIDEN_CENTRAAL = Point(52.1601, 4.4970)
ZWOLLE = Point(52.5050, 6.0900)
IJSSELLAND = "vr04"  # the veiligheidsregio (and RAV region) of Zwolle


@dataclass(frozen=True)
class Site:
    """This module's registered organisation, locations and units."""

    suffix: str
    now: datetime
    history_start: datetime
    client: httpx.Client  # the organisation's provider client

    def loc(self, name: str) -> str:
        """Location id of one of this module's sites."""
        return f"lq-{name}-{self.suffix}"

    def unit(self, name: str) -> str:
        """Id of one of this module's ambulances."""
        return f"lq-{name}-{self.suffix}"

    @property
    def org(self) -> str:
        """The organisation operating everything here."""
        return f"lq-org-{self.suffix}"


def _register(api: httpx.Client, site: Site) -> None:
    for name, (region, lat, lon) in HOSPITALS.items():
        loc = demo.location_resource(site.loc(name), site.org, f"Ziekenhuis {name}", region,
                                     lat, lon)
        api.put(f"/fhir/Location/{site.loc(name)}", json=loc).raise_for_status()
    for name, (lat, lon) in HAPS.items():
        loc = demo.location_resource(site.loc(name), site.org, f"Huisartsenpost {name}",
                                     "limburg", lat, lon, sector="hap")
        api.put(f"/fhir/Location/{site.loc(name)}", json=loc).raise_for_status()


def _nedocs(location: str, moment: datetime, patients: int) -> dict[str, Any]:
    return {"location": location, "observed_at": moment.isoformat(), "ed_patients": patients,
            "ed_treatment_places": 30, "admitted_boarders": 4, "ventilated_patients": 1,
            "longest_boarder_wait_min": 120, "last_bed_placement_wait_min": 30,
            "hospital_beds": 900}


def _hap_status(location: str, moment: datetime, queue: int, wait_s: int) -> dict[str, Any]:
    return {"location": location, "observed_at": moment.isoformat(), "triagists_on_duty": 3,
            "doctors_on_duty": 4, "consults_free": 6, "visits_free": 2,
            "phone": {"queue": queue, "longest_wait_s": wait_s},
            "waiting_room": {"waiting": 2, "delay_min": 15}}


def _accepted(answer: httpx.Response) -> None:
    assert answer.status_code == 202, answer.text


def _push_live(api: httpx.Client, site: Site) -> None:
    now = site.now
    _accepted(push(api, site.loc("leiden"), {"numICUBedsAvail": 5, "numICUBeds": 20,
                                             "numBedsAvail": 31}, now))
    # Utrecht cannot say how many IC beds are free: not reported, not 0.
    _accepted(push(api, site.loc("utrecht"), {"numICUBedsAvail": None, "numICUBeds": 30}, now))
    _accepted(push(api, site.loc("maastricht"), {"numICUBedsAvail": 7}, now))
    for name, patients in (("leiden", 25), ("utrecht", 45)):
        _accepted(api.post("/v1/hospital/nedocs", json=_nedocs(site.loc(name), now, patients)))
    _accepted(api.post("/v1/hap/status", json=_hap_status(
        site.loc("hap-maastricht"), now - timedelta(minutes=1), 5, 140)))
    _accepted(api.post("/v1/hap/status", json=_hap_status(site.loc("hap-heerlen"), now, 3, 60)))


# History (yesterday 08:00 UTC onwards, a time no other test writes): IC beds free in Leiden
# and Utrecht; None = not reported.
HISTORY = {"leiden": ((1, 10), (4, 12), (7, 14), (62, 16)),
           "utrecht": ((2, 20), (5, None), (63, 27))}


def _push_history(api: httpx.Client, site: Site) -> None:
    for name, points in HISTORY.items():
        for minute, value in points:
            moment = site.history_start + timedelta(minutes=minute)
            _accepted(push(api, site.loc(name), {"numICUBedsAvail": value}, moment))


def _stored(db: psycopg.Connection[Any], site: Site) -> int:
    row = db.execute("SELECT count(*) FROM observation WHERE location_id LIKE %s",
                     (f"lq-%-{site.suffix}",)).fetchone()
    return int(row[0]) if row else 0


def _expected_observations() -> int:
    # SANER: 3 + 2 + 1; NEDOCS: 9 each (inputs, score, band); HAP: 8 each; history: 7.
    return 6 + 2 * 9 + 2 * 8 + sum(len(p) for p in HISTORY.values())


@pytest.fixture(scope="module")
def site(platform: Platform, stack: Any) -> Site:
    """Registered by its own provider, with every figure stored and the roll-ups filled."""
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=5)
    yesterday = now.replace(hour=0, minute=0, second=0) - timedelta(days=1)
    suffix = uuid.uuid4().hex[:8]
    provider = platform.provider(f"lq-org-{suffix}", "Zorggroep Test", "12345670")
    result = Site(suffix, now, yesterday + timedelta(hours=8), provider)
    _register(provider, result)
    _push_history(provider, result)
    _push_live(provider, result)
    with psycopg.connect(stack.database_url, autocommit=True) as db:
        wait_for(lambda: _stored(db, result) >= _expected_observations(), timeout=60,
                 what="every pushed figure stored")
    wait_for(lambda: _rolled_up(platform.zcv(national=True), result), timeout=60,
             what="the platform's roll-ups of the pushed history")
    return result


def _rolled_up(zcv: httpx.Client, site: Site) -> bool:
    """The platform's 5-minute and hourly roll-ups hold the last pushed figure of each history
    location (the worker refreshes them off the write; TimescaleDB aggregates them itself)."""
    for name, points in HISTORY.items():
        minute, value = points[-1]
        bucket = site.history_start + timedelta(minutes=minute - minute % 5)
        for resolution in ("5m", "1h"):
            answer = zcv.get("/v1/history", params={
                "definition": "hospital.beds.ic.available", "resolution": resolution,
                "location": site.loc(name), "from": site.history_start.isoformat(),
                "to": (site.history_start + timedelta(hours=2)).isoformat()})
            if answer.status_code != 200 or not answer.json()["points"]:
                return False
            last = answer.json()["points"][-1]
            if last["value"] != value or (resolution == "5m" and datetime.fromisoformat(
                    last["bucket"]) != bucket):
                return False
    return True


def _get(client: httpx.Client, path: str, **params: Any) -> Any:
    answer = client.get(path, params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _ours(body: dict[str, Any], site: Site) -> dict[str, dict[str, Any]]:
    """This module's locations in an availability answer, by short name, in answer order."""
    prefix, end = "lq-", f"-{site.suffix}"
    return {loc["location_id"].removeprefix(prefix).removesuffix(end): loc
            for loc in body["locations"] if loc["location_id"].endswith(end)}


def _figures(location: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["definition"]: f for f in location["figures"]}


def test_region_neighbours_and_national(zcv: httpx.Client, site: Site) -> None:
    west = _get(zcv, "/v1/availability", region="west")
    assert list(_ours(west, site)) == ["leiden"]
    assert west["regions"] == ["west"]
    around = _get(zcv, "/v1/availability", region="west", neighbours="true")
    assert set(_ours(around, site)) == {"leiden", "utrecht"}
    assert set(around["regions"]) == {"west", "noord-holland-flevoland", "midden-nederland",
                                      "zuidwest"}
    national = _get(zcv, "/v1/availability")
    assert set(_ours(national, site)) >= {"leiden", "utrecht", "maastricht", "hap-heerlen"}
    assert national["regions"] is None
    assert set(_ours(_get(zcv, "/v1/availability", sector="hap"), site)) == {
        "hap-maastricht", "hap-heerlen"}


def test_figures_keep_time_age_staleness_version_and_not_reported(
    zcv: httpx.Client, site: Site,
) -> None:
    body = _get(zcv, "/v1/availability", region="west", neighbours="true",
                item="hospital.beds.ic.available")
    leiden = _figures(_ours(body, site)["leiden"])["hospital.beds.ic.available"]
    assert leiden["value"] == 5 and leiden["reported"] and not leiden["stale"]
    assert datetime.fromisoformat(leiden["observed_at"]) == site.now
    assert leiden["age_seconds"] >= 5
    assert leiden["definition_version"] >= 1 and leiden["value_type"] == "count"
    utrecht = _figures(_ours(body, site)["utrecht"])["hospital.beds.ic.available"]
    assert utrecht["value"] is None and utrecht["reported"] is False
    assert utrecht["not_reported_reason"]


def test_item_prefix_matches_whole_segments(zcv: httpx.Client, site: Site) -> None:
    body = _get(zcv, "/v1/availability", region="west", item="hospital.beds.ic")
    assert set(_figures(_ours(body, site)["leiden"])) == {"hospital.beds.ic.available",
                                                          "hospital.beds.ic.staffed"}
    beds = _get(zcv, "/v1/availability", region="west", item="hospital.beds")
    assert "hospital.beds.inpatient.available" in _figures(_ours(beds, site)["leiden"])
    for bad in ("hospital.beds.i", "nothing.like.this"):
        assert zcv.get("/v1/availability", params={"item": bad}).status_code == 422


def test_radius_orders_by_distance(zcv: httpx.Client, site: Site) -> None:
    near = f"{LEIDEN_CENTRAAL.latitude},{LEIDEN_CENTRAAL.longitude}"
    body = _get(zcv, "/v1/availability", near=near, radius_km=60,
                item="hospital.beds.ic.available")
    distances = [loc["distance_km"] for loc in body["locations"]]
    assert distances == sorted(distances)
    assert all(d <= 60 for d in distances)
    ours = _ours(body, site)
    assert list(ours) == ["leiden", "utrecht"]
    expected = haversine_km(LEIDEN_CENTRAAL, Point(*HOSPITALS["utrecht"][1:]))
    assert ours["utrecht"]["distance_km"] == pytest.approx(expected, abs=0.01)
    assert zcv.get("/v1/availability", params={"radius_km": 5}).status_code == 422
    assert zcv.get("/v1/availability", params={"near": "52.1"}).status_code == 422


def test_busyness_per_location_has_the_same_filters(zcv: httpx.Client, site: Site) -> None:
    body = _get(zcv, "/v1/busyness", region="limburg", sector="hap", item="hap.uitloop.phone")
    ours = _ours(body, site)
    assert set(ours) == {"hap-maastricht", "hap-heerlen"}
    assert _figures(ours["hap-heerlen"])["hap.uitloop.phone.queue"]["value"] == 3
    assert set(_figures(ours["hap-heerlen"])) == {"hap.uitloop.phone.queue",
                                                  "hap.uitloop.phone.longest_wait"}


def _region_items(body: dict[str, Any], region: str) -> dict[str, dict[str, Any]]:
    found = next(r for r in body["regions"] if r["region"] == region)
    return {i["definition"]: i for i in found["items"]}


def test_busyness_per_region_applies_each_items_roll_up(zcv: httpx.Client, site: Site) -> None:
    # Only this module has HAPs in Limburg: the roll-up is known exactly.
    hap = _region_items(_get(zcv, "/v1/busyness/regions", region="limburg", sector="hap"),
                        "limburg")
    queue = hap["hap.uitloop.phone.queue"]
    assert (queue["rollup"], queue["value"], queue["min"], queue["max"]) == ("sum", 8, 3, 5)
    assert (queue["locations_reporting"], queue["locations_not_reported"]) == (2, 0)
    assert queue["stale_locations"] == 0
    assert datetime.fromisoformat(queue["oldest_observed_at"]) == site.now - timedelta(minutes=1)
    wait = hap["hap.uitloop.phone.longest_wait"]
    assert (wait["rollup"], wait["value"]) == ("latest", 60)  # Heerlen reported last


def test_busyness_regions_agree_with_the_locations(zcv: httpx.Client, site: Site) -> None:
    regions = _get(zcv, "/v1/busyness/regions", region="west", neighbours="true",
                   sector="hospital")
    assert [r["region"] for r in regions["regions"]] == [
        "west", "noord-holland-flevoland", "midden-nederland", "zuidwest"]
    locations = _get(zcv, "/v1/busyness", region="midden-nederland", sector="hospital")
    figures = [f for loc in locations["locations"] for f in loc["figures"]]
    items = _region_items(regions, "midden-nederland")
    patients = [f["value"] for f in figures if f["definition"] == "hospital.seh.patients"]
    assert items["hospital.seh.patients"]["value"] == sum(v for v in patients if v is not None)
    assert 45 in patients
    bands = [f["value"] for f in figures if f["definition"] == "hospital.seh.nedocs_band"]
    band = items["hospital.seh.nedocs_band"]
    assert band["counts"] == {code: bands.count(code) for code in set(bands) if code}
    assert band["min"] is None and sum(band["counts"].values()) == band["locations_reporting"]
    assert zcv.get("/v1/busyness/regions", params={"neighbours": "true"}).status_code == 422


def _lsiv(unit: str, kind: str, moment: datetime, **content: Any) -> dict[str, Any]:
    """An LSIV feed message about one of this module's ambulances (type A, RAV IJsselland)."""
    return {"kind": kind, "message_id": str(uuid.uuid4()), "at": moment.isoformat(),
            "vehicle": {"id": unit, "call_sign": unit.split("-")[1], "rav_region": IJSSELLAND,
                        "type": "A"}, **content}


def _send_lsiv(stack: StackConfig, messages: list[dict[str, Any]]) -> None:
    """Produce feed messages as the LSIV bridge of a dispatch centre does: keyed by region."""
    producer = Producer({"bootstrap.servers": stack.kafka_bootstrap_servers,
                         "enable.idempotence": True, "acks": "all"})
    topic = lsiv_topic(lifecycle.platform_settings(stack))
    for message in messages:
        producer.produce(topic, key=IJSSELLAND.encode(), value=json.dumps(message).encode())
    assert producer.flush(10) == 0


def _units_show(zcv: httpx.Client, plan: dict[str, tuple[str, float]],
                moment: datetime) -> bool:
    units = {u["id"]: u for u in _get(zcv, "/v1/units", kind="ambulance", region="zwolle")}
    return all(unit in units and units[unit]["status"] == status
               and units[unit]["longitude"] == pytest.approx(longitude)
               and datetime.fromisoformat(units[unit]["observed_at"]) == moment
               for unit, (status, longitude) in plan.items())


@pytest.fixture(scope="module")
def ambulances(zcv: httpx.Client, stack: StackConfig, site: Site) -> Iterator[dict[str, str]]:
    """Four ambulances east of Zwolle at 1, 3, 5 and 8 km, in LSIV statuses 2 (on scene),
    5 (free), 6 (at post) and 1 (driving to an incident): a status and an AVLS position of
    each on the LSIV topic, registered by the feed itself."""
    plan = {"amb1": (1, "2"), "amb2": (3, "5"), "amb3": (5, "6"), "amb4": (8, "1")}
    moment = datetime.now(UTC).replace(microsecond=0)
    messages, shown = [], {}
    for name, (km_east, status) in plan.items():
        unit = site.unit(name)
        # About 67.8 km per degree of longitude at Zwolle's latitude.
        longitude = round(ZWOLLE.longitude + km_east / 67.8, 6)
        messages += [_lsiv(unit, "vehicle-status", moment, status=status),
                     _lsiv(unit, "avls-position", moment, position={
                         "lat": ZWOLLE.latitude, "lon": longitude, "speed_kmh": 0})]
        shown[unit] = (status, longitude)
    _send_lsiv(stack, messages)
    wait_for(lambda: _units_show(zcv, shown, moment), timeout=60,
             what="the ambulances' statuses and positions")
    yield {name: status for name, (_, status) in plan.items()}


def test_units_near_a_point_nearest_first(zcv: httpx.Client, site: Site,
                                          ambulances: dict[str, str]) -> None:
    units = _get(zcv, "/v1/units", kind="ambulance", near=f"{ZWOLLE.latitude},{ZWOLLE.longitude}",
                 radius_km=6)
    ours = [u for u in units if u["id"].endswith(site.suffix)]
    assert [u["id"] for u in ours] == [site.unit(n) for n in ("amb1", "amb2", "amb3")]
    assert [round(u["distance_km"]) for u in ours] == [1, 3, 5]
    assert [u["available"] for u in ours] == [False, True, True]


def test_nearest_available_ambulances(zcv: httpx.Client, site: Site,
                                      ambulances: dict[str, str]) -> None:
    near = f"{ZWOLLE.latitude},{ZWOLLE.longitude}"
    found = _get(zcv, "/v1/units/nearest", near=near, kind="ambulance", n=2)
    assert [u["id"] for u in found] == [site.unit("amb2"), site.unit("amb3")]
    assert [u["status"] for u in found] == ["5", "6"]
    first = found[0]
    assert first["available"] and not first["stale"] and first["age_seconds"] >= 0
    assert first["distance_km"] == pytest.approx(3, abs=0.1)
    any_status = _get(zcv, "/v1/units/nearest", near=near, n=1, available="false")
    assert [u["id"] for u in any_status] == [site.unit("amb1")]
    assert zcv.get("/v1/units/nearest", params={"near": "95,5"}).status_code == 422


def _history(zcv: httpx.Client, site: Site, resolution: str, **scope: str) -> list[Any]:
    body = _get(zcv, "/v1/history", definition="hospital.beds.ic.available",
                resolution=resolution, **{"from": site.history_start.isoformat(),
                                          "to": (site.history_start
                                                 + timedelta(hours=2)).isoformat()}, **scope)
    assert body["rollup"] == "sum"
    return list(body["points"])


def test_history_of_a_location_raw_and_bucketed(zcv: httpx.Client, site: Site) -> None:
    h0 = site.history_start
    raw = _history(zcv, site, "raw", location=site.loc("leiden"))
    assert [p["value"] for p in raw] == [10, 12, 14, 16]
    assert datetime.fromisoformat(raw[0]["observed_at"]) == h0 + timedelta(minutes=1)
    assert raw[0]["bucket"] is None
    five = _history(zcv, site, "5m", location=site.loc("leiden"))
    assert [(datetime.fromisoformat(p["bucket"]) - h0, p["value"]) for p in five] == [
        (timedelta(0), 12), (timedelta(minutes=5), 14), (timedelta(hours=1), 16)]
    hourly = _history(zcv, site, "1h", location=site.loc("utrecht"))
    # Utrecht's last figure of 08:00-09:00 was "not reported": null, not 0.
    assert [(p["value"], p["locations"]) for p in hourly] == [(None, 0), (27, 1)]


def test_history_of_a_region_rolls_up_across_locations(zcv: httpx.Client, site: Site) -> None:
    five = _history(zcv, site, "5m", region="west", neighbours="true")
    # 08:05-08:10: Utrecht's last figure was "not reported", so only Leiden's counts.
    assert [(p["value"], p["locations"]) for p in five] == [(32, 2), (14, 1), (43, 2)]
    hourly = _history(zcv, site, "1h", region="west", neighbours="true")
    assert [(p["value"], p["locations"]) for p in hourly] == [(14, 1), (43, 2)]
    daily = _history(zcv, site, "1d", region="west", neighbours="true")
    assert [(datetime.fromisoformat(p["bucket"]), p["value"], p["locations"])
            for p in daily] == [(site.history_start.replace(hour=0), 43, 2)]


def test_history_refuses_bad_requests(zcv: httpx.Client, site: Site) -> None:
    start = site.history_start
    cases = [
        {"definition": "no.such.item"},
        {"definition": "hospital.beds.ic.available", "resolution": "raw",
         "from": (start - timedelta(days=40)).isoformat(), "to": start.isoformat()},
        {"definition": "hospital.beds.ic.available", "resolution": "1d",
         "from": (start - timedelta(days=500)).isoformat(), "to": start.isoformat()},
        {"definition": "hospital.beds.ic.available", "location": site.loc("leiden"),
         "region": "west"},
        {"definition": "hospital.beds.ic.available", "resolution": "2m"},
    ]
    for params in cases:
        answer = zcv.get("/v1/history", params=params)
        assert answer.status_code == 422, (params, answer.text)
        assert answer.json()["resourceType"] == "OperationOutcome", (params, answer.text)
    issue = zcv.get("/v1/history", params=cases[1]).json()["issue"][0]
    assert issue["expression"] == ["from"] and "31 days" in issue["diagnostics"]


def _provider(admin: httpx.Client, site: Site, sector: str) -> dict[str, Any]:
    body = _get(admin, "/v1/admin/providers", sector=sector)
    return next(p for p in body["providers"] if p["organization_id"] == site.org)


def test_provider_overview_counts_deliveries_freshness_and_rejections(
    admin: httpx.Client, site: Site,
) -> None:
    hospitals = _provider(admin, site, "hospital")
    assert (hospitals["locations"], hospitals["sector"]) == (3, "hospital")
    assert datetime.fromisoformat(hospitals["last_delivery"]) >= site.now
    assert hospitals["figures_not_reported"] == 1  # Utrecht's IC beds
    assert hospitals["items_reported"] >= 12
    assert 0 < hospitals["fresh_share"] <= 1
    assert hospitals["figures_fresh"] <= hospitals["figures"]
    assert hospitals["rejected_24h"] == {}
    haps = _provider(admin, site, "hap")
    assert (haps["locations"], haps["fresh_share"]) == (2, 1.0)

    bad = push(site.client, site.loc("leiden"), {"numICUBedsAvail": -4})
    assert bad.status_code == 422, bad.text
    refused = _provider(admin, site, "hospital")["rejected_24h"]
    assert sum(refused.values()) == 1
    assert _provider(admin, site, "hap")["rejected_24h"] == {}
    assert admin.get("/v1/admin/providers", params={"sector": "garage"}).status_code == 422


def test_openapi_documents_the_queries(api: httpx.Client) -> None:
    paths = _get(api, "/openapi.json")["paths"]
    for path in ("/v1/availability", "/v1/busyness", "/v1/busyness/regions", "/v1/units",
                 "/v1/units/nearest", "/v1/history", "/v1/admin/providers"):
        assert path in paths
        for parameter in paths[path]["get"].get("parameters", []):
            assert parameter.get("description"), (path, parameter["name"])
