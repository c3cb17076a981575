"""The ZCV console in a real headless browser (Debian's chromium, Playwright): sign in with a
ZCV token; the board shows pushed figures with their age, stale and not-reported figures marked;
a push changes the board within 2 s without reload; a figure going stale while watched gets
marked; an SEH stop raises an alert that is acknowledged in the page; the map shows locations and
units and finds the nearest places; with the API killed the page says so and resumes with
Last-Event-ID without missing what happened meanwhile.

The tests register a small region-West scene of their own (ids share a suffix, so the text
filter shows exactly the scene); `make screenshots` writes the board, map and alerts to docs/.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest
from confluent_kafka import Producer
from playwright.sync_api import Browser, Page, expect, sync_playwright

from core.settings import REPO_ROOT
from core.topics import lsiv_topic
from stack import demo, lifecycle, processes
from stack.config import StackConfig
from stack.credentials import Credentials, access_token, register_client_over_api, signed_in
from stack.lsiv_simulator import feed as lsiv_feed
from stack.patterns import Wanderer
from tests.identities import Platform, token_of
from tests.integration.console_browser import (
    CHROMIUM,
    cell,
    console_page,
    screenshot_dir,
    sign_in,
)
from tests.integration.helpers import push
from tests.waiting import wait_for

IC = "hospital.beds.ic.available"
INPATIENT = "hospital.beds.inpatient.available"
SEH = "hospital.seh.status"


@dataclass(frozen=True)
class Place:
    """A location of the scene and its organisation's provider client."""

    location_id: str
    name: str
    client: httpx.Client


@dataclass(frozen=True)
class Scene:
    """A few providers of region West with figures pushed, and a visit car on the road."""

    suffix: str
    leiderdorp: Place  # free IC beds, SEH open
    den_haag: Place  # IC full, ward beds free, SEH in time-out
    gouda: Place  # figures two hours old: stale
    elv: Place
    hap: Place
    ggz: Place
    car_id: str
    car_key: str
    ambulances: list[str]  # LSIV vehicles of RAV Haaglanden
    last_positions: dict[str, dict[str, Any]]  # their last LSIV position messages


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's chromium, headless (Playwright never downloads a browser of its own here)."""
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def zcv_west_credentials(admin: httpx.Client) -> Credentials:
    """A ZCV client of region West of its own organisation (alerts belong to an organisation)."""
    return register_client_over_api(admin, f"zcv-west-{uuid.uuid4().hex[:6]}", "zcv", ["west"])


@pytest.fixture(scope="module")
def zcv_west(stack: StackConfig, zcv_west_credentials: Credentials) -> str:
    """A fresh access token of that ZCV: what a user pastes into the console."""
    return access_token(stack.api_url, zcv_west_credentials)


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _place(platform: Platform, suffix: str, key: str, name: str, sector: str,
           latitude: float, longitude: float) -> Place:
    org_id, location_id = f"{key}-org-{suffix}", f"{key}-{suffix}"
    client = platform.provider(org_id, name)
    resource = demo.location_resource(location_id, org_id, name, "west", latitude, longitude,
                                      sector)
    client.put(f"/fhir/Location/{location_id}", json=resource).raise_for_status()
    return Place(location_id, name, client)


def _beds(ic: int | None, ward: int, staffed_ic: int = 10) -> dict[str, int | None]:
    occupied = staffed_ic - (ic or 0)
    return {"numICUBeds": staffed_ic, "numICUBedsOcc": occupied, "numICUBedsAvail": ic,
            "numbeds": 300, "numBedsOcc": 300 - ward, "numBedsAvail": ward}


def _seh(place: Place, status: str, at: datetime, **extra: Any) -> None:
    body = {"location": place.location_id, "observed_at": at.isoformat(),
            "seh": {"status": status, **extra}, "admission_stops": {"ic": status != "open"}}
    place.client.post("/v1/hospital/seh-status", json=body).raise_for_status()


def _ambulances(stack: StackConfig, prefix: str) -> dict[str, dict[str, Any]]:
    """A minute of LSIV feed for four ambulances of RAV Haaglanden (vr15, region West)."""
    producer = Producer({"bootstrap.servers": stack.kafka_bootstrap_servers,
                         "enable.idempotence": True, "acks": "all"})
    sent = lsiv_feed(producer, topic=lsiv_topic(lifecycle.platform_settings(stack)), vehicles=4,
                     regions=["vr15"], rate=4.0, seconds=60.0, seed=3, prefix=prefix,
                     start=datetime.now(UTC) - timedelta(seconds=70), sleep=lambda _: None)
    assert producer.flush(10) == 0
    return {m["vehicle"]["id"]: m for m in sent if m["kind"] == "avls-position"}


@pytest.fixture(scope="module")
def scene(stack: StackConfig, platform: Platform, zcv: httpx.Client) -> Scene:
    """Register the scene's locations and push their figures; return once the API shows them."""
    suffix = uuid.uuid4().hex[:6]
    now = _now()
    leiderdorp = _place(platform, suffix, "alrijne", "Alrijne Leiderdorp", "hospital",
                        52.1560, 4.5230)
    den_haag = _place(platform, suffix, "hmc", "HMC Westeinde", "hospital", 52.0737, 4.3098)
    gouda = _place(platform, suffix, "ghz", "Groene Hart Gouda", "hospital", 52.0169, 4.7139)
    elv = _place(platform, suffix, "elv", "ELV Rijnland", "vvt", 52.1480, 4.4700)
    hap = _place(platform, suffix, "hap", "HAP Den Haag", "hap", 52.0800, 4.3200)
    ggz = _place(platform, suffix, "ggz", "GGZ Crisisdienst Haaglanden", "ggz", 52.0600, 4.3500)

    push(leiderdorp.client, leiderdorp.location_id, _beds(3, 12), now).raise_for_status()
    # A later message on occupied beds alone: 12 free no longer fits 300 staffed - 295 occupied.
    push(leiderdorp.client, leiderdorp.location_id, {"numBedsOcc": 295},
         now + timedelta(seconds=1)).raise_for_status()
    push(den_haag.client, den_haag.location_id, _beds(None, 4), now).raise_for_status()
    push(gouda.client, gouda.location_id, _beds(2, 6), now - timedelta(hours=2)
         ).raise_for_status()
    _seh(leiderdorp, "open", now)
    _seh(den_haag, "time-out", now, reason="seh-full",
         expected_end=(now + timedelta(minutes=45)).isoformat())
    elv.client.post("/v1/vvt/beds", json={
        "location": elv.location_id, "observed_at": now.isoformat(), "beds": {
            "elv_low_complex": {"available": 2, "total": 12},
            "elv_high_complex": {"available": 0, "total": 8},
            "elv_palliative": {"available": 1, "total": 4}}}).raise_for_status()
    hap.client.post("/v1/hap/status", json={
        "location": hap.location_id, "observed_at": now.isoformat(), "triagists_on_duty": 4,
        "doctors_on_duty": 5, "consults_free": 6, "visits_free": 2,
        "phone": {"queue": 7, "longest_wait_s": 240},
        "waiting_room": {"waiting": 3, "delay_min": 20}}).raise_for_status()
    ggz.client.post("/v1/ggz/status", json={
        "location": ggz.location_id, "observed_at": now.isoformat(),
        "crisis_beds": {"available": 1, "total": 6}, "hic_beds": {"available": 0, "total": 12},
        "iht_capacity": 2, "crisis_service_available": True, "doctor_available": True,
    }).raise_for_status()

    car_id = f"hap-visite-{suffix}"
    answer = hap.client.put(f"/v1/mobile-units/{car_id}", json={
        "kind": "hap-visit-car", "organization_id": f"hap-org-{suffix}", "label": "Visite 1",
        "roaz_region": "west"})
    assert answer.status_code == 201, answer.text
    car_key = answer.json()["device_key"]
    _drive(hap.client, car_id, car_key, 52.0850, 4.3000, now)
    positions = _ambulances(stack, f"c{suffix}")
    ambulances = sorted(positions)

    wanted = {leiderdorp.location_id: {IC, INPATIENT, SEH}, den_haag.location_id: {IC, SEH},
              gouda.location_id: {IC}, elv.location_id: {"vvt.beds.elv_palliative.available"},
              hap.location_id: {"hap.visits.free"}, ggz.location_id: {"ggz.beds.crisis.available"}}
    wait_for(lambda: _flagged(zcv, leiderdorp.location_id, INPATIENT), timeout=60,
             what="the inpatient beds of Leiderdorp flagged")
    wait_for(lambda: _shows(zcv, wanted) and all(
        _unit(zcv, unit) for unit in (car_id, *ambulances)), timeout=60,
        what="the scene's figures, visit car and ambulances in the API")
    return Scene(suffix, leiderdorp, den_haag, gouda, elv, hap, ggz, car_id, car_key,
                 ambulances, positions)


def _drive(client: httpx.Client, car_id: str, key: str, lat: float, lon: float,
           at: datetime) -> None:
    """The car's tracker reports a position, with its device key as Traccar devices do."""
    httpx.get(client.base_url.join("/osmand"), params={
        "id": car_id, "key": key, "lat": f"{lat:.6f}", "lon": f"{lon:.6f}",
        "timestamp": str(int(at.timestamp())), "speed": "20", "bearing": "90"},
        timeout=10).raise_for_status()


def _shows(zcv: httpx.Client, wanted: dict[str, set[str]]) -> bool:
    found: dict[str, set[str]] = {}
    for path in ("/v1/availability", "/v1/busyness"):
        for location in zcv.get(path, params={"region": "west"}).json()["locations"]:
            found.setdefault(location["location_id"], set()).update(
                f["definition"] for f in location["figures"])
    return all(codes <= found.get(location, set()) for location, codes in wanted.items())


def _flagged(zcv: httpx.Client, location_id: str, definition: str) -> bool:
    live = zcv.get("/v1/availability", params={"region": "west", "item": definition}).json()
    return any(f["flags"] for location in live["locations"]
               if location["location_id"] == location_id for f in location["figures"])


def _unit(zcv: httpx.Client, unit_id: str) -> dict[str, Any] | None:
    units = zcv.get("/v1/units", params={"region": "west"}).json()
    return next((u for u in units if u["id"] == unit_id), None)


def _only_scene(page: Page, scene: Scene) -> None:
    """Filter the board to the scene: the search matches location ids, which share a suffix."""
    page.get_by_label("Search").fill(scene.suffix)


def test_sign_in_shows_the_board_with_ages_stale_and_not_reported(
    browser: Browser, stack: StackConfig, zcv_west: str, scene: Scene,
) -> None:
    with console_page(browser, stack.api_url) as (page, _):
        sign_in(page, zcv_west)
        assert zcv_west not in page.url
        stored = page.evaluate("() => [Object.values(sessionStorage), localStorage.length]")
        assert stored == [[zcv_west], 0]
        expect(page.locator("#who")).to_contain_text("west")
        _only_scene(page, scene)

        free = page.locator(cell(scene.leiderdorp.location_id, IC))
        expect(free.locator(".value")).to_have_text("3")
        expect(free.locator(".age")).to_contain_text("s")
        expect(free.locator(".flag.stale")).to_have_count(0)
        unfit = page.locator(cell(scene.leiderdorp.location_id, INPATIENT))
        expect(unfit.locator(".flag.check")).to_have_text("check")
        expect(unfit.locator(".flag.check")).to_have_attribute("title", re.compile("occupied"))

        unknown = page.locator(cell(scene.den_haag.location_id, IC))
        expect(unknown.locator(".value")).to_have_text("not reported")
        expect(unknown).to_have_class("fig not-reported")

        old = page.locator(cell(scene.gouda.location_id, IC))
        expect(old.locator(".value")).to_have_text("2")
        expect(old.locator(".flag.stale")).to_have_text("stale")
        expect(old.locator(".age")).to_have_text("2 h")

        seh = page.locator(cell(scene.den_haag.location_id, SEH))
        expect(seh).to_contain_text("time-out")
        expect(seh).to_contain_text("SEH vol")
        expect(seh).to_contain_text("until")
        stops = page.locator(f'tr[data-location="{scene.den_haag.location_id}"] '
                             'td[data-definition="admission-stops"]')
        expect(stops).to_contain_text("IC")
        never = page.locator(cell(scene.gouda.location_id, SEH))
        expect(never).to_contain_text("never sent")

        elv = page.locator(cell(scene.elv.location_id, "vvt.beds.elv_palliative.available"))
        expect(elv.locator(".value")).to_have_text("1")
        expect(page.locator(cell(scene.hap.location_id, "hap.uitloop.phone.queue"))
               .locator(".value")).to_have_text("7")
        expect(page.locator(cell(scene.ggz.location_id, "ggz.beds.crisis.available"))
               .locator(".value")).to_have_text("1")

        hospitals = page.locator('table[data-sector="hospital"] tbody tr')
        expect(hospitals).to_have_count(3)
        # Sorted by free beds, most first; the stale figure counts as it is shown.
        page.locator(f'table[data-sector="hospital"] button[data-sort="{INPATIENT}"]').click()
        expect(hospitals.first).to_have_attribute("data-location", scene.leiderdorp.location_id)
        expect(page.locator('table[data-sector="hospital"] th[aria-sort="descending"]')
               ).to_have_count(1)

        page.locator("#board").screenshot(
            path=screenshot_dir(stack.state_dir / "screenshots") / "console-board.png",
            animations="disabled")

        page.get_by_label("Sector").select_option("vvt")
        expect(page.locator("table.board-table")).to_have_count(1)
        expect(page.locator('table[data-sector="vvt"]')).to_be_visible()

        page.reload()  # the token survives a reload of the tab (sessionStorage)
        expect(page.locator("#console")).to_be_visible()
        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_label("Access token")).to_be_visible()
        assert page.evaluate("() => sessionStorage.length") == 0


def test_a_refused_token_is_told_and_not_kept(browser: Browser, stack: StackConfig) -> None:
    with console_page(browser, stack.api_url) as (page, problems):
        problems.tolerate(r"/v1/")  # the 401 answers this test provokes
        page.goto("/console")
        page.get_by_label("Access token").fill("not-a-token")
        page.get_by_role("button", name="Sign in").click()
        expect(page.locator("#sign-in-error")).to_contain_text("sign in again")
        expect(page.locator("#console")).to_be_hidden()
        assert page.evaluate("() => sessionStorage.length") == 0


def test_the_map_shows_locations_units_and_the_nearest_places(
    browser: Browser, stack: StackConfig, zcv_west: str, scene: Scene,
) -> None:
    with console_page(browser, stack.api_url) as (page, problems):
        sign_in(page, zcv_west)
        _only_scene(page, scene)
        car = page.locator(f'.unit-chip[data-unit="{scene.car_id}"]')
        expect(car).to_be_visible()
        expect(car).to_have_text("H")
        for ambulance in scene.ambulances:
            chip = page.locator(f'.unit-chip[data-unit="{ambulance}"]')
            expect(chip).to_have_text("A")
            expect(chip).to_have_attribute("data-kind", "ambulance")
        expect(page.locator(f'path[data-location="{scene.leiderdorp.location_id}"]')
               ).to_have_attribute("data-state", "places")
        expect(page.locator(f'path[data-location="{scene.den_haag.location_id}"]')
               ).to_have_attribute("data-state", "stop")
        expect(page.locator(f'path[data-location="{scene.gouda.location_id}"]')
               ).to_have_attribute("data-state", "unknown")
        expect(page.locator("#map-notice")).to_contain_text("background map cannot be loaded")
        assert problems.blocked, "the tiles were asked for (and blocked: no internet in tests)"

        box = page.locator("#map").bounding_box()
        assert box is not None
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        nearest = page.locator("#nearest-hospitals li")
        expect(nearest.first).to_contain_text("free")
        ids = nearest.evaluate_all("items => items.map(i => i.dataset.location)")
        assert scene.leiderdorp.location_id in ids
        assert scene.den_haag.location_id not in ids  # its IC is not reported: no free bed
        assert scene.gouda.location_id not in ids  # stale
        ambulances = page.locator("#nearest-ambulances li")
        expect(ambulances.first).to_contain_text("km · status")
        nearest_units = ambulances.evaluate_all("items => items.map(i => i.dataset.unit)")
        assert set(nearest_units) & set(scene.ambulances)
        page.locator("#map-section").screenshot(
            path=screenshot_dir(stack.state_dir / "screenshots") / "console-map.png",
            animations="disabled")


def test_a_new_push_changes_the_board_within_two_seconds_without_reload(
    browser: Browser, stack: StackConfig, zcv_west: str, scene: Scene,
) -> None:
    with console_page(browser, stack.api_url) as (page, _):
        sign_in(page, zcv_west)
        _only_scene(page, scene)
        expect(page.locator("#live")).to_contain_text("Live")
        page.evaluate("() => { window.sameDocument = true; }")
        figure = page.locator(cell(scene.leiderdorp.location_id, IC)).locator(".value")
        expect(figure).to_have_text("3")
        push(scene.leiderdorp.client, scene.leiderdorp.location_id, _beds(7, 12), _now()
             ).raise_for_status()
        pushed = time.monotonic()
        expect(figure).to_have_text("7", timeout=2000)
        assert time.monotonic() - pushed <= 2.0

        # The stale figure of Gouda is replaced by a fresh one: no longer marked.
        old = page.locator(cell(scene.gouda.location_id, IC))
        expect(old.locator(".flag.stale")).to_have_count(1)
        push(scene.gouda.client, scene.gouda.location_id, _beds(5, 6), _now()).raise_for_status()
        expect(old.locator(".value")).to_have_text("5", timeout=2000)
        expect(old.locator(".flag.stale")).to_have_count(0)

        car = page.locator(f'.unit-chip[data-unit="{scene.car_id}"]')
        before = car.bounding_box()
        _drive(scene.hap.client, scene.car_id, scene.car_key, 52.1000, 4.3500, _now())
        wait_for(lambda: car.bounding_box() != before, timeout=5, what="the visit car moved")
        assert page.evaluate("() => window.sameDocument") is True


def test_a_figure_that_goes_stale_while_watched_is_marked(
    browser: Browser, stack: StackConfig, platform: Platform, zcv_west: str, scene: Scene,
) -> None:
    late = _place(platform, scene.suffix, "lange-land", "LangeLand Zoetermeer", "hospital",
                  52.0570, 4.4930)
    with console_page(browser, stack.api_url) as (page, _):
        sign_in(page, zcv_west)
        _only_scene(page, scene)
        expect(page.locator("#live")).to_contain_text("Live")
        # IC beds must be confirmed every 15 minutes: this one is seconds from its deadline.
        almost = _now() - timedelta(minutes=15) + timedelta(seconds=4)
        push(late.client, late.location_id, _beds(1, 9), almost).raise_for_status()
        figure = page.locator(cell(late.location_id, IC))
        expect(figure.locator(".value")).to_have_text("1", timeout=5000)
        expect(figure.locator(".flag.stale")).to_have_text("stale", timeout=15_000)
        expect(page.locator(f'path[data-location="{late.location_id}"]')
               ).to_have_attribute("data-state", "unknown")


def test_an_seh_stop_raises_an_alert_that_is_acknowledged_in_the_console(
    browser: Browser, stack: StackConfig, platform: Platform, zcv_west: str,
    zcv_west_credentials: Credentials, scene: Scene,
) -> None:
    rijnland = _place(platform, scene.suffix, "rijnland", "Rijnland Ziekenhuis", "hospital",
                      52.1380, 4.6600)
    now = _now()
    _seh(rijnland, "open", now)
    with signed_in(stack.api_url, zcv_west_credentials) as coordinator:
        answer = coordinator.post("/v1/alert-rules", json={
            "name": "SEH Rijnland dicht", "kind": "status", "location_id": rijnland.location_id,
            "definition": SEH, "severity": "critical"})
        assert answer.status_code == 201, answer.text
        rule_id = answer.json()["id"]
        with console_page(browser, stack.api_url) as (page, _):
            sign_in(page, zcv_west)
            _only_scene(page, scene)
            expect(page.locator("#live")).to_contain_text("Live")
            seh = page.locator(cell(rijnland.location_id, SEH))
            expect(seh).to_contain_text("open")

            _seh(rijnland, "stop", now + timedelta(seconds=1), reason="no-beds",
                 expected_end=(now + timedelta(hours=2)).isoformat())
            expect(seh).to_contain_text("stop", timeout=3000)
            expect(seh).to_contain_text("geen opnamebedden")
            row = page.locator(f'tr[data-location="{rijnland.location_id}"]')
            expect(row.locator(".flag.changed")).to_have_text("changed")
            expect(page.locator(f'path[data-location="{rijnland.location_id}"]')
                   ).to_have_attribute("data-state", "stop")

            alert = page.locator("#alert-list li", has_text="SEH Rijnland dicht")
            expect(alert).to_contain_text("critical · firing", timeout=10_000)
            expect(alert).to_contain_text("Rijnland Ziekenhuis")
            page.locator("#alerts").screenshot(
                path=screenshot_dir(stack.state_dir / "screenshots") / "console-alerts.png",
                animations="disabled")
            alert.get_by_role("button", name="Acknowledge alert: SEH Rijnland dicht").click()
            expect(alert).to_contain_text("Acknowledged by")
            expect(alert.get_by_role("button")).to_have_count(0)

        stored = coordinator.get("/v1/alerts", params={"state": "all"}).json()["alerts"]
        (firing,) = [a for a in stored if a["rule_id"] == rule_id and a["state"] == "firing"]
        assert firing["acknowledged_at"] is not None
        assert firing["acknowledged_by"] == zcv_west_credentials.client_id


def _kill_api(stack: StackConfig) -> None:
    """SIGKILL the API; its PID file stays, so the stack's supervisor starts it again."""
    managed = processes.find(stack.pid_dir, "api")
    assert managed is not None and managed.is_running(), "the API is not running"
    os.killpg(managed.pid, signal.SIGKILL)


def _move(stack: StackConfig, last: dict[str, Any], lat: float, lon: float) -> None:
    """One new LSIV position of a vehicle, straight onto the feed (the API plays no part)."""
    message = {**last, "message_id": str(uuid.uuid4()), "at": _now().isoformat(),
               "position": {**last["position"], "lat": lat, "lon": lon}}
    producer = Producer({"bootstrap.servers": stack.kafka_bootstrap_servers,
                         "enable.idempotence": True, "acks": "all"})
    producer.produce(lsiv_topic(lifecycle.platform_settings(stack)),
                     key=message["vehicle"]["rav_region"].encode(),
                     value=json.dumps(message).encode())
    assert producer.flush(10) == 0


def test_a_lost_connection_is_shown_and_the_console_resumes_with_last_event_id(
    browser: Browser, stack: StackConfig, zcv_west: str, scene: Scene,
) -> None:
    with console_page(browser, stack.api_url) as (page, problems):
        problems.tolerate(r"/v1/stream")  # refused while the API is down
        streams: list[dict[str, str]] = []
        page.on("request", lambda r: streams.append(r.headers) if "/v1/stream" in r.url
                else None)
        sign_in(page, zcv_west)
        _only_scene(page, scene)
        live = page.locator("#live")
        expect(live).to_contain_text("Live")
        car = page.locator(f'.unit-chip[data-unit="{scene.car_id}"]')
        before = car.bounding_box()
        _drive(scene.hap.client, scene.car_id, scene.car_key, 52.0900, 4.3300, _now())
        wait_for(lambda: car.bounding_box() != before, timeout=5, what="an event received")

        _kill_api(stack)
        banner = page.locator("#connection-lost")
        expect(banner).to_be_visible(timeout=10_000)
        expect(banner).to_contain_text("Live updates lost")
        expect(live).to_contain_text("Connection lost")
        asked = len(streams)
        # While the console cannot hear, an ambulance moves: it must not miss that.
        vehicle = scene.ambulances[0]
        ambulance = page.locator(f'.unit-chip[data-unit="{vehicle}"]')
        where = ambulance.bounding_box()
        last = scene.last_positions[vehicle]
        _move(stack, last, last["position"]["lat"] + 0.03, last["position"]["lon"] - 0.05)

        expect(banner).to_be_hidden(timeout=60_000)
        expect(live).to_contain_text("Live")
        wait_for(lambda: ambulance.bounding_box() != where, timeout=15,
                 what="the move made while disconnected")
        resumed = streams[asked:]
        assert resumed, "the console asked for the stream again"
        assert all(re.fullmatch(r"[0-9]+-[0-9]+", r.get("last-event-id", "")) for r in resumed)
        assert page.evaluate("() => window.location.search") == ""


def test_the_page_is_public_but_holds_no_data(api: httpx.Client) -> None:
    page = api.get("/console")
    assert page.status_code == 200
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert "service.pdok.nl" in page.headers["content-security-policy"]
    script = api.get("/console/assets/app.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith(
        "text/javascript")
    assert api.get("/console/vendor/leaflet/leaflet-src.esm.js").status_code == 200
    assert api.get("/console/assets/../../console_routes.py").status_code == 404
    assert api.get("/console/assets/%2e%2e/%2e%2e/app.py").status_code == 404
    assert api.get("/v1/availability", params={"region": "west"}).status_code == 401



def test_planning_a_hold_from_the_board_is_answered_in_the_providers_console(
    browser: Browser, stack: StackConfig, platform: Platform, zcv_west: str, scene: Scene,
) -> None:
    """A ZCV holds the last ELV bed from the board and sees it among its open requests with a
    countdown, the board shows it held; the provider's console lists it and accepts it, which
    the ZCV sees live; a second hold on the same bed shows the API's 409 in words."""
    code = "vvt.beds.elv_low_complex.available"
    elv = _place(platform, scene.suffix, "elv-plan", "ELV Leythenrode", "vvt", 52.1600, 4.5100)
    elv.client.post("/v1/vvt/beds", json={
        "location": elv.location_id, "observed_at": _now().isoformat(),
        "beds": {"elv_low_complex": {"available": 1, "total": 10}}}).raise_for_status()
    provider_token = token_of(elv.client)
    assert provider_token is not None
    with console_page(browser, stack.api_url) as (page, problems):
        problems.tolerate(r"/v1/holds$")  # the second hold's 409, provoked on purpose
        sign_in(page, zcv_west)
        _only_scene(page, scene)
        expect(page.locator("#live")).to_contain_text("Live")
        figure = page.locator(cell(elv.location_id, code))
        expect(figure.locator(".value")).to_have_text("1")
        expect(figure.locator(".held")).to_have_count(0)

        figure.get_by_role("button", name=re.compile("^Hold a place")).click()
        form = page.locator("#planning")
        expect(form).to_be_visible()
        expect(form.locator("h2")).to_contain_text("ELV Leythenrode")
        form.get_by_label("Reason").fill("hip fracture, cannot stay at home")
        form.get_by_label(re.compile("Patient reference")).fill("zcv-west-4711")
        form.get_by_role("button", name="Place hold").click()
        expect(form).to_be_hidden()

        request = page.locator('#request-list li[data-kind="hold"]')
        expect(request).to_have_count(1)
        expect(request).to_contain_text("waiting for an answer")
        expect(request).to_contain_text("ELV Leythenrode")
        remaining = request.locator(".remaining")
        expect(remaining).to_have_text(re.compile(r"^(30:00|29:[0-5][0-9]) left to answer$"))
        first = remaining.text_content()
        wait_for(lambda: remaining.text_content() != first, timeout=5,
                 what="the countdown moved")
        # Held beside the provider's own figure, which the hold does not change.
        expect(figure.locator(".value")).to_have_text("1")
        expect(figure.locator(".held")).to_contain_text("1 held")
        hold_id = request.get_attribute("data-request")
        assert hold_id

        figure.get_by_role("button", name=re.compile("^Hold a place")).click()
        form.get_by_label("Reason").fill("a second patient")
        form.get_by_role("button", name="Place hold").click()
        refusal = form.locator(".error")
        expect(refusal).to_contain_text(
            f"no vvt.beds.elv_low_complex place left unheld at Location/{elv.location_id}")
        expect(refusal).to_contain_text("1 held")
        page.screenshot(path=screenshot_dir(stack.state_dir / "screenshots")
                        / "console-planning.png", animations="disabled")
        form.get_by_role("button", name="Close").click()
        expect(page.locator('#request-list li[data-kind="hold"]')).to_have_count(1)

        with console_page(browser, stack.api_url) as (provider, _):
            sign_in(provider, provider_token)
            expect(provider.locator("#requests-title")).to_have_text(
                "Requests for your locations")
            expect(provider.locator("#live")).to_contain_text("Live")
            # A provider answers requests; it makes none.
            expect(provider.locator("button.act")).to_have_count(0)
            asked = provider.locator(f'#request-list li[data-request="{hold_id}"]')
            expect(asked).to_contain_text("waiting for an answer")
            expect(asked.locator(".remaining")).to_contain_text("left to answer")
            expect(asked).to_contain_text("hip fracture")
            asked.get_by_role("button", name=re.compile("^Accept")).click()
            expect(asked).to_have_attribute("data-state", "accepted")
            expect(asked.get_by_role("button", name=re.compile("^Complete"))).to_be_visible()

        # The ZCV's list follows the answer live (a planning event on /v1/stream).
        expect(request).to_have_attribute("data-state", "accepted", timeout=10_000)
        expect(request).to_contain_text("accepted")
        expect(request.locator(".remaining")).to_have_count(0)


def _agenda(place: Place, free: int) -> None:
    """The practice's agenda system sends `free` free slots within the next 3 hours."""
    read_at = _now() - timedelta(seconds=30)
    schedule = f"urn:uuid:{uuid.uuid4()}"
    entries: list[dict[str, Any]] = [{"fullUrl": schedule, "resource": {
        "resourceType": "Schedule", "active": True,
        "actor": [{"reference": f"Location/{place.location_id}"}]}}]
    for i in range(free):
        start = read_at + timedelta(minutes=30 + 10 * i)
        entries.append({"resource": {
            "resourceType": "Slot", "id": f"slot-{i}-{uuid.uuid4().hex[:6]}",
            "schedule": {"reference": schedule}, "status": "free", "start": start.isoformat(),
            "end": (start + timedelta(minutes=10)).isoformat()}})
    answer = place.client.post("/fhir/consult-slots", json={
        "resourceType": "Bundle", "type": "collection", "timestamp": read_at.isoformat(),
        "entry": entries}, headers={"Content-Type": "application/fhir+json"})
    assert answer.status_code == 202, answer.text


def test_planning_a_consult_is_booked_and_a_visit_requested_from_the_board(
    browser: Browser, stack: StackConfig, platform: Platform, zcv: httpx.Client,
    zcv_west: str, scene: Scene,
) -> None:
    """"book" picks a free slot of a GP practice and the U3 figure drops at once; "request
    visit" asks the HAP's visit car; both are listed, and the ZCV cancels the visit."""
    u3 = "gp.consults.u3.free"
    practice = _place(platform, scene.suffix, "gp-plan", "Huisartsen Oegstgeest",
                      "gp-practice", 52.1800, 4.4700)
    _agenda(practice, 2)
    wait_for(lambda: any(f["definition"] == u3 and f["value"] == 2 for location in zcv.get(
        "/v1/availability", params={"region": "west", "item": u3}).json()["locations"]
        if location["location_id"] == practice.location_id for f in location["figures"]),
        timeout=30, what="U3 = 2 of the practice")
    with console_page(browser, stack.api_url) as (page, _):
        sign_in(page, zcv_west)
        _only_scene(page, scene)
        row = page.locator(f'tr[data-location="{practice.location_id}"]')
        expect(row.locator(f'td[data-definition="{u3}"] .value')).to_have_text("2")
        row.get_by_role("button", name=re.compile("^Book a consult")).click()
        form = page.locator("#planning")
        slot = form.get_by_label("Free slot")
        expect(slot.locator("option")).to_have_count(2)
        form.get_by_role("button", name="Book").click()
        expect(form).to_be_hidden()
        booked = page.locator('#request-list li[data-kind="appointment"]')
        expect(booked).to_contain_text("Huisartsen Oegstgeest")
        expect(booked).to_have_attribute("data-state", "pending")
        expect(row.locator(f'td[data-definition="{u3}"] .value')).to_have_text("1")

        hap = page.locator(f'tr[data-location="{scene.hap.location_id}"]')
        hap.locator(f'button[data-unit="{scene.car_id}"]').click()
        expect(form.locator("h2")).to_contain_text("Visite 1")
        form.get_by_label("Urgency").select_option("U2")
        form.get_by_role("button", name="Request visit").click()
        expect(form).to_be_hidden()
        visit = page.locator('#request-list li[data-kind="visit"]')
        expect(visit).to_contain_text("Visite 1 · U2")
        expect(visit.locator(".remaining")).to_contain_text("left to answer")
        visit.get_by_role("button", name=re.compile("^Cancel")).click()
        expect(visit).to_have_attribute("data-state", "cancelled")


@pytest.fixture(scope="module")
def history_place(stack: StackConfig, platform: Platform) -> Place:
    """An ELV location of West with 25 days of hourly free high-complex beds in a daily and
    weekly rhythm (stack/patterns.py), sent as its spreadsheets, and a refit of the forecasts."""
    suffix = uuid.uuid4().hex[:6]
    place = _place(platform, suffix, "elvtrend", f"ELV Trend {suffix}", "vvt", 52.14, 4.49)
    start = (_now() - timedelta(hours=600)).replace(minute=20, second=0)
    wanderer, rng = Wanderer("beds-free", 12, 0, 30, whole=True), random.Random(5)
    rows = [f"{place.location_id};ELV hoog complex;"
            f"{int(wanderer.step(start + timedelta(hours=k), rng))};30;"
            f"{(start + timedelta(hours=k)).isoformat()}" for k in range(600)]
    for first in range(0, len(rows), 300):
        text = "\r\n".join(["locatie;zorgsoort;beschikbaar;totaal;tijdstip",
                            *rows[first:first + 300]]) + "\r\n"
        place.client.post("/v1/vvt/beds.csv", content=text.encode(), headers={
            "Content-Type": "text/csv; charset=utf-8"}).raise_for_status()
    with psycopg.connect(stack.database_url, autocommit=True) as conn:
        wait_for(lambda: (conn.execute("SELECT count(*) FROM observation_1h WHERE location_id"
                                       " = %s", (place.location_id,)).fetchone() or [0])[0]
                 >= 600, timeout=120, what="the hourly roll-ups of the ELV's history")
    subprocess.run([sys.executable, "-m", "forecast", "--once"], env=stack.service_env(),
                   cwd=REPO_ROOT, check=True, timeout=300, capture_output=True)
    return place


def test_a_figure_shows_its_last_24_and_next_4_hours_with_the_verdict(
    browser: Browser, stack: StackConfig, zcv_west: str, history_place: Place,
) -> None:
    code = "vvt.beds.elv_high_complex.available"
    with console_page(browser, stack.api_url) as (page, _):
        sign_in(page, zcv_west)
        page.get_by_label("Search").fill(history_place.location_id)
        figure = page.locator(cell(history_place.location_id, code))
        figure.get_by_role("button", name=re.compile("next 4")).click()
        panel = page.locator("#forecast")
        expect(panel).to_be_visible()
        expect(panel.locator("h2")).to_contain_text(history_place.name)
        chart = panel.locator("svg.forecast-chart")
        expect(chart).to_be_visible()
        expect(chart.locator("path.past")).to_have_count(1)
        expect(chart.locator("path.band")).to_have_count(1)
        expect(chart.locator("path.ahead")).to_have_count(1)
        expect(panel.locator(".verdict")).to_contain_text(re.compile(
            r"^(Forecast: in the backtest|No reliable forecast)"))
        # The band's points (4 ahead, both edges) never go below 0 beds: the chart's axis is 0.
        assert chart.locator("path.band").get_attribute("d")
        panel.screenshot(path=screenshot_dir(stack.state_dir / "screenshots")
                         / "console-forecast.png", animations="disabled")
        # Only the figure the ELV reports has a trend button in its row.
        expect(page.locator(f'tr[data-location="{history_place.location_id}"] '
                            'button.trend')).to_have_count(1)
