"""An idempotent, acks=all Kafka producer that the async API awaits per message, and that
recreates itself after a fatal error.

librdkafka's idempotent producer enters a fatal state when the broker forgets what it
acknowledged (an embedded broker restarted with an empty log), or keeps retrying a producer id
the new broker does not know until every message times out: nothing gets through until the
producer object is replaced. So a fatal error or a delivery timeout replaces it, and the
messages still in flight fail (their providers get 503 and send again).
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import structlog
from confluent_kafka import KafkaError, KafkaException, Message, Producer

from core.metrics import MESSAGES_PRODUCED, PRODUCER_RESETS

log = structlog.get_logger()


class DeliveryFailed(Exception):
    """The broker did not acknowledge the message."""


class RawProducer:
    """Produces to Kafka and resolves an asyncio future when the broker acknowledges."""

    def __init__(self, bootstrap_servers: str) -> None:
        self._config: dict[str, Any] = {
            "bootstrap.servers": bootstrap_servers,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 2,
            "compression.type": "lz4",
            # A provider waits at most this long for its answer while the broker is away.
            "delivery.timeout.ms": 10000,
            # A topic is created by the platform with its partitions (stack/broker.py, ops), never
            # by a producer's metadata request with the broker's default partition count.
            "allow.auto.create.topics": False,
            "error_cb": self._on_error,
        }
        self._lock = threading.Lock()
        self._fatal: str | None = None
        self._producer = Producer(self._config)
        self._stopping = threading.Event()
        self._poller = threading.Thread(target=self._poll, name="kafka-poll", daemon=True)
        self._poller.start()

    @property
    def fatal(self) -> str | None:
        """Why the producer is unusable (it is replaced on the next send), or None."""
        return self._fatal

    def _on_error(self, err: KafkaError) -> None:
        if err.fatal():
            self._fatal = str(err)
            log.error("producer_fatal", error=str(err))

    def _poll(self) -> None:
        while not self._stopping.is_set():
            self._producer.poll(0.05)

    def _reset(self) -> None:
        """Replace a producer in a fatal state; what it still held fails (503, sent again)."""
        with self._lock:
            if self._fatal is None:
                return
            old, self._producer = self._producer, Producer(self._config)
            self._fatal = None
        PRODUCER_RESETS.inc()
        log.warning("producer_recreated")
        old.purge()
        old.flush(0)

    async def send(self, topic: str, key: bytes, value: bytes) -> None:
        """Produce one message; returns when the broker acknowledged it, else DeliveryFailed."""
        if self._fatal is not None:
            self._reset()
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()

        def on_delivery(err: KafkaError | None, _msg: Message) -> None:
            if err is not None and (err.fatal() or err.code() == KafkaError._MSG_TIMED_OUT):
                self._fatal = str(err)
            loop.call_soon_threadsafe(_settle, done, err)

        try:
            self._produce(topic, key, value, on_delivery)
        except (BufferError, KafkaException) as exc:
            raise DeliveryFailed(str(exc)) from exc
        await done
        MESSAGES_PRODUCED.labels(topic=topic).inc()

    def _produce(self, topic: str, key: bytes, value: bytes, on_delivery: Any) -> None:
        """Produce; a producer found in a fatal state is replaced and the message produced on
        the new one."""
        try:
            self._producer.produce(topic, value=value, key=key, on_delivery=on_delivery)
        except KafkaException as exc:
            err = exc.args[0] if exc.args and isinstance(exc.args[0], KafkaError) else None
            if err is None or not (err.fatal() or err.code() == KafkaError._FATAL):
                raise
            self._fatal = str(err)
            self._reset()
            self._producer.produce(topic, value=value, key=key, on_delivery=on_delivery)

    def topic_ready(self, topic: str, timeout: float = 2.0) -> str | None:
        """None when the cluster answers and has `topic`, else what is wrong."""
        if self._fatal is not None:
            return f"producer failed ({self._fatal}); it is replaced on the next push"
        try:
            metadata = self._producer.list_topics(topic, timeout=timeout).topics.get(topic)
        except KafkaException as exc:
            return f"broker not reachable: {exc}"
        if metadata is None or metadata.error is not None or not metadata.partitions:
            return f"topic {topic} is missing"
        return None

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
