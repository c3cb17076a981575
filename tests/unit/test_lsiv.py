"""The LSIV feed without a broker: region figures, the out-of-order rule, the bridge and fleet
stages over fake topics, and the simulator's messages against the schema and the adapter."""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from adapters import AdapterError, MessageMeta, map_raw
from adapters.ambulance.fleet import ADAPTER as FLEET
from adapters.ambulance.fleet import region_figures
from adapters.ambulance.lsiv import ADAPTER as LSIV
from adapters.ambulance.lsiv_message import read_message, vehicle_id_of
from core.fleet import VehicleStatus
from core.ingest import ingest_message
from core.settings import Settings
from definitions import load_catalogue
from stack.lsiv_simulator import feed
from streams.app import create_app
from streams.lsiv import fleet_message, raw_message_id, read_feed_message, unit_of

SCHEMA = Path(__file__).resolve().parents[2] / "schemas" / "lsiv-message.schema.json"
NOW = datetime(2026, 11, 22, 13, 0, tzinfo=UTC)


def _vehicle(status: str, kind: str = "A", region: str = "vr16",
             at: str = "2026-11-22T12:30:00+00:00") -> dict[str, str]:
    return {"status": status, "type": kind, "rav_region": region, "at": at}


def _status(vehicle_id: str, status: str, at: datetime, kind: str = "A",
            region: str = "vr16") -> dict[str, Any]:
    return {"kind": "vehicle-status", "message_id": f"{vehicle_id}-{at.isoformat()}",
            "vehicle": {"id": vehicle_id, "call_sign": vehicle_id[-6:], "rav_region": region,
                        "type": kind},
            "status": status, "at": at.isoformat()}


def _status_of(vehicle_id: str, status: str, at: str, kind: str = "A") -> VehicleStatus:
    return VehicleStatus(vehicle_id, "vr16", kind, status, datetime.fromisoformat(at))


def _position(vehicle_id: str, at: datetime) -> dict[str, Any]:
    message = _status(vehicle_id, "5", at)
    del message["status"]
    return {**message, "kind": "avls-position", "message_id": f"pos-{at.isoformat()}",
            "position": {"lat": 52.16, "lon": 4.49, "speed_kmh": 40, "heading_deg": 90,
                         "accuracy_m": 5}}


# --- region figures --------------------------------------------------------------------------

def test_region_figures_count_per_urgency_and_deployed_share() -> None:
    vehicles = [_vehicle("5"), _vehicle("6"), _vehicle("6", "B"), _vehicle("1"),
                _vehicle("10", "B"), _vehicle("8")]
    assert region_figures(vehicles) == {
        "ambulance.available.a1": 2, "ambulance.available.a2": 2,
        "ambulance.available.b": 3,  # a zorgambulance serves B only, an A vehicle B too
        "ambulance.busyness.deployed_share": 33.3,  # 1 and 10 of 6; 8 is neither
    }


def test_every_deployed_status_counts_and_call_requests_stay_in_the_denominator() -> None:
    deployed = [_vehicle(code) for code in ("0", "1", "2", "3", "4", "10")]
    calls = [_vehicle(code) for code in ("7", "8", "9")]
    assert region_figures(deployed)["ambulance.busyness.deployed_share"] == 100.0
    figures = region_figures(deployed + calls)
    assert figures["ambulance.busyness.deployed_share"] == 66.7
    assert figures["ambulance.available.b"] == 0


def test_a_region_without_vehicles_has_none_available_and_no_share() -> None:
    assert region_figures([]) == {
        "ambulance.available.a1": 0, "ambulance.available.a2": 0, "ambulance.available.b": 0,
        "ambulance.busyness.deployed_share": None}


def test_a_fleet_message_is_the_regions_snapshot_mapped_at_its_latest_status() -> None:
    vehicles = [_status_of("amb-16-101", "5", "2026-11-22T12:10:00+00:00"),
                _status_of("amb-16-201", "2", "2026-11-22T12:40:00+00:00", "B")]
    message = fleet_message("vr16", vehicles, NOW - timedelta(hours=2), NOW)
    assert (message.location_id, message.provider, message.source_format) == (
        "rav-vr16", "rav-vr16", "lsiv/fleet")
    latest = datetime(2026, 11, 22, 12, 40, tzinfo=UTC)
    rows = {row[1]: row for row in message.observations or []}
    assert {code: row[3] for code, row in rows.items()} == {
        "ambulance.available.a1": 1, "ambulance.available.a2": 1, "ambulance.available.b": 1,
        "ambulance.busyness.deployed_share": 50.0}
    assert {row[5] for row in rows.values()} == {latest}
    assert {row[0] for row in rows.values()} == {"rav-vr16"}
    # The same snapshot later is the same message: a redelivery is recognised downstream.
    again = fleet_message("vr16", vehicles, NOW - timedelta(hours=2), NOW + timedelta(seconds=5))
    assert again.message_id == message.message_id
    # Mapped here, and the same when the store stage maps the archived raw message again.
    raw = message.raw_message()
    assert isinstance(raw.payload, dict)
    assert raw.payload["vehicles"] == [{"id": "amb-16-101", "type": "A", "status": "5"},
                                       {"id": "amb-16-201", "type": "B", "status": "2"}]
    assert ingest_message(raw, map_raw(raw).observations).observations == message.observations


def test_a_region_left_empty_is_dated_by_the_status_that_emptied_it() -> None:
    message = fleet_message("vr15", [], NOW - timedelta(minutes=1), NOW)
    rows = {row[1]: row for row in message.observations or []}
    share = rows["ambulance.busyness.deployed_share"]
    assert (share[3], share[4], share[5]) == (None, "not-applicable",
                                              NOW - timedelta(minutes=1))


# --- one feed message ------------------------------------------------------------------------

def test_a_status_message_is_read_and_mapped_at_its_vehicle() -> None:
    message = _status("amb-16-101", "2", NOW - timedelta(minutes=1), "B")
    read = read_feed_message(json.dumps(message).encode(), NOW)
    assert read.ingest.message_id == raw_message_id(message["message_id"])
    assert (read.ingest.location_id, read.ingest.provider, read.ingest.source_format) == (
        "amb-16-101", "rav-vr16", "lsiv/v1")
    assert [(row[0], row[1], row[3]) for row in read.ingest.observations or []] == [
        ("amb-16-101", "ambulance.vehicle.status", "2")]
    assert read.status is not None and (read.status.status, read.status.vehicle_type) == (
        "2", "B")
    assert unit_of(read.message.vehicle).capabilities == ["B"]


def test_a_position_message_is_mapped_to_a_position_and_reports_no_status() -> None:
    read = read_feed_message(json.dumps(_position("amb-16-101", NOW)).encode(), NOW)
    assert read.status is None and read.ingest.observations == []
    assert [(p[0], p[1], p[3]) for p in read.ingest.positions] == [
        ("amb-16-101", "ambulance", 52.16)]


def test_refused_feed_messages_raise_for_the_dead_letters() -> None:
    for bad in (b"{", json.dumps(_status("amb-16-101", "11", NOW)).encode()):
        try:
            read_feed_message(bad, NOW)
        except (ValueError, AdapterError):
            continue
        raise AssertionError(f"{bad!r} was accepted")


# --- the simulator ---------------------------------------------------------------------------

class _Producer:
    def __init__(self) -> None:
        self.messages: list[tuple[str, bytes, bytes]] = []

    def produce(self, topic: str, value: bytes, key: bytes) -> None:
        self.messages.append((topic, key, value))

    def poll(self, timeout: float) -> int:
        return 0


def _simulate(seed: int = 3, **kwargs: Any) -> tuple[_Producer, list[dict[str, Any]]]:
    producer = _Producer()
    options = {"vehicles": 12, "regions": ["vr16", "vr15"], "rate": 12.0, "seconds": 60.0,
               **kwargs}
    sent = feed(producer, seed=seed, start=NOW - timedelta(minutes=2), sleep=lambda _: None,
                **options)
    return producer, sent


def test_the_simulator_sends_schema_valid_messages_the_adapter_accepts() -> None:
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text()),
                                                format_checker=jsonschema.FormatChecker())
    producer, sent = _simulate()
    assert len(sent) == len(producer.messages) > 100
    for (topic, key, value), message in zip(producer.messages, sent, strict=True):
        validator.validate(message)
        read_message(json.loads(value), NOW)
        assert topic == "zc.lsiv.v1" and key == message["vehicle"]["rav_region"].encode()
    assert {m["kind"] for m in sent} == {"vehicle-status", "avls-position"}
    assert {m["vehicle"]["rav_region"] for m in sent} == {"vr16", "vr15"}
    assert len({m["message_id"] for m in sent}) == len(sent)


def test_the_simulator_is_reproducible_plausible_and_stops_in_time() -> None:
    _, sent = _simulate()
    assert _simulate()[1] == sent
    assert _simulate(seed=4)[1] != sent
    statuses: dict[str, list[str]] = defaultdict(list)
    times: dict[str, list[datetime]] = defaultdict(list)
    for message in sent:
        times[message["vehicle"]["id"]].append(datetime.fromisoformat(message["at"]))
        if message["kind"] == "vehicle-status":
            statuses[message["vehicle"]["id"]].append(message["status"])
    assert len(statuses) == 12
    assert all(t == sorted(t) and t[-1] <= NOW - timedelta(minutes=1) for t in times.values())
    follows = {"10": "1", "1": "2", "3": "4"}  # the fixed steps of a ride
    for ride in statuses.values():
        for now, nxt in zip(ride, ride[1:], strict=False):
            assert follows.get(now, nxt) == nxt, ride
    types = [m["vehicle"]["type"] for m in _simulate(seed=5, vehicles=200, seconds=1)[1]
             if m["kind"] == "vehicle-status"]
    assert 0.15 < types.count("B") / len(types) < 0.35


def test_the_simulator_starts_vehicles_near_their_region_centre() -> None:
    centre = load_catalogue().safety_regions["vr16"].centre
    _, sent = _simulate()
    first = next(m for m in sent if m["kind"] == "avls-position"
                 and m["vehicle"]["id"] == "amb-16-101")
    assert abs(first["position"]["lat"] - centre[0]) < 0.2
    assert abs(first["position"]["lon"] - centre[1]) < 0.3
    assert uuid.UUID(first["message_id"])


def test_the_worker_wires_its_agents_and_timers() -> None:
    app = create_app(Settings())
    assert {agent.name.rsplit(".", 1)[-1] for agent in app.agents.values()} >= {"store", "lsiv"}
    assert not app.tables  # the fleet's state lives in PostgreSQL, not in a stream table


# --- The fleet snapshot's own refusals ---------------------------------------------------------

def _snapshot(**changes: Any) -> dict[str, Any]:
    example = json.loads((FLEET.examples / "region-at-work.json").read_text())
    example.update(changes)
    return {k: v for k, v in example.items() if v is not None}


def _fleet_issues(payload: Any) -> list[tuple[str, str, str]]:
    meta = MessageMeta(uuid.UUID(int=1), "lsiv", "rav-vr16", NOW, "lsiv/fleet", "ambulance")
    with pytest.raises(AdapterError) as refused:
        FLEET.parse(payload, meta)
    return [(i.expression, i.code, i.diagnostics) for i in refused.value.issues]


LIST = "expected a list of vehicles"
SHAPE = "a vehicle has an `id`, a `type` and a `status` code"
TYPE = "type must be one of A, B"


@pytest.mark.parametrize(("vehicles", "expected"), [
    (None, [("vehicles", "structure", LIST)]),
    ({"amb-1": {}}, [("vehicles", "structure", LIST)]),
    ([{"id": "a", "type": "A", "status": "5"}, "amb-2", {"id": "c", "type": "A", "status": 5}],
     [("vehicles[1]", "structure", SHAPE), ("vehicles[2]", "structure", SHAPE)]),
    ([{"id": "a", "type": "C", "status": "5"}, {"id": "b", "type": "B", "status": "1"},
      {"id": "c", "status": "1"}],
     [("vehicles[0].type", "value", TYPE), ("vehicles[2].type", "value", TYPE)]),
])
def test_a_fleet_snapshot_names_every_vehicle_it_cannot_read(
    vehicles: Any, expected: list[tuple[str, str, str]],
) -> None:
    assert _fleet_issues(_snapshot(vehicles=vehicles)) == expected


@pytest.mark.parametrize(("observed_at", "words"), [
    (None, "observed_at must be an ISO 8601 moment"),
    ("gisteren", "observed_at must be an ISO 8601 moment"),
    ("2026-11-22T13:40:00", "observed_at needs a timezone"),
])
def test_a_fleet_snapshot_needs_a_moment_with_its_timezone(observed_at: str | None,
                                                           words: str) -> None:
    assert _fleet_issues(_snapshot(observed_at=observed_at)) == [("observed_at", "value", words)]


@pytest.mark.parametrize("region", [None, "vr26", 16])
def test_a_fleet_snapshot_names_its_region_by_a_veiligheidsregio_code(region: Any) -> None:
    with pytest.raises(AdapterError) as refused:
        FLEET.location_of(_snapshot(rav_region=region))
    [issue] = refused.value.issues
    assert (issue.expression, issue.code) == ("rav_region", "value")
    assert FLEET.location_of(_snapshot()) == "rav-vr16"


def test_a_fleet_snapshot_maps_at_its_own_moment_to_its_regions_location() -> None:
    meta = MessageMeta(uuid.UUID(int=1), "lsiv", "rav-vr16", NOW, "lsiv/fleet", "ambulance")
    result = FLEET.parse(_snapshot(), meta)
    assert {o.location_id for o in result.observations} == {"rav-vr16"}
    assert {o.observed_at for o in result.observations} == {
        datetime(2026, 11, 22, 12, 40, tzinfo=UTC)}


@pytest.mark.parametrize("payload", [
    {}, {"vehicle": "amb-16-101"}, {"vehicle": {}}, {"vehicle": {"id": ""}},
    {"vehicle": {"id": 16101}},
])
def test_an_lsiv_message_names_its_vehicle_by_a_text_id(payload: dict[str, Any]) -> None:
    with pytest.raises(AdapterError) as refused:
        vehicle_id_of(payload)
    [issue] = refused.value.issues
    assert (issue.expression, issue.code, issue.diagnostics) == (
        "vehicle.id", "required", "give the vehicle id as text")
    assert vehicle_id_of({"vehicle": {"id": "amb-16-101"}}) == "amb-16-101"


def test_an_avls_position_carries_every_figure_of_the_fix() -> None:
    message = json.loads((LSIV.examples / "avls-position-on-the-a4.json").read_text())
    meta = MessageMeta(uuid.UUID(int=2), "rav-hollands-midden", "amb-16-123", NOW, "lsiv/v1",
                       "ambulance")
    result = LSIV.parse(message, meta)
    assert result.observations == []
    [fix] = result.positions
    assert (fix.unit_id, fix.unit_kind, fix.provider) == ("amb-16-123", "ambulance",
                                                          "rav-hollands-midden")
    assert (fix.latitude, fix.longitude, fix.accuracy_m, fix.speed_kmh, fix.heading_deg) == (
        52.141892, 4.532417, 6, 112.4, 47.0)
    assert fix.observed_at == datetime(2026, 11, 22, 12, 48, 52, tzinfo=UTC)
    assert (fix.received_at, fix.source_format) == (NOW, "lsiv/v1")


def test_a_status_change_is_the_vehicles_status_at_its_moment() -> None:
    message = json.loads((LSIV.examples / "status-at-post.json").read_text())
    meta = MessageMeta(uuid.UUID(int=3), "rav-hollands-midden", message["vehicle"]["id"], NOW,
                       "lsiv/v1", "ambulance")
    [status] = LSIV.parse(message, meta).observations
    assert (status.location_id, status.value) == (message["vehicle"]["id"], message["status"])
    assert status.observed_at == datetime.fromisoformat(message["at"])
    with pytest.raises(AdapterError) as refused:
        LSIV.parse({**message, "status": "99"}, meta)
    assert [i.expression for i in refused.value.issues] == ["status"]
