"""Definitions on the running stack: versions by effective date, refusal of violations, docs."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import msgspec
import psycopg
from confluent_kafka import Producer

from core.ingest import encode, ingest_message
from core.messages import RawMessage
from core.topics import ingest_topic
from stack.config import StackConfig
from stack.demo import measure_report
from stack.lifecycle import platform_settings
from tests.integration.helpers import figures_of, push, stored_count
from tests.integration.test_replay_and_dead_letters import _dead_letters
from tests.waiting import wait_for

SUMMER = timezone(timedelta(hours=2))


def test_each_figure_keeps_the_definition_version_of_its_observed_date(
    provider: httpx.Client, zcv: httpx.Client, hospital: str, db: psycopg.Connection[Any],
    stack: StackConfig,
) -> None:
    # v2 took effect on 2026-07-01, longer ago than the 90 days a push may reach back: the
    # report from before it comes as the archive replays it (received then, mapped by the
    # worker now), the other one is pushed today.
    before_v2 = datetime(2026, 6, 30, 12, 0, tzinfo=SUMMER)
    organization = db.execute("SELECT organization_id FROM location WHERE id = %s",
                              (hospital,)).fetchone()
    assert organization is not None
    raw = RawMessage(message_id=uuid.uuid4(), source_format="fhir-r4/MeasureReport",
                     sector="hospital", provider=organization[0], location_id=hospital,
                     received_at=before_v2 + timedelta(minutes=1),
                     payload=measure_report(hospital, {"numICUBedsAvail": 3}, before_v2))
    producer = Producer({"bootstrap.servers": stack.kafka_bootstrap_servers, "acks": "all",
                         "allow.auto.create.topics": False})
    producer.produce(ingest_topic(platform_settings(stack)), key=hospital.encode(),
                     value=encode(ingest_message(raw, None)))
    assert producer.flush(10) == 0
    push(provider, hospital, {"numICUBedsAvail": 5}).raise_for_status()
    wait_for(lambda: stored_count(db, hospital) == 2, timeout=20, what="both reports")
    versions = db.execute(
        "SELECT observed_at, definition_version FROM observation WHERE location_id = %s"
        " ORDER BY observed_at", (hospital,)).fetchall()
    assert [v for _, v in versions] == [1, 2]
    assert versions[0][0] == before_v2
    live = figures_of(zcv, hospital)["hospital.beds.ic.available"]
    assert (live["value"], live["definition_version"]) == (5, 2)


def test_the_store_refuses_a_figure_of_an_unknown_definition_version(
    stack: StackConfig, hospital: str, db: psycopg.Connection[Any],
) -> None:
    now = datetime.now(UTC)
    raw = RawMessage(message_id=uuid.uuid4(), source_format="test", sector="hap", provider="p",
                     location_id=hospital, received_at=now, payload={})
    message = ingest_message(raw, [])
    wrong = msgspec.structs.replace(message, observations=[
        (hospital, "hap.uitloop.phone.longest_wait", 7, 3.0, None, now)])
    key = f"{hospital}|unknown-version".encode()
    producer = Producer({"bootstrap.servers": stack.kafka_bootstrap_servers, "acks": "all",
                         "allow.auto.create.topics": False})
    producer.produce(ingest_topic(platform_settings(stack)), key=key, value=encode(wrong))
    assert producer.flush(10) == 0

    letters = wait_for(lambda: _dead_letters(stack, key), timeout=30, what="dead letter")
    assert (letters[0]["stage"], letters[0]["reason"]) == ("store", "definition")
    assert "hap.uitloop.phone.longest_wait v7 is not a known definition version" in (
        letters[0]["detail"])
    assert stored_count(db, hospital) == 0


def test_definitions_are_served_as_json_and_as_a_page(
    api: httpx.Client, zcv: httpx.Client,
) -> None:
    listed = zcv.get("/v1/definitions").json()
    codes = {d["code"] for d in listed}
    assert {"hospital.seh.status", "gp.consults.u3.free", "ambulance.available.a1"} <= codes
    versions = zcv.get("/v1/definitions", params={"code": "hospital.beds.ic.available"}).json()
    assert [v["version"] for v in versions] == [1, 2] and versions[1]["change_note"]
    assert zcv.get("/v1/definitions", params={"code": "nope.nothing"}).status_code == 404
    hap_only = zcv.get("/v1/definitions", params={"sector": "hap"}).json()
    assert hap_only and {d["sector"] for d in hap_only} == {"hap"}
    assert api.get("/v1/definitions").status_code == 401  # the JSON is for signed-in systems
    page = api.get("/catalogue")  # the page is for everyone
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'id="hospital.seh.status"' in page.text
    json.dumps(listed)  # plain JSON, ready for other systems
