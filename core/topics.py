"""Kafka topics of the data path, declared once.

raw input  ->  normalise (faust)  ->  observations  ->  sink (faust)  ->  PostgreSQL
                                   ->  positions     ->  sink (faust)  ->  PostgreSQL
                     \\-> dead letters (with the reason)
LSIV feed  ->  bridge (faust) -> raw input; fleet (faust table) -> region observations
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


def raw_topic(settings: Settings) -> str:
    """Raw provider messages as received by the API, kept for replay."""
    return f"{settings.topic_prefix}.ingest.raw.v1"


def observations_topic(settings: Settings) -> str:
    """Canonical observations, keyed by location and definition."""
    return f"{settings.topic_prefix}.observations.v1"


def positions_topic(settings: Settings) -> str:
    """Positions of mobile units, keyed by unit."""
    return f"{settings.topic_prefix}.positions.v1"


def lsiv_topic(settings: Settings) -> str:
    """The LSIV feed of vehicle status changes and AVLS positions, as received from LSIV."""
    return f"{settings.topic_prefix}.lsiv.v1"


def deadletter_topic(settings: Settings) -> str:
    """Messages the streams could not process, with the reason."""
    return f"{settings.topic_prefix}.deadletter.v1"


def all_topics(settings: Settings) -> list[TopicSpec]:
    """Every topic the platform needs, for creation at start-up."""
    week_ms = str(7 * 24 * 3600 * 1000)
    return [
        TopicSpec(raw_topic(settings), settings.kafka_partitions, {"retention.ms": week_ms}),
        TopicSpec(observations_topic(settings), settings.kafka_partitions, {}),
        TopicSpec(positions_topic(settings), settings.kafka_partitions, {}),
        TopicSpec(lsiv_topic(settings), settings.kafka_partitions, {"retention.ms": week_ms}),
        TopicSpec(deadletter_topic(settings), 1, {"retention.ms": week_ms}),
    ]
