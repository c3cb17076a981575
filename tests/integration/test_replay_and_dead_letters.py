"""Replaying raw input changes nothing; undecodable input goes to the dead-letter topic."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

from core.messages import RawMessage
from core.topics import deadletter_topic, raw_topic
from stack.config import StackConfig
from stack.lifecycle import platform_settings
from tests.integration.helpers import push, stored_count
from tests.waiting import wait_for


def _produce(stack: StackConfig, key: bytes, value: bytes) -> None:
    producer = Producer({"bootstrap.servers": stack.kafka_bootstrap_servers,
                         "enable.idempotence": True, "acks": "all"})
    producer.produce(raw_topic(platform_settings(stack)), key=key, value=value)
    assert producer.flush(10) == 0


def _dead_letters(stack: StackConfig, key: bytes) -> list[dict[str, Any]]:
    consumer = Consumer({"bootstrap.servers": stack.kafka_bootstrap_servers,
                         "group.id": f"test-{uuid.uuid4()}", "auto.offset.reset": "earliest",
                         "enable.auto.commit": False})
    # Read the single partition directly: no group join, which tansu makes slow.
    consumer.assign([TopicPartition(deadletter_topic(platform_settings(stack)), 0,
                                    OFFSET_BEGINNING)])
    found = []
    try:
        for message in consumer.consume(num_messages=1000, timeout=5):
            if message.error() is None and message.key() == key:
                found.append(json.loads(message.value()))
    finally:
        consumer.close()
    return found


def test_replaying_a_raw_message_changes_nothing(
    stack: StackConfig, provider: httpx.Client, hospital: str, db: psycopg.Connection[Any],
) -> None:
    push(provider, hospital, {"numICUBeds": 30, "numICUBedsOcc": 20}).raise_for_status()
    wait_for(lambda: stored_count(db, hospital) == 2, timeout=20, what="first report")
    query = "SELECT * FROM observation WHERE location_id = %s ORDER BY definition"
    before = db.execute(query, (hospital,)).fetchall()
    row = db.execute(
        "SELECT message_id, received_at, source_format, sector, provider, location_id, payload"
        " FROM raw_message WHERE location_id = %s", (hospital,),
    ).fetchone()
    assert row is not None
    raw = RawMessage(message_id=row[0], received_at=row[1], source_format=row[2],
                     sector=row[3], provider=row[4], location_id=row[5], payload=row[6])

    _produce(stack, hospital.encode(), raw.model_dump_json().encode())
    # Same key, same partition: once this later report is stored, the replay was processed.
    later = datetime.now(UTC) + timedelta(seconds=1)
    push(provider, hospital, {"numICUBedsOcc": 21}, later).raise_for_status()
    wait_for(lambda: stored_count(db, hospital) == 3, timeout=20, what="barrier report")

    after = [r for r in db.execute(query, (hospital,)).fetchall() if r[2] != later]
    assert after == before
    assert db.execute("SELECT count(*) FROM raw_message WHERE location_id = %s",
                      (hospital,)).fetchone() == (2,)


def test_bad_stream_input_goes_to_the_dead_letter_topic_with_a_reason(
    stack: StackConfig, provider: httpx.Client, hospital: str, db: psycopg.Connection[Any],
) -> None:
    garbage_key = f"garbage-{uuid.uuid4()}".encode()
    _produce(stack, garbage_key, b"\xff not json")
    unmappable_key = f"unmappable-{uuid.uuid4()}".encode()
    unmappable = RawMessage(
        message_id=uuid.uuid4(), source_format="fhir-r4/MeasureReport", sector="hospital",
        provider="org-x", location_id=hospital, received_at=datetime.now(UTC),
        payload={"resourceType": "MeasureReport", "status": "bogus"},
    )
    _produce(stack, unmappable_key, unmappable.model_dump_json().encode())

    garbage = wait_for(lambda: _dead_letters(stack, garbage_key), timeout=30, what="DLQ")
    assert garbage[0]["stage"] == "normalise" and garbage[0]["reason"] == "undecodable"
    assert garbage[0]["source"]["topic"] == raw_topic(platform_settings(stack))
    refused = wait_for(lambda: _dead_letters(stack, unmappable_key), timeout=30, what="DLQ")
    assert refused[0]["reason"] in {"invalid", "required"}  # the adapter's issue type
    assert "MeasureReport.period" in refused[0]["detail"]

    # The worker carries on after bad input.
    push(provider, hospital, {"numICUBeds": 7}).raise_for_status()
    wait_for(lambda: stored_count(db, hospital) == 1, timeout=20, what="report after bad input")
