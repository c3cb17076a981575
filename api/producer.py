"""An idempotent, acks=all Kafka producer that the async API can await per message."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from core.metrics import MESSAGES_PRODUCED


class DeliveryFailed(Exception):
    """The broker did not acknowledge the message."""


class RawProducer:
    """Produces to Kafka and resolves an asyncio future when the broker acknowledges."""

    def __init__(self, bootstrap_servers: str) -> None:
        self._producer = Producer({
            "bootstrap.servers": bootstrap_servers,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 2,
            "compression.type": "lz4",
            "delivery.timeout.ms": 15000,
        })
        self._stopping = threading.Event()
        self._poller = threading.Thread(target=self._poll, name="kafka-poll", daemon=True)
        self._poller.start()

    def _poll(self) -> None:
        while not self._stopping.is_set():
            self._producer.poll(0.05)

    async def send(self, topic: str, key: bytes, value: bytes) -> None:
        """Produce one message; returns when the broker acknowledged it, else DeliveryFailed."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()

        def on_delivery(err: KafkaError | None, _msg: Message) -> None:
            loop.call_soon_threadsafe(_settle, done, err)

        try:
            self._producer.produce(topic, value=value, key=key, on_delivery=on_delivery)
        except (BufferError, KafkaException) as exc:
            raise DeliveryFailed(str(exc)) from exc
        await done
        MESSAGES_PRODUCED.labels(topic=topic).inc()

    def broker_reachable(self, timeout: float = 2.0) -> bool:
        """True when the cluster answers a metadata request."""
        try:
            self._producer.list_topics(timeout=timeout)
        except KafkaException:
            return False
        return True

    def close(self, timeout: float = 10.0) -> None:
        """Deliver what is queued, then stop polling."""
        self._producer.flush(timeout)
        self._stopping.set()
        self._poller.join(timeout)


def _settle(done: asyncio.Future[Any], err: KafkaError | None) -> None:
    if done.done():
        return
    if err is None:
        done.set_result(None)
    else:
        done.set_exception(DeliveryFailed(str(err)))
