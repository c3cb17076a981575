"""Replaying the archive changes nothing and restores what was lost; bad stream input goes to
the dead-letter topic with its reason, and the worker carries on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

from core.ingest import encode, ingest_message
from core.messages import RawMessage
from core.topics import deadletter_topic, ingest_topic
from stack.config import StackConfig
from stack.lifecycle import platform_settings
from tests.integration.helpers import push, stored_count
from tests.waiting import wait_for


def _produce(stack: StackConfig, key: bytes, value: bytes) -> None:
    producer = Producer({"bootstrap.servers": stack.kafka_bootstrap_servers,
                         "enable.idempotence": True, "acks": "all",
                         "allow.auto.create.topics": False})
    producer.produce(ingest_topic(platform_settings(stack)), key=key, value=value)
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
                value = message.value()
                assert value is not None, "a dead letter without a value"
                found.append(json.loads(value))
    finally:
        consumer.close()
    return found


def _replay(stack: StackConfig, start: datetime, end: datetime, location: str,
            *options: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": stack.database_url,
           "KAFKA_BOOTSTRAP_SERVERS": stack.kafka_bootstrap_servers}
    return subprocess.run([sys.executable, "-m", "streams.replay", "--from", start.isoformat(),
                           "--to", end.isoformat(), "--location", location, *options],
                          env=env, capture_output=True, text=True, timeout=120, check=True)


def _rollups_current(db: psycopg.Connection[Any], location: str) -> bool:
    """No bucket of `location` waits for the roll-up refresher."""
    row = db.execute("SELECT count(*) FROM rollup_dirty WHERE location_id = %s",
                     (location,)).fetchone()
    return row is not None and row[0] == 0


def _rollups(db: psycopg.Connection[Any], location: str) -> list[tuple[Any, ...]]:
    """Every roll-up row of `location`, with the transaction that wrote it."""
    return [row for relation in ("observation_5m", "observation_1h")
            for row in db.execute(f"SELECT '{relation}', xmin::text, *"  # noqa: S608 - constant
                                  f" FROM {relation} WHERE location_id = %s"
                                  " ORDER BY definition, bucket", (location,)).fetchall()]


def test_a_replay_changes_nothing_and_restores_what_was_lost(
    stack: StackConfig, provider: httpx.Client, hospital: str, db: psycopg.Connection[Any],
) -> None:
    start = datetime.now(UTC) - timedelta(seconds=1)
    t0 = datetime.now(UTC) - timedelta(minutes=10)
    for i in range(5):
        push(provider, hospital, {"numICUBeds": 30 + i, "numICUBedsOcc": 20 + i},
             t0 + timedelta(minutes=i)).raise_for_status()
    wait_for(lambda: stored_count(db, hospital) == 10, timeout=20, what="five reports")
    query = ("SELECT location_id, definition, observed_at, value, received_at, raw_message_id"
             " FROM observation WHERE location_id = %s ORDER BY definition, observed_at")
    before = db.execute(query, (hospital,)).fetchall()
    latest = "SELECT * FROM latest_observation WHERE location_id = %s ORDER BY definition"
    latest_before = db.execute(latest, (hospital,)).fetchall()
    wait_for(lambda: _rollups_current(db, hospital), timeout=20, what="the roll-ups refreshed")
    rollups_before = _rollups(db, hospital)
    # Lose two figures, as a restore from an older backup would.
    db.execute("DELETE FROM observation WHERE location_id = %s AND observed_at = %s",
               (hospital, t0 + timedelta(minutes=2)))

    end = datetime.now(UTC) + timedelta(seconds=1)
    done = _replay(stack, start, end, hospital)
    assert "replayed 5 message(s); 0 refused" in done.stdout
    assert "replay: 100%" in done.stderr  # the progress bar
    # The same rows, the lost ones back, no row changed, no message archived twice.
    wait_for(lambda: stored_count(db, hospital) == 10, timeout=20, what="the lost figures")
    assert db.execute(query, (hospital,)).fetchall() == before
    assert db.execute(latest, (hospital,)).fetchall() == latest_before
    assert db.execute("SELECT count(*), count(processed_at) FROM raw_message"
                      " WHERE location_id = %s", (hospital,)).fetchone() == (5, 5)
    # The roll-ups were recomputed from the same figures: not a row rewritten (same xmin).
    wait_for(lambda: _rollups_current(db, hospital), timeout=20, what="the roll-ups refreshed")
    assert _rollups(db, hospital) == rollups_before

    # Mapped again by today's adapter (after an adapter fix): the same rows once more.
    db.execute("DELETE FROM observation WHERE location_id = %s AND observed_at = %s",
               (hospital, t0 + timedelta(minutes=4)))
    done = _replay(stack, start, end, hospital, "--remap")
    assert "replayed 5 message(s); 0 refused" in done.stdout
    wait_for(lambda: stored_count(db, hospital) == 10, timeout=20, what="the lost figures")
    assert db.execute(query, (hospital,)).fetchall() == before


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
    # Not mapped yet (as the reconciler sends it): the store stage maps it and refuses it.
    _produce(stack, unmappable_key, encode(ingest_message(unmappable, None)))

    garbage = wait_for(lambda: _dead_letters(stack, garbage_key), timeout=30, what="DLQ")
    assert garbage[0]["stage"] == "store" and garbage[0]["reason"] == "undecodable"
    assert garbage[0]["source"]["topic"] == ingest_topic(platform_settings(stack))
    refused = wait_for(lambda: _dead_letters(stack, unmappable_key), timeout=30, what="DLQ")
    assert refused[0]["reason"] in {"invalid", "required"}  # the adapter's issue type
    assert "MeasureReport.period" in refused[0]["detail"]

    # The worker carries on after bad input.
    push(provider, hospital, {"numICUBeds": 7}).raise_for_status()
    wait_for(lambda: stored_count(db, hospital) == 1, timeout=20, what="report after bad input")
    assert db.execute("SELECT count(*) FROM raw_message WHERE message_id = %s",
                      (unmappable.message_id,)).fetchone() == (0,)
