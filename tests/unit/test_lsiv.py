"""The LSIV feed without a broker: region figures, the out-of-order rule, the bridge and fleet
stages over fake topics, and the simulator's messages against the schema and the adapter."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema

from adapters import MessageMeta, adapter_for
from adapters.ambulance.lsiv_message import read_message
from core.messages import Observation, RawMessage
from core.settings import Settings
from definitions import load_catalogue
from definitions.validation import check_observation
from stack.lsiv_simulator import feed
from streams.app import create_app
from streams.lsiv import (
    Fleet,
    LsivBridge,
    fleet_observations,
    raw_message_id,
    raw_of,
    region_figures,
    region_observations,
    supersedes,
    unit_of,
)

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


def test_region_observations_are_at_the_rav_location_at_the_latest_status() -> None:
    vehicles = [_vehicle("5", at="2026-11-22T12:10:00+00:00"),
                _vehicle("2", "B", at="2026-11-22T12:40:00+00:00")]
    observations = region_observations("vr16", vehicles, NOW)
    assert {o.definition: o.value for o in observations} == {
        "ambulance.available.a1": 1, "ambulance.available.a2": 1, "ambulance.available.b": 1,
        "ambulance.busyness.deployed_share": 50.0}
    latest = datetime(2026, 11, 22, 12, 40, tzinfo=UTC)
    for obs in observations:
        assert (obs.location_id, obs.provider, obs.source_format) == (
            "rav-vr16", "rav-vr16", "lsiv/fleet")
        assert obs.observed_at == latest and obs.received_at == NOW
        check_observation(load_catalogue(), obs.definition, obs.definition_version, obs.value,
                          obs.unit)
    again = region_observations("vr16", vehicles, NOW + timedelta(seconds=5))
    assert {o.raw_message_id for o in again} == {observations[0].raw_message_id}


def test_fleet_observations_only_for_the_regions_asked() -> None:
    vehicles = [_vehicle("5"), _vehicle("6", region="vr15"), _vehicle("1", region="vr17")]
    observations = fleet_observations({"vr15": NOW, "vr16": NOW}, vehicles, NOW)
    assert {o.location_id for o in observations} == {"rav-vr15", "rav-vr16"}


# --- out-of-order rule -----------------------------------------------------------------------

def test_an_older_status_does_not_supersede_a_newer_one() -> None:
    newer = _vehicle("2", at="2026-11-22T12:30:00+00:00")
    older = _vehicle("1", at="2026-11-22T13:29:00+01:00")  # 12:29Z, in another offset
    assert not supersedes(older, newer)
    assert supersedes(newer, older)
    assert supersedes(newer, None)
    assert supersedes(_vehicle("3", at=newer["at"]), newer)  # same moment: feed order wins


@dataclass
class _Message:
    value: bytes
    key: bytes | None = b"vr16"
    topic: str = "zc.lsiv.v1"
    partition: int = 0
    offset: int = 0


@dataclass
class _Event:
    message: _Message


class _Topic:
    """Collects what a stage sends; every send is acknowledged at once."""

    def __init__(self) -> None:
        self.sent: list[tuple[bytes, bytes]] = []

    async def send(self, key: bytes, value: bytes) -> asyncio.Future[None]:
        self.sent.append((key, value))
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    def get_topic_name(self) -> str:
        return "topic"


def _events(*messages: dict[str, Any] | bytes) -> list[_Event]:
    return [_Event(_Message(m if isinstance(m, bytes) else json.dumps(m).encode(), offset=i))
            for i, m in enumerate(messages)]


def _figures(topic: _Topic) -> dict[str, list[Observation]]:
    by_definition: dict[str, list[Observation]] = defaultdict(list)
    for _, value in topic.sent:
        obs = Observation.model_validate_json(value)
        by_definition[obs.definition].append(obs)
    return by_definition


def test_the_fleet_keeps_the_newest_status_and_emits_region_figures() -> None:
    table: dict[str, Any] = {}
    topic = _Topic()
    fleet = Fleet(table, topic)
    t0 = NOW - timedelta(minutes=30)
    asyncio.run(fleet._process(_events(
        _status("amb-16-101", "6", t0), _status("amb-16-102", "6", t0, "B"),
        _status("amb-16-103", "1", t0), _position("amb-16-101", t0), b"\xff not json")))
    first = _figures(topic)
    assert [o.value for o in first["ambulance.available.a1"]] == [1]
    assert [o.value for o in first["ambulance.available.b"]] == [2]
    assert [o.value for o in first["ambulance.busyness.deployed_share"]] == [33.3]

    topic.sent.clear()
    asyncio.run(fleet._process(_events(
        _status("amb-16-101", "10", t0 + timedelta(minutes=10)),
        _status("amb-16-101", "5", t0 + timedelta(minutes=5)))))  # late: must not win
    assert table["amb-16-101"]["status"] == "10"
    second = _figures(topic)
    assert [o.value for o in second["ambulance.available.a1"]] == [0]
    assert [o.value for o in second["ambulance.busyness.deployed_share"]] == [66.7]
    assert second["ambulance.available.b"][0].observed_at == t0 + timedelta(minutes=10)


def test_a_vehicle_moving_to_another_region_updates_both() -> None:
    table: dict[str, Any] = {}
    topic = _Topic()
    fleet = Fleet(table, topic)
    t0 = NOW - timedelta(minutes=30)
    asyncio.run(fleet._process(_events(_status("amb-x", "6", t0, region="vr15"))))
    topic.sent.clear()
    asyncio.run(fleet._process(_events(_status("amb-x", "6", t0 + timedelta(minutes=1)))))
    figures = _figures(topic)
    assert {o.location_id: o.value for o in figures["ambulance.available.a1"]} == {
        "rav-vr15": 0, "rav-vr16": 1}
    share = {o.location_id: o for o in figures["ambulance.busyness.deployed_share"]}
    assert share["rav-vr15"].value is None
    assert share["rav-vr15"].not_reported_reason == "not-applicable"
    assert share["rav-vr15"].observed_at == t0 + timedelta(minutes=1)


# --- the bridge ------------------------------------------------------------------------------

class _Sink:
    def __init__(self) -> None:
        self.written: list[Any] = []

    async def write(self, writer: Any, batch: list[Any]) -> list[Any]:
        self.written += batch
        return []


class _DeadLetters:
    def __init__(self) -> None:
        self.letters: list[Any] = []

    async def put(self, letters: list[Any], *, stage: str, processed: int) -> None:
        self.letters += letters


def test_the_bridge_registers_vehicles_and_wraps_messages_as_raw_input() -> None:
    sink, raw, dead = _Sink(), _Topic(), _DeadLetters()
    bridge = LsivBridge(sink, raw, dead)  # type: ignore[arg-type]
    t0 = NOW - timedelta(minutes=3)
    good = _status("amb-16-101", "5", t0)
    bad = _status("amb-16-102", "11", t0)
    asyncio.run(bridge._process(_events(good, _position("amb-16-101", t0), bad, b"{")))
    asyncio.run(bridge._process(_events(_position("amb-16-101", t0 + timedelta(seconds=5)))))

    assert [u.id for u in sink.written] == ["amb-16-101"]  # once, not per message
    unit = sink.written[0]
    assert (unit.kind, unit.organization_id, unit.roaz_region, unit.capabilities) == (
        "ambulance", "rav-vr16", "west", ["A1", "A2", "B"])
    assert [(d.reason, d.stage) for d in dead.letters] == [
        ("value", "lsiv-bridge"), ("undecodable", "lsiv-bridge")]
    raws = [RawMessage.model_validate_json(value) for _, value in raw.sent]
    assert [r.location_id for r in raws] == ["amb-16-101"] * 3
    assert raws[0].message_id == raw_message_id(good["message_id"])
    assert (raws[0].provider, raws[0].source_format, raws[0].sector) == (
        "rav-vr16", "lsiv/v1", "ambulance")


def test_a_raw_lsiv_message_maps_with_its_adapter() -> None:
    message = _status("amb-16-101", "2", NOW - timedelta(minutes=1), "B")
    raw = raw_of(read_message(message, NOW), message, NOW)
    adapter = adapter_for(raw.source_format)
    assert adapter is not None
    result = adapter.parse(raw.payload, MessageMeta(
        raw.message_id, raw.provider, raw.location_id, raw.received_at, raw.source_format,
        raw.sector))
    assert [(o.location_id, o.value) for o in result.observations] == [("amb-16-101", "2")]
    assert unit_of(read_message(message, NOW).vehicle).capabilities == ["B"]


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


def test_the_worker_wires_both_agents_and_the_fleet_table() -> None:
    app = create_app(Settings())
    assert {"lsiv-bridge", "fleet"} <= {agent.name for agent in app.agents.values()}
    table = app.tables["lsiv-fleet"]
    assert (table.key_serializer, table.value_serializer) == ("json", "json")
    assert table.partitions == Settings().kafka_partitions
