"""Kafka topics of the data path, declared once.

API (mapped once) -> ingest -> store (faust) -> PostgreSQL / TimescaleDB
LSIV feed -> lsiv (faust: units, fleet statuses) -> ingest
every stage's refusals -> dead letters (with the reason)
store (after each write) and timers -> events (figure changed, status, stale, positions, alerts)
  -> every API process (SSE, /v1/stream) and the alerts stage
"""

from __future__ import annotations

from dataclasses import dataclass

from core.settings import Settings


@dataclass(frozen=True)
class TopicSpec:
    """A topic with the settings it is created with."""

    name: str
    partitions: int
    config: dict[str, str]


def ingest_topic(settings: Settings) -> str:
    """Accepted messages, each with what its adapter made of it, keyed by subject
    (core/ingest.py; schemas/ingest-message.schema.json)."""
    return f"{settings.topic_prefix}.ingest.v2"


def lsiv_topic(settings: Settings) -> str:
    """The LSIV feed of vehicle status changes and AVLS positions, as received from LSIV."""
    return f"{settings.topic_prefix}.lsiv.v1"


def deadletter_topic(settings: Settings) -> str:
    """Messages the streams could not process, with the reason."""
    return f"{settings.topic_prefix}.deadletter.v1"


def events_topic(settings: Settings) -> str:
    """What changed, in order (core/events.py): one partition, so an event's offset is its id
    on /v1/stream and a client resumes exactly where it left off."""
    return f"{settings.topic_prefix}.events.v1"


def all_topics(settings: Settings) -> list[TopicSpec]:
    """Every topic the platform needs, for creation at start-up."""
    week_ms = str(7 * 24 * 3600 * 1000)
    return [
        TopicSpec(ingest_topic(settings), settings.kafka_partitions, {"retention.ms": week_ms}),
        TopicSpec(lsiv_topic(settings), settings.kafka_partitions, {"retention.ms": week_ms}),
        TopicSpec(deadletter_topic(settings), 1, {"retention.ms": week_ms}),
        # Kept for the resume window of /v1/stream (at least an hour) with room to spare.
        TopicSpec(events_topic(settings), 1, {"retention.ms": str(6 * 3600 * 1000)}),
    ]
