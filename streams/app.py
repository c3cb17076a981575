"""The faust application: topics and agents wired from settings, nothing at import time."""

from __future__ import annotations

from typing import Any

import faust
from psycopg_pool import AsyncConnectionPool

from core.settings import Settings
from core.topics import deadletter_topic, observations_topic, positions_topic, raw_topic
from streams.deadletter import DlqLimit
from streams.lsiv import register_lsiv
from streams.sink import Sink
from streams.stages import (
    Archiver,
    DeadLetterQueue,
    Normaliser,
    ObservationSink,
    PositionSink,
)


def faust_broker_url(bootstrap_servers: str) -> str:
    """'h1:9092,h2:9092' -> 'kafka://h1:9092;kafka://h2:9092' as faust wants it."""
    return ";".join(f"kafka://{server.strip()}" for server in bootstrap_servers.split(","))


def create_app(settings: Settings) -> faust.App:
    """The stream worker application with all its agents."""
    app = faust.App(
        "zorgcapaciteit-streams",
        broker=faust_broker_url(settings.kafka_bootstrap_servers),
        store="memory://",
        datadir=str(settings.streams_data_dir),
        web_enabled=False,
        broker_session_timeout=settings.kafka_session_timeout_ms / 1000,
        broker_heartbeat_interval=settings.kafka_session_timeout_ms / 3000,
        broker_commit_interval=1.0,
        producer_acks=-1,
        consumer_auto_offset_reset="earliest",
        topic_partitions=settings.kafka_partitions,
        topic_replication_factor=settings.kafka_replication_factor,
    )

    def topic(name: str) -> Any:
        return app.topic(name, key_serializer="raw", value_serializer="raw")

    raw, observations = topic(raw_topic(settings)), topic(observations_topic(settings))
    positions = topic(positions_topic(settings))
    dead_letters = DeadLetterQueue(topic(deadletter_topic(settings)), limit=lambda: DlqLimit(
        settings.dlq_max_invalid_ratio, settings.dlq_max_consecutive))
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        settings.database_url, open=False, min_size=1, max_size=4,
    )
    sink = Sink(pool)

    app.agent(raw, name="normalise")(Normaliser(observations, positions, dead_letters).run)
    app.agent(raw, name="archive")(Archiver(sink).run)
    app.agent(observations, name="store-observations")(ObservationSink(
        sink, dead_letters, settings.sink_batch_size, settings.sink_batch_seconds,
    ).run)
    app.agent(positions, name="store-positions")(PositionSink(sink, dead_letters).run)
    register_lsiv(app, settings, sink, raw=raw, observations=observations,
                  dead_letters=dead_letters)
    return app
