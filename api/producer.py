"""An idempotent, acks=all Kafka producer that the async API awaits per message, and that
recreates itself after a fatal error.

librdkafka's idempotent producer enters a fatal state when the broker forgets what it
acknowledged (an embedded broker restarted with an empty log), or keeps retrying a producer id
the new broker does not know until every message times out: nothing gets through until the
producer object is replaced. So any failed delivery replaces it (a fresh producer costs
milliseconds), and the messages still in the old one fail (their providers get 503 and send
again). No request waits longer than the delivery timeout, whatever the producer does.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import structlog
from confluent_kafka import KafkaError, KafkaException, Message, Producer

from core.metrics import MESSAGES_PRODUCED, PRODUCER_RESETS

log = structlog.get_logger()
# A provider waits at most about this long for its answer while the broker is away.
DELIVERY_TIMEOUT_MS = 10000


class DeliveryFailed(Exception):
    """The broker did not acknowledge the message."""


class _FatalProducer(Exception):
    """The producer is in a fatal state: it must be replaced."""


class RawProducer:
    """Produces to Kafka and resolves an asyncio future when the broker acknowledges."""

    def __init__(self, bootstrap_servers: str, message_max_bytes: int = 1_000_000) -> None:
        self._config: dict[str, Any] = {
            "bootstrap.servers": bootstrap_servers,
            # Stated, not left to librdkafka's default: the API refuses (413) any message
            # larger than INGEST_MESSAGE_MAX_BYTES, which the settings keep well below this.
            "message.max.bytes": message_max_bytes,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 2,
            "compression.type": "lz4",
            "delivery.timeout.ms": DELIVERY_TIMEOUT_MS,
            # A topic is created by the platform with its partitions (stack/broker.py, ops), never
            # by a producer's metadata request with the broker's default partition count.
            "allow.auto.create.topics": False,
            "error_cb": self._on_error,
        }
        self._lock = threading.Lock()
        self._fatal: str | None = None
        self._producer = Producer(self._config)
        self._retired: list[Producer] = []  # replaced, still failing what they held
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
            try:
                self._producer.poll(0.05)
                for old in list(self._retired):
                    old.poll(0)
                    if len(old) == 0:
                        self._retired.remove(old)
            except Exception as exc:  # noqa: BLE001 - the poll thread must outlive any callback
                log.error("producer_poll_failed", error=f"{type(exc).__name__}: {exc}")

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
        self._retired.append(old)  # the poll thread serves its delivery reports until empty

    async def send(self, topic: str, key: bytes, value: bytes) -> None:
        """Produce one message; returns when the broker acknowledged it, else DeliveryFailed."""
        if self._fatal is not None:
            self._reset()
        try:
            done = self._produce(topic, key, value)
        except _FatalProducer:
            self._reset()  # found fatal on produce: the message goes to a fresh producer
            done = self._produce(topic, key, value)
        try:
            await asyncio.wait_for(done, DELIVERY_TIMEOUT_MS / 1000 + 5)
        except TimeoutError:
            self._fatal = "no delivery report within the delivery timeout"
            raise DeliveryFailed(self._fatal) from None
        MESSAGES_PRODUCED.labels(topic=topic).inc()

    def _produce(self, topic: str, key: bytes, value: bytes) -> asyncio.Future[None]:
        """Hand one message to the current producer; the future settles on its delivery."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        producer = self._producer

        def on_delivery(err: KafkaError | None, _msg: Message) -> None:
            # A failure marks the producer that failed, unless it was replaced meanwhile (its
            # purged messages report failures too: those say nothing of the new one).
            if err is not None and producer is self._producer:
                self._fatal = str(err)
            loop.call_soon_threadsafe(_settle, done, err)

        try:
            producer.produce(topic, value=value, key=key, on_delivery=on_delivery)
        except KafkaException as exc:
            err = exc.args[0] if exc.args and isinstance(exc.args[0], KafkaError) else None
            if err is not None and (err.fatal() or err.code() == KafkaError._FATAL):
                self._fatal = str(err)
                raise _FatalProducer from exc
            raise DeliveryFailed(str(exc)) from exc
        except BufferError as exc:
            raise DeliveryFailed(str(exc)) from exc
        return done

    def topic_ready(self, topic: str, timeout: float = 2.0) -> str | None:
        """None when the cluster answers and has `topic`, else what is wrong (a producer that
        failed is replaced first: the answer is about the producer the next push gets)."""
        if self._fatal is not None:
            self._reset()
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
