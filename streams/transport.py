"""faust's Kafka transport with the consumer's fetch wait taken from the settings.

A consumer asks the broker for records and says how long the broker may hold the request when
there are none yet (`fetch_max_wait_ms`). Kafka answers such a waiting fetch as soon as a record
arrives, so the wait costs nothing there. The embedded broker (tansu) does not: it answers only
when the wait is over, so a record waits for the fetch in flight to time out. faust fixes the
wait at 1,500 ms in its aiokafka driver, which made every figure take 0.65 s on average (up to
1.5 s) from the broker to the store stage on the local stack. The wait is a setting here
(`STREAM_FETCH_MAX_WAIT_MS`); on Kafka a shorter wait only means more empty fetches while idle.

faust offers no setting for it: the transport carries the wait, its consumer thread overrides
the one method that builds the worker's aiokafka consumer and sets the wait on it before it
starts (aiokafka hands it to its fetcher then). tests/unit/test_stream_worker.py fails if either
library moves what this relies on.
"""

from __future__ import annotations

from typing import Any

import aiokafka
import faust
from faust.transport.drivers import aiokafka as faust_aiokafka


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> aiokafka.AIOKafkaConsumer:
        consumer = super()._create_worker_consumer(transport)
        consumer._fetch_max_wait_ms = transport.fetch_max_wait_ms  # noqa: SLF001 - see the module
        return consumer


class _Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class Transport(faust_aiokafka.Transport):
    """faust's aiokafka transport; its worker consumer waits at most `fetch_max_wait_ms`."""

    Consumer = _Consumer

    def __init__(self, app: faust.App, fetch_max_wait_ms: int) -> None:
        super().__init__(app.conf.broker_consumer, app)
        self.fetch_max_wait_ms = fetch_max_wait_ms
