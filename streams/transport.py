"""faust's Kafka transport with the consumer's fetch wait taken from the settings.

A consumer asks the broker for records and says how long the broker may hold the request when
there are none yet (`fetch_max_wait_ms`). Kafka answers such a waiting fetch as soon as a record
arrives, so the wait costs nothing there. The embedded broker (tansu) does not: it answers only
when the wait is over, so a record waits for the fetch in flight to time out. faust fixes the
wait at 1,500 ms in its aiokafka driver, which made every figure take 0.75 s on average (up to
1.5 s) from the broker to the store stage on the local stack. The wait is a setting here
(`STREAM_FETCH_MAX_WAIT_MS`); on Kafka a shorter wait only means more empty fetches while idle.

faust offers no setting for it, so this overrides the one method that builds the worker's
consumer, and sets the wait on the aiokafka consumer before it starts (aiokafka reads it when
it starts its fetcher). tests/unit/test_stream_transport.py fails if either library moves it.
"""

from __future__ import annotations

from typing import Any

import aiokafka
import faust
from faust.transport.drivers import aiokafka as faust_aiokafka


def _consumer_thread(fetch_max_wait_ms: int) -> type[faust_aiokafka.AIOKafkaConsumerThread]:
    class ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
        def _create_worker_consumer(self, transport: Any) -> aiokafka.AIOKafkaConsumer:
            consumer = super()._create_worker_consumer(transport)
            consumer._fetch_max_wait_ms = fetch_max_wait_ms  # noqa: SLF001 - see the module
            return consumer

    return ConsumerThread


def transport(app: faust.App, fetch_max_wait_ms: int) -> faust_aiokafka.Transport:
    """The app's Kafka transport, its worker consumer waiting at most `fetch_max_wait_ms`."""
    thread = _consumer_thread(fetch_max_wait_ms)

    class WorkerConsumer(faust_aiokafka.Consumer):
        def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
            return thread(self, loop=self.loop, beacon=self.beacon)

    class Transport(faust_aiokafka.Transport):
        Consumer = WorkerConsumer

    return Transport(app.conf.broker_consumer, app)
