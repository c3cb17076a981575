"""Ambulance capacity via LSIV, end to end: feed messages on the LSIV topic -> bridge and fleet
agents in the stream worker -> region figures, vehicle statuses and positions over HTTP.

LSIV comes over Kafka and needs no token; the figures and units are read by a national ZCV."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

from adapters.ambulance.fleet import region_figures
from core.topics import deadletter_topic, lsiv_topic
from stack import lifecycle
from stack.config import StackConfig
from stack.lsiv_simulator import feed
from tests.waiting import wait_for

FIGURES = ("ambulance.available.a1", "ambulance.available.a2", "ambulance.available.b")
SHARE = "ambulance.busyness.deployed_share"


def _producer(stack: StackConfig) -> Any:
    return Producer({"bootstrap.servers": stack.kafka_bootstrap_servers,
                     "enable.idempotence": True, "acks": "all"})


def _send(stack: StackConfig, messages: Sequence[dict[str, Any]]) -> None:
    """Produce in order, keyed by region as LSIV does; returns once the broker has them all."""
    producer = _producer(stack)
    topic = lsiv_topic(lifecycle.platform_settings(stack))
    for message in messages:
        producer.produce(topic, key=message["vehicle"]["rav_region"].encode(),
                         value=json.dumps(message).encode())
    assert producer.flush(10) == 0


def _status(vehicle_id: str, kind: str, status: str, at: datetime,
            region: str = "vr17") -> dict[str, Any]:
    return {"kind": "vehicle-status", "message_id": str(uuid.uuid4()),
            "vehicle": {"id": vehicle_id, "call_sign": "-".join(vehicle_id.split("-")[-2:]),
                        "rav_region": region, "type": kind},
            "status": status, "at": at.isoformat()}


def _figures(zcv: httpx.Client, endpoint: str, location_id: str) -> dict[str, Any]:
    answer = zcv.get(f"/v1/{endpoint}", params={"sector": "ambulance"})
    assert answer.status_code == 200, answer.text
    for location in answer.json()["locations"]:
        if location["location_id"] == location_id:
            return {f["definition"]: f for f in location["figures"]}
    return {}


def _region_shows(zcv: httpx.Client, location_id: str, expected: dict[str, Any],
                  observed_at: datetime) -> dict[str, Any] | None:
    """The region's figures once all of `expected` show, observed at `observed_at`."""
    figures = {**_figures(zcv, "availability", location_id),
               **_figures(zcv, "busyness", location_id)}
    for code, value in expected.items():
        figure = figures.get(code)
        if figure is None or figure["value"] != value or (
                datetime.fromisoformat(figure["observed_at"]) != observed_at):
            return None
    return figures


def _dead_letters(stack: StackConfig, marker: str) -> list[dict[str, Any]]:
    """Dead letters whose original bytes contain `marker`."""
    consumer = Consumer({"bootstrap.servers": stack.kafka_bootstrap_servers,
                         "group.id": f"test-{uuid.uuid4()}", "auto.offset.reset": "earliest",
                         "enable.auto.commit": False})
    # Read the single partition directly: no group join, which tansu makes slow.
    consumer.assign([TopicPartition(deadletter_topic(lifecycle.platform_settings(stack)), 0,
                                    OFFSET_BEGINNING)])
    found = []
    try:
        for message in consumer.consume(num_messages=1000, timeout=3):
            if message.error() is None:
                value = message.value()
                assert value is not None, "a dead letter without a value"
                letter = json.loads(value)
                if marker.encode() in base64.b64decode(letter["value_base64"]):
                    found.append(letter)
    finally:
        consumer.close()
    return found


def _latest(sent: Sequence[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    """The last message of `kind` per vehicle (the feed is in time order per vehicle)."""
    return {m["vehicle"]["id"]: m for m in sent if m["kind"] == kind}


def test_simulated_feed_shows_region_figures_statuses_and_positions(
    stack: StackConfig, zcv: httpx.Client,
) -> None:
    prefix = f"t{uuid.uuid4().hex[:6]}"
    producer = _producer(stack)
    sent = feed(producer, topic=lsiv_topic(lifecycle.platform_settings(stack)), vehicles=8,
                regions=["vr16"], rate=8.0, seconds=60.0, seed=8, prefix=prefix,
                start=datetime.now(UTC) - timedelta(seconds=65), sleep=lambda _: None)
    assert producer.flush(10) == 0
    statuses, positions = _latest(sent, "vehicle-status"), _latest(sent, "avls-position")
    vehicles = [{"status": m["status"], "type": m["vehicle"]["type"], "rav_region": "vr16",
                 "at": m["at"]} for m in statuses.values()]
    expected = region_figures(vehicles)
    observed_at = max(datetime.fromisoformat(m["at"]) for m in statuses.values())

    figures = wait_for(lambda: _region_shows(zcv, "rav-vr16", expected, observed_at),
                       timeout=60, what=f"vr16 figures {expected}")
    assert expected[FIGURES[0]] != expected[FIGURES[2]]  # the seed has free zorgambulances
    for code in (*FIGURES, SHARE):
        assert figures[code]["stale"] is False
        assert figures[code]["reported"] is True

    def units() -> list[dict[str, Any]] | None:
        answer = zcv.get("/v1/units", params={"kind": "ambulance"})
        assert answer.status_code == 200, answer.text
        found = [u for u in answer.json() if u["id"].startswith(prefix)]
        done = len(found) == len(positions) and all(
            u["status"] == statuses[u["id"]]["status"]
            and datetime.fromisoformat(u["observed_at"])
            == datetime.fromisoformat(positions[u["id"]]["at"]) for u in found)
        return found if done else None

    for unit in wait_for(units, timeout=60, what="latest positions and statuses"):
        fix = positions[unit["id"]]["position"]
        assert (unit["latitude"], unit["longitude"]) == (fix["lat"], fix["lon"])
        assert (unit["organization_id"], unit["roaz_region"]) == ("rav-vr16", "west")
        assert unit["label"] == positions[unit["id"]]["vehicle"]["call_sign"]


def test_counts_ignore_late_statuses_and_a_bad_message_is_dead_lettered(
    stack: StackConfig, zcv: httpx.Client, db: psycopg.Connection[Any],
) -> None:
    suffix = uuid.uuid4().hex[:6]
    a1, b1, a2, bad = (f"amb{suffix}-17-{n}" for n in (201, 202, 203, 204))
    t0 = datetime.now(UTC) - timedelta(minutes=4)
    _send(stack, [_status(a1, "A", "6", t0), _status(b1, "B", "6", t0),
                  _status(a2, "A", "2", t0)])
    wait_for(lambda: _region_shows(zcv, "rav-vr17", {
        FIGURES[0]: 1, FIGURES[1]: 1, FIGURES[2]: 2, SHARE: 33.3}, t0),
        timeout=60, what="vr17 figures with one A on scene")

    wrong = _status(bad, "A", "11", t0 + timedelta(minutes=1))
    late = _status(a1, "A", "1", t0 - timedelta(minutes=3))  # older than what is known
    back = _status(a2, "A", "5", t0 + timedelta(minutes=2))
    _send(stack, [wrong, late, back])
    wait_for(lambda: _region_shows(zcv, "rav-vr17", {
        FIGURES[0]: 2, FIGURES[1]: 2, FIGURES[2]: 3, SHARE: 0.0},
        t0 + timedelta(minutes=2)), timeout=60, what="vr17 after the bad and the late message")

    letters = wait_for(lambda: _dead_letters(stack, wrong["message_id"]), timeout=30,
                       what="dead letter of the bad status")
    assert letters[0]["stage"] == "lsiv" and letters[0]["reason"] == "value"
    assert "status" in letters[0]["detail"]
    assert db.execute("SELECT count(*) FROM mobile_unit WHERE id = %s", (bad,)).fetchone() == (0,)
    assert db.execute("SELECT count(*) FROM raw_message WHERE location_id = %s",
                      (bad,)).fetchone() == (0,)
    status = db.execute("SELECT value_text FROM latest_observation WHERE location_id = %s"
                        " AND definition = 'ambulance.vehicle.status'", (a1,)).fetchone()
    assert status == ("6",)  # the late "1" is history, not the latest status


def test_the_fleet_state_survives_a_worker_restart(
    stack: StackConfig, zcv: httpx.Client,
) -> None:
    suffix = uuid.uuid4().hex[:6]
    t0 = datetime.now(UTC) - timedelta(minutes=3)
    first = [_status(f"amb{suffix}-18-{n}", "A", status, t0, "vr18")
             for n, status in ((301, "6"), (302, "1"))]
    _send(stack, first)
    wait_for(lambda: _region_shows(zcv, "rav-vr18", {FIGURES[0]: 1, SHARE: 50.0}, t0),
             timeout=60, what="vr18 figures before the restart")

    lifecycle.stop_worker(stack)
    lifecycle.start_worker(stack)
    later = t0 + timedelta(minutes=1)
    _send(stack, [_status(f"amb{suffix}-18-303", "B", "5", later, "vr18")])
    # Counted with the two vehicles known before the restart: their statuses are kept in
    # PostgreSQL (fleet_vehicle), not in the worker.
    wait_for(lambda: _region_shows(zcv, "rav-vr18", {
        FIGURES[0]: 1, FIGURES[2]: 2, SHARE: 33.3}, later), timeout=90,
        what="vr18 figures after the restart")
