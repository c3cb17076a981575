"""The planning module on the running stack: consult booking with the practice's answer and the
U3 figure dropping at once, holds on the last ELV bed with a 409 for the second and an expiry
that happens exactly once across worker and API restarts, visit requests, who may answer
what, and 50 parallel bookings for 5 slots."""

from __future__ import annotations

import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest

from stack import lifecycle, processes
from stack.config import StackConfig
from stack.demo import location_resource
from tests.identities import Platform, Site
from tests.waiting import wait_for

FHIR_JSON = {"Content-Type": "application/fhir+json"}
U3 = "gp.consults.u3.free"
ELV = "vvt.beds.elv_low_complex.available"


def _site(platform: Platform, sector: str, region: str = "west") -> Site:
    suffix = uuid.uuid4().hex[:8]
    org, location = f"org-plan-{suffix}", f"loc-plan-{suffix}"
    client = platform.provider(org, f"Praktijk {suffix}")
    client.put(f"/fhir/Location/{location}", json=location_resource(
        location, org, f"Praktijk {suffix}", region, 52.1, 4.4, sector)).raise_for_status()
    return Site(location, org, client)


def _agenda(site: Site, free: int, path: str = "/fhir/consult-slots") -> list[str]:
    """Push an agenda with `free` free slots within the next 2 hours; their ids."""
    read_at = datetime.now(UTC) - timedelta(seconds=30)
    schedule = f"urn:uuid:{uuid.uuid4()}"
    ids = [f"slot-{i}-{uuid.uuid4().hex[:6]}" for i in range(free)]
    entries: list[dict[str, Any]] = [{"fullUrl": schedule, "resource": {
        "resourceType": "Schedule", "active": True,
        "actor": [{"reference": f"Location/{site.location_id}"}]}}]
    for i, slot_id in enumerate(ids):
        start = read_at + timedelta(minutes=30 + 10 * i)
        entries.append({"resource": {
            "resourceType": "Slot", "id": slot_id, "schedule": {"reference": schedule},
            "status": "free", "start": start.isoformat(),
            "end": (start + timedelta(minutes=10)).isoformat()}})
    bundle = {"resourceType": "Bundle", "type": "collection",
              "timestamp": read_at.isoformat(), "entry": entries}
    answer = site.client.post(path, json=bundle, headers=FHIR_JSON)
    assert answer.status_code == 202, answer.text
    return ids


def _figure(reader: httpx.Client, site: Site, item: str, region: str = "west",
            ) -> dict[str, Any] | None:
    live = reader.get("/v1/availability", params={"region": region, "item": item})
    live.raise_for_status()
    return next((f for loc in live.json()["locations"] if loc["location_id"] == site.location_id
                 for f in loc["figures"] if f["definition"] == item), None)


def _booking(site: Site, slot_id: str, patient: str = "pseudo-123") -> dict[str, Any]:
    return {"resourceType": "Appointment", "status": "proposed",
            "slot": [{"reference": f"Slot/{slot_id}"}],
            "participant": [{"actor": {"reference": f"Location/{site.location_id}"}},
                            {"actor": {"reference": f"Patient/{patient}"}}],
            "description": "U3 consult"}


def _conflict(answer: httpx.Response) -> str:
    assert answer.status_code == 409, answer.text
    issue = answer.json()["issue"][0]
    assert answer.json()["resourceType"] == "OperationOutcome" and issue["code"] == "conflict"
    return str(issue["diagnostics"])


def test_a_booking_lowers_u3_at_once_and_the_practice_confirms_or_cancels(
    platform: Platform,
) -> None:
    zcv = platform.zcv(("west",))
    gp = _site(platform, "gp-practice")
    slots = _agenda(gp, 3)
    wait_for(lambda: (_figure(zcv, gp, U3) or {}).get("value") == 3, what="U3 = 3 stored")
    free = zcv.get("/fhir/Slot", params={"location": gp.location_id}).json()
    assert {e["resource"]["id"] for e in free["entry"]} == set(slots)

    booked = zcv.post("/fhir/Appointment", json=_booking(gp, slots[0]), headers=FHIR_JSON)
    assert booked.status_code == 201, booked.text
    appointment = booked.json()
    assert appointment["status"] == "pending"
    figure = _figure(zcv, gp, U3)  # at once: no waiting
    assert figure is not None and (figure["value"], figure["booked"]) == (2, 1)
    again = zcv.post("/fhir/Appointment", json=_booking(gp, slots[0]), headers=FHIR_JSON)
    assert "taken" in _conflict(again)

    pending = gp.client.get("/fhir/Appointment", params={
        "actor": f"Location/{gp.location_id}", "status": "pending"}).json()
    assert [e["resource"]["id"] for e in pending["entry"]] == [appointment["id"]]
    stranger = _site(platform, "gp-practice")
    response = {"resourceType": "AppointmentResponse",
                "appointment": {"reference": f"Appointment/{appointment['id']}"},
                "participantStatus": "accepted"}
    refused = stranger.client.post("/fhir/AppointmentResponse", json=response,
                                   headers=FHIR_JSON)
    assert refused.status_code == 403, refused.text
    confirmed = gp.client.post("/fhir/AppointmentResponse", json=response, headers=FHIR_JSON)
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "booked"
    assert (_figure(zcv, gp, U3) or {}).get("value") == 2

    for body in (b"null", b'{"reason": 5}', b"[]"):  # FHIR: 400 for a body it cannot take
        refused = zcv.post(f"/fhir/Appointment/{appointment['id']}/$cancel", content=body,
                           headers={"Content-Type": "application/json"})
        assert refused.status_code == 400, (body, refused.text)
        assert refused.json()["resourceType"] == "OperationOutcome"
        assert refused.json()["issue"][0]["code"] == "invalid"
    cancelled = zcv.post(f"/fhir/Appointment/{appointment['id']}/$cancel",
                         json={"reason": "patient went to the SEH"})
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert (_figure(zcv, gp, U3) or {}).get("value") == 3


def test_a_zcv_of_west_cannot_book_or_hold_in_noord_nederland(platform: Platform) -> None:
    zcv = platform.zcv(("west",))
    gp = _site(platform, "gp-practice", region="noord-nederland")
    slots = _agenda(gp, 1)
    answer = zcv.post("/fhir/Appointment", json=_booking(gp, slots[0]), headers=FHIR_JSON)
    assert answer.status_code == 403, answer.text
    assert "noord-nederland" in answer.json()["issue"][0]["diagnostics"]
    vvt = _site(platform, "vvt", region="noord-nederland")
    held = zcv.post("/v1/holds", json={"location_id": vvt.location_id,
                                        "category": "vvt.beds.elv_low_complex",
                                        "reason": "ELV after a fall"})
    assert held.status_code == 403, held.text


def _elv(site: Site, available: int) -> None:
    answer = site.client.post("/v1/vvt/beds", json={
        "location": site.location_id, "observed_at": datetime.now(UTC).isoformat(),
        "beds": {"elv_low_complex": {"available": available, "total": 10}}})
    assert answer.status_code == 202, answer.text


def _status(db: psycopg.Connection[Any], hold_id: str) -> str:
    row = db.execute("SELECT status FROM planning_task WHERE id = %s", (hold_id,)).fetchone()
    assert row is not None
    return str(row[0])


def _expiries(db: psycopg.Connection[Any], hold_id: str) -> tuple[int, int, int]:
    """(audit records, planning events, of which sent) of the hold's expiry."""
    audits = db.execute("SELECT count(*) FROM audit_event WHERE target = %s AND action ="
                        " 'expire holds'", (f"Hold/{hold_id}",)).fetchone()
    events = db.execute("SELECT count(*), count(published_at) FROM planning_event WHERE"
                        " fields->>'id' = %s AND fields->>'action' = 'expire'",
                        (hold_id,)).fetchone()
    assert audits is not None and events is not None
    return int(audits[0]), int(events[0]), int(events[1])


def _restart_api(stack: StackConfig) -> None:
    processes.stop(stack.pid_dir, "api", timeout=20.0)
    lifecycle.start_api(stack)


@pytest.mark.parametrize("restart", ["none", "worker", "api"])
def test_the_last_elv_bed_held_once_then_free_again_exactly_once(
    restart: str, platform: Platform, stack: StackConfig, db: psycopg.Connection[Any],
) -> None:
    first, second = platform.zcv(("west",)), platform.new_client(
        f"zcv-west-{uuid.uuid4().hex[:6]}", "zcv", ["west"])[1]
    vvt = _site(platform, "vvt")
    _elv(vvt, 1)
    wait_for(lambda: (_figure(first, vvt, ELV) or {}).get("value") == 1, what="ELV stored")
    ttl = 3 if restart == "none" else 6
    hold = first.post("/v1/holds", json={"location_id": vvt.location_id,
                                         "category": "vvt.beds.elv_low_complex",
                                         "reason": "ELV after a fall", "ttl_seconds": ttl,
                                         "patient_ref": "pseudo-9"})
    assert hold.status_code == 201, hold.text
    hold_id = hold.json()["id"]
    figure = _figure(first, vvt, ELV)
    assert figure is not None
    assert (figure["value"], figure["available"], figure["held"],
            figure["available_unheld"]) == (1, 1, 1, 0)
    assert "no vvt.beds.elv_low_complex place left unheld" in _conflict(second.post(
        "/v1/holds", json={"location_id": vvt.location_id,
                           "category": "vvt.beds.elv_low_complex", "reason": "also"}))
    try:
        if restart == "worker":
            lifecycle.stop_worker(stack, kill=True)
        elif restart == "api":
            processes.stop(stack.pid_dir, "api", timeout=20.0)
        deadline = datetime.fromisoformat(hold.json()["expires_at"])
        wait_for(lambda: datetime.now(UTC) > deadline + timedelta(seconds=1),
                 timeout=ttl + 10, what="the hold's deadline")
        if restart == "worker":
            assert _status(db, hold_id) == "requested"  # nobody swept it while down
    finally:
        if restart == "worker":
            lifecycle.start_worker(stack)
        elif restart == "api":
            lifecycle.start_api(stack)
    shown = first.get(f"/v1/holds/{hold_id}").json()
    assert (shown["status"], shown["status_reason"]) == ("failed", "expired")
    figure = _figure(first, vvt, ELV)
    assert figure is not None
    assert (figure["value"], figure["available"], figure["held"],
            figure["available_unheld"]) == (1, 1, 0, 1)
    wait_for(lambda: _expiries(db, hold_id) == (1, 1, 1), timeout=60,
             what="one expiry: audited, streamed")
    if restart == "api":  # a further restart does not expire it again
        _restart_api(stack)
    elif restart == "worker":
        lifecycle.stop_worker(stack)
        lifecycle.start_worker(stack)
    assert _status(db, hold_id) == "failed"
    assert _expiries(db, hold_id) == (1, 1, 1)
    late = vvt.client.post(f"/v1/holds/{hold_id}/accept")
    assert "expired" in _conflict(late)
    again = second.post("/v1/holds", json={"location_id": vvt.location_id,
                                           "category": "vvt.beds.elv_low_complex",
                                           "reason": "the bed is free again"})
    assert again.status_code == 201, again.text


def test_only_the_provider_of_the_location_answers_a_hold(platform: Platform) -> None:
    zcv = platform.zcv(("west",))
    vvt, other = _site(platform, "vvt"), _site(platform, "vvt")
    _elv(vvt, 2)
    wait_for(lambda: (_figure(zcv, vvt, ELV) or {}).get("value") == 2, what="ELV stored")
    hold = zcv.post("/v1/holds", json={"location_id": vvt.location_id,
                                       "category": "vvt.beds.elv_low_complex",
                                       "reason": "ELV"})
    assert hold.status_code == 201, hold.text
    hold_id = hold.json()["id"]
    assert other.client.post(f"/v1/holds/{hold_id}/accept").status_code == 403
    assert zcv.post(f"/v1/holds/{hold_id}/accept").status_code == 409  # only the provider
    accepted = vvt.client.post(f"/v1/holds/{hold_id}/accept")
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted"
    assert [h["id"] for h in vvt.client.get("/v1/holds", params={"status": "accepted"})
            .json()["requests"]] == [hold_id]
    done = vvt.client.post(f"/v1/holds/{hold_id}/complete")
    assert done.json()["status"] == "completed"
    assert (_figure(zcv, vvt, ELV) or {}).get("held") == 0


def test_a_visit_request_to_a_hap_visit_car(platform: Platform) -> None:
    zcv = platform.zcv(("west",))
    suffix = uuid.uuid4().hex[:8]
    org, unit = f"org-hap-{suffix}", f"visite-{suffix}"
    provider = platform.provider(org)
    registered = provider.put(f"/v1/mobile-units/{unit}", json={
        "kind": "hap-visit-car", "organization_id": org, "label": "Visite 1",
        "roaz_region": "west"})
    registered.raise_for_status()
    tracker = {"id": unit, "lat": "52.159950", "lon": "4.492810",
               "timestamp": str(int(datetime.now(UTC).timestamp())),
               "key": registered.json()["device_key"]}
    httpx.get(f"{zcv.base_url}/osmand", params=tracker).raise_for_status()

    def request_on_the_unit() -> dict[str, Any] | None:
        listed = zcv.get("/v1/units", params={"kind": "hap-visit-car", "region": "west"})
        assert listed.status_code == 200, listed.text
        car = next((u for u in listed.json() if u["id"] == unit), None)
        return None if car is None else {"request": car["visit_request"]}

    assert wait_for(request_on_the_unit, what="the car on /v1/units") == {"request": None}
    body = {"unit_id": unit, "latitude": 52.16, "longitude": 4.49, "urgency": "U2"}
    asked = zcv.post("/v1/visits", json=body)
    assert asked.status_code == 201, asked.text
    shown = request_on_the_unit()
    assert shown is not None and shown["request"] is not None
    assert (shown["request"]["id"], shown["request"]["status"], shown["request"]["urgency"]) == (
        asked.json()["id"], "requested", "U2")
    assert "taken" in _conflict(zcv.post("/v1/visits", json=body))
    declined = provider.post(f"/v1/visits/{asked.json()['id']}/decline",
                             json={"reason": "car on another visit"})
    assert declined.status_code == 200, declined.text
    assert (declined.json()["status"], declined.json()["status_reason"]) == (
        "rejected", "car on another visit")
    assert request_on_the_unit() == {"request": None}
    assert zcv.post("/v1/visits", json=body).status_code == 201


def test_a_hap_consult_is_booked_from_the_posts_agenda(platform: Platform) -> None:
    """A HAP pushes its agenda like a practice does; a booking lowers its free consults."""
    zcv = platform.zcv(("west",))
    hap = _site(platform, "hap")
    item = "hap.consults.free"
    slots = _agenda(hap, 2, path="/fhir/hap-consult-slots")
    wait_for(lambda: (_figure(zcv, hap, item) or {}).get("value") == 2, what="2 free stored")
    booked = zcv.post("/fhir/Appointment", json=_booking(hap, slots[0]), headers=FHIR_JSON)
    assert booked.status_code == 201, booked.text
    figure = _figure(zcv, hap, item)
    assert figure is not None and (figure["value"], figure["booked"]) == (1, 1)
    confirmed = hap.client.post("/fhir/AppointmentResponse", headers=FHIR_JSON, json={
        "resourceType": "AppointmentResponse",
        "appointment": {"reference": f"Appointment/{booked.json()['id']}"},
        "participantStatus": "accepted"})
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "booked"
    listed = hap.client.get("/fhir/Appointment", params={
        "actor": f"Location/{hap.location_id}", "status": "booked"})
    assert [e["resource"]["id"] for e in listed.json().get("entry", [])] == [booked.json()["id"]]


def test_a_request_for_an_ambulance_shows_beside_its_lsiv_status(platform: Platform) -> None:
    """The dispatch centre deploys ambulances (LSIV); a ZCV's request to it shows next to the
    ambulance, and the RAV answers it."""
    zcv = platform.zcv(("west",))
    suffix = uuid.uuid4().hex[:8]
    org, unit = f"org-rav-{suffix}", f"ambu-{suffix}"
    rav = platform.provider(org)
    registered = rav.put(f"/v1/mobile-units/{unit}", json={
        "kind": "ambulance", "organization_id": org, "label": "16-101", "roaz_region": "west"})
    registered.raise_for_status()
    httpx.get(f"{zcv.base_url}/osmand", params={
        "id": unit, "lat": "52.16", "lon": "4.49", "key": registered.json()["device_key"],
        "timestamp": str(int(datetime.now(UTC).timestamp()))}).raise_for_status()
    asked = zcv.post("/v1/visits", json={"unit_id": unit, "latitude": 52.16, "longitude": 4.49,
                                         "urgency": "U1"})
    assert asked.status_code == 201, asked.text

    def shown() -> dict[str, Any] | None:
        listed = zcv.get("/v1/units", params={"kind": "ambulance", "region": "west"}).json()
        car = next((u for u in listed if u["id"] == unit), None)
        return None if car is None else car["visit_request"]

    request = wait_for(shown, what="the request beside the ambulance")
    assert (request["id"], request["status"]) == (asked.json()["id"], "requested")
    accepted = rav.post(f"/v1/visits/{asked.json()['id']}/accept")
    assert accepted.status_code == 200, accepted.text
    assert (shown() or {}).get("status") == "accepted"


def test_fifty_parallel_bookings_for_five_slots_give_five_bookings(
    platform: Platform, db: psycopg.Connection[Any],
) -> None:
    zcvs = [platform.zcv(("west",)), platform.new_client(
        f"zcv-west-{uuid.uuid4().hex[:6]}", "zcv", ["west"])[1]]
    gp = _site(platform, "gp-practice")
    slots = _agenda(gp, 5)
    for zcv in zcvs:  # signed in before the burst
        zcv.get("/fhir/Slot", params={"location": gp.location_id}).raise_for_status()

    def book(n: int) -> int:
        answer = zcvs[n % 2].post("/fhir/Appointment", json=_booking(gp, slots[n % 5]),
                                  headers=FHIR_JSON)
        return answer.status_code

    with ThreadPoolExecutor(max_workers=50) as pool:
        statuses = Counter(pool.map(book, range(50)))
    assert statuses == {201: 5, 409: 45}
    row = db.execute("SELECT count(*), count(DISTINCT slot_id) FROM appointment WHERE"
                     " location_id = %s AND status IN ('pending', 'booked')",
                     (gp.location_id,)).fetchone()
    assert row == (5, 5)
