"""Mobile units over HTTP: trackers send OsmAnd (Traccar) reports, GET /v1/units shows them.

The provider registers the unit and gets its tracker's device key; the tracker reports with
`?key=`, as a Traccar device is set up; a ZCV reads /v1/units."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest

from core.mobile_units import UNIT_KINDS
from stack.config import StackConfig
from tests.identities import Platform
from tests.integration.helpers import raw_count
from tests.waiting import wait_for


@dataclass(frozen=True)
class VisitCar:
    """A registered unit: its id (= device id), its tracker's device key, its provider."""

    id: str
    key: str
    provider: httpx.Client


@pytest.fixture
def visit_car(platform: Platform) -> VisitCar:
    """A HAP visit car in ROAZ region West, freshly registered by its own organisation."""
    suffix = uuid.uuid4().hex[:10]
    org_id, unit_id = f"org-hap-{suffix}", f"hap-visite-{suffix}"
    provider = platform.provider(org_id, f"Huisartsenpost Leiden {suffix}", "87654321")
    answer = provider.put(f"/v1/mobile-units/{unit_id}", json={
        "kind": "hap-visit-car", "organization_id": org_id, "label": "Visite 1",
        "roaz_region": "west"})
    assert answer.status_code == 201, answer.text
    return VisitCar(unit_id, answer.json()["device_key"], provider)


def stored_positions(db: psycopg.Connection[Any], unit_id: str) -> list[tuple[Any, ...]]:
    """Rows of table `position` for the unit, oldest first."""
    return db.execute("SELECT observed_at, latitude, longitude, speed_kmh, heading_deg,"
                      " accuracy_m FROM position WHERE unit_id = %s ORDER BY observed_at",
                      (unit_id,)).fetchall()


def unit_of(zcv: httpx.Client, unit_id: str) -> dict[str, Any] | None:
    """The unit as GET /v1/units?kind=hap-visit-car lists it, or None."""
    answer = zcv.get("/v1/units", params={"kind": "hap-visit-car"})
    answer.raise_for_status()
    return next((u for u in answer.json() if u["id"] == unit_id), None)


def query(unit_id: str, moment: datetime, **extra: str) -> dict[str, str]:
    """An OsmAnd query string: position near Leiden, speed in knots."""
    return {"id": unit_id, "lat": "52.159950", "lon": "4.492810",
            "timestamp": str(int(moment.timestamp())), "speed": "10", "bearing": "184.5",
            "accuracy": "6", **extra}


def tracked(car: VisitCar, moment: datetime) -> dict[str, str]:
    """The query string the car's tracker sends: with its device key, as Traccar devices do."""
    return query(car.id, moment, key=car.key)


def traccar_client_json(unit_id: str, moment: datetime) -> dict[str, Any]:
    """The JSON the Traccar Client apps send: speed in metres per second."""
    return {"device_id": unit_id, "location": {
        "timestamp": moment.isoformat().replace("+00:00", "Z"),
        "coords": {"latitude": 52.166310, "longitude": 4.478860, "accuracy": 5.0,
                   "speed": 12.5, "heading": 271.0, "altitude": 0.4},
        "is_moving": True, "battery": {"level": 0.81, "is_charging": False}}}


def worker_duplicates(stack: StackConfig) -> float:
    """zc_position_duplicates_total of the stream worker."""
    text = httpx.get(f"http://127.0.0.1:{stack.worker_metrics_port}/metrics").text
    found = re.search(r"^zc_position_duplicates_total (\S+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def now() -> datetime:
    # Whole seconds: the query form sends Unix seconds.
    return datetime.now(UTC).replace(microsecond=0)


def test_query_and_json_reports_show_up_in_units(
    api: httpx.Client, zcv: httpx.Client, db: psycopg.Connection[Any], visit_car: VisitCar,
) -> None:
    t0 = now() - timedelta(seconds=90)
    got = api.get("/osmand", params=tracked(visit_car, t0))
    assert got.status_code == 200, got.text
    posted = api.post("/osmand", params=tracked(visit_car, t0 + timedelta(seconds=30)))
    assert posted.status_code == 200, posted.text
    latest = t0 + timedelta(seconds=60)
    sent = api.post("/osmand", params={"key": visit_car.key},
                    json=traccar_client_json(visit_car.id, latest))
    assert sent.status_code == 200, sent.text
    assert "1 position(s) queued" in sent.text

    rows = wait_for(lambda: len(stored_positions(db, visit_car.id)) == 3
                    and stored_positions(db, visit_car.id), timeout=20, what="three positions")
    assert rows[0][0] == t0 and rows[0][3:] == (18.52, 184.5, 6.0)  # 10 kn = 18.52 km/h
    assert rows[2][3:] == (45.0, 271.0, 5.0)  # 12.5 m/s = 45 km/h
    # The device key is a credential, not part of the report: the raw messages lack it.
    payloads = [row[0] for row in db.execute(
        "SELECT payload::text FROM raw_message WHERE location_id = %s", (visit_car.id,))]
    assert len(payloads) == 3 and not any(visit_car.key in p for p in payloads)

    unit = wait_for(lambda: unit_of(zcv, visit_car.id), timeout=20,
                    what="the unit in /v1/units")
    assert unit["kind"] == "hap-visit-car" and unit["roaz_region"] == "west"
    assert (unit["latitude"], unit["longitude"]) == (52.16631, 4.47886)
    assert datetime.fromisoformat(unit["observed_at"]) == latest
    assert unit["speed_kmh"] == 45.0 and unit["heading_deg"] == 271.0
    assert 25 <= unit["age_seconds"] < 300 and unit["stale"] is False


def test_old_position_is_marked_stale(
    api: httpx.Client, zcv: httpx.Client, visit_car: VisitCar,
) -> None:
    api.get("/osmand", params=tracked(visit_car, now() - timedelta(minutes=20))).raise_for_status()
    unit = wait_for(lambda: unit_of(zcv, visit_car.id), timeout=20,
                    what="the unit in /v1/units")
    assert unit["stale"] is True and unit["age_seconds"] >= 1200


def test_the_same_report_twice_is_stored_once(
    api: httpx.Client, db: psycopg.Connection[Any], stack: StackConfig, visit_car: VisitCar,
) -> None:
    before = worker_duplicates(stack)
    moment = now() - timedelta(seconds=20)
    for _ in range(2):  # a tracker that did not see the first answer sends it again
        assert api.get("/osmand", params=tracked(visit_car, moment)).status_code == 200
    # A later report is the barrier: one unit's reports are stored in order.
    later = api.get("/osmand", params=tracked(visit_car, moment + timedelta(seconds=10)))
    assert later.status_code == 200
    rows = wait_for(lambda: len(stored_positions(db, visit_car.id)) == 2
                    and stored_positions(db, visit_car.id), timeout=20,
                    what="the later report")
    assert [r[0] for r in rows] == [moment, moment + timedelta(seconds=10)]
    assert worker_duplicates(stack) == before + 1


def test_future_timestamp_is_filtered_and_nothing_stored(
    api: httpx.Client, db: psycopg.Connection[Any], visit_car: VisitCar,
) -> None:
    # Answered 200 so the tracker does not resend it forever; not stored, with the reason.
    answer = api.get("/osmand", params=tracked(visit_car, now() + timedelta(minutes=10)))
    assert answer.status_code == 200
    issue = answer.json()["issue"][0]
    assert issue["severity"] == "warning" and issue["expression"] == ["query.timestamp"]
    assert "lies in the future" in issue["diagnostics"]

    api.get("/osmand", params=tracked(visit_car, now())).raise_for_status()  # the barrier
    wait_for(lambda: len(stored_positions(db, visit_car.id)) == 1, timeout=20,
             what="the good one")
    assert raw_count(db, visit_car.id) == 2  # both kept as received; only the good one stored


def test_unknown_device_is_404(api: httpx.Client, visit_car: VisitCar) -> None:
    nobody = f"nobody-{uuid.uuid4().hex[:8]}"
    # The provider's own system, with its bearer token, sending for a unit it never registered.
    answer = visit_car.provider.get("/osmand", params=query(nobody, now()))
    assert answer.status_code == 404, answer.text
    assert f"PUT /v1/mobile-units/{nobody}" in answer.json()["issue"][0]["diagnostics"]
    answer = visit_car.provider.post("/osmand", json=traccar_client_json(nobody, now()))
    assert answer.status_code == 404, answer.text
    # Without a key or token nothing is looked up: 401, not 404.
    assert api.get("/osmand", params=query(nobody, now())).status_code == 401


def test_the_database_takes_exactly_the_declared_unit_kinds(
    db: psycopg.Connection[tuple[object, ...]],
) -> None:
    """The CHECK of migration 0004 is a safety net: it must name the kinds core declares."""
    row = db.execute("SELECT pg_get_constraintdef(oid) FROM pg_constraint"
                     " WHERE conrelid = 'mobile_unit'::regclass AND contype = 'c'"
                     " AND pg_get_constraintdef(oid) LIKE '%%kind%%'").fetchone()
    assert row is not None
    assert set(re.findall(r"'([^']+)'::text", str(row[0]))) == set(UNIT_KINDS)
