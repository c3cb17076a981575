"""Helpers for the integration tests: pushing reports and reading back what was stored."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx
import psycopg
from confluent_kafka import Consumer, TopicPartition

from stack.demo import measure_report

# The stream worker's consumer group (its faust app id) and the topic its store stage reads.
WORKER_GROUP = "zorgcapaciteit-streams"
INGEST_TOPIC = "zc.ingest.v2"


def push(api: httpx.Client, location_id: str, figures: Mapping[str, int | None],
         observed_at: datetime | None = None) -> httpx.Response:
    """POST a SANER MeasureReport for `location_id`."""
    report = measure_report(location_id, figures, observed_at or datetime.now(UTC))
    return api.post("/fhir/MeasureReport", json=report,
                    headers={"Content-Type": "application/fhir+json"})


def stored_count(db: psycopg.Connection[Any], location_id: str) -> int:
    """Observation rows stored for a location."""
    row = db.execute("SELECT count(*) FROM observation WHERE location_id = %s",
                     (location_id,)).fetchone()
    return int(row[0]) if row else 0


def raw_count(db: psycopg.Connection[Any], location_id: str) -> int:
    """Raw messages kept for a location."""
    row = db.execute("SELECT count(*) FROM raw_message WHERE location_id = %s",
                     (location_id,)).fetchone()
    return int(row[0]) if row else 0


def figures_of(api: httpx.Client, location_id: str, region: str = "west") -> dict[str, Any]:
    """The live figures of one location from /v1/availability, by definition code."""
    body = api.get("/v1/availability", params={"region": region}).json()
    for location in body["locations"]:
        if location["location_id"] == location_id:
            return {f["definition"]: f for f in location["figures"]}
    return {}


def all_figures_of(api: httpx.Client, location_id: str, wanted: set[str],
                   region: str = "west") -> dict[str, Any]:
    """`figures_of`, once every code in `wanted` is there (else {}): one message's figures may
    be stored over more than one sink batch."""
    figures = figures_of(api, location_id, region)
    return figures if wanted <= set(figures) else {}


def worker_committed_everything(bootstrap_servers: str, topic: str = INGEST_TOPIC) -> bool:
    """True when the worker's group has committed, on every partition of `topic`, the offset
    at the end of its log: everything on the topic was stored and acknowledged, so nothing can
    be delivered again (a batch is redelivered only from the last committed offset).

    Reads the committed offsets without joining the group."""
    consumer = Consumer({"bootstrap.servers": bootstrap_servers, "group.id": WORKER_GROUP,
                         "enable.auto.commit": False})
    try:
        metadata = consumer.list_topics(topic, timeout=5).topics.get(topic)
        if metadata is None or not metadata.partitions:
            return False
        partitions = [TopicPartition(topic, p) for p in sorted(metadata.partitions)]
        committed = consumer.committed(partitions, timeout=5)
        for done in committed:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, done.partition),
                                                       timeout=5)
            if high > low and done.offset < high:  # an invalid offset (none yet) is negative
                return False
        return True
    finally:
        consumer.close()
