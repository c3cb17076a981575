"""The stream worker's process: faust's worker as the platform runs it."""

from __future__ import annotations

import asyncio
import inspect
import logging
from typing import Any

import aiokafka
import pytest

from core.settings import Settings
from streams.app import Worker, create_app


@pytest.mark.parametrize("level", [logging.WARNING, logging.ERROR, logging.CRITICAL])
def test_the_root_logger_keeps_its_level_so_debug_records_are_never_built(level: int) -> None:
    """faust's own worker sets the root logger to DEBUG at WARN and above (its terminal
    spinner); every aiokafka debug record was then built and handled."""
    app = create_app(Settings())
    configured: object = app.conf.Worker  # faust types the setting loosely
    assert configured is Worker
    worker = Worker(app, loglevel=level, quiet=True)
    root = logging.getLogger("zc-test-root")
    root.setLevel(level)
    handlers = list(root.handlers)
    worker.on_setup_root_logger(root, level)
    assert root.level == level
    assert root.handlers == handlers
    assert not root.isEnabledFor(logging.DEBUG)
    assert worker.spinner is None


def test_the_worker_consumer_waits_for_records_as_long_as_the_setting_says() -> None:
    """faust fixes the fetch wait at 1.5 s; on the embedded broker that was the delay of every
    figure (streams/transport.py). The aiokafka consumer the worker builds carries the setting,
    and aiokafka's start hands exactly that attribute to its fetcher: if either library moves
    it, this fails rather than the delay coming back unnoticed."""

    async def built_wait() -> int:
        app = create_app(Settings(stream_fetch_max_wait_ms=77))
        faust_consumer: Any = app.consumer  # the consumer faust's worker would start
        thread = faust_consumer._thread  # noqa: SLF001
        consumer = thread._create_worker_consumer(app.transport)  # noqa: SLF001
        try:
            wait: int = consumer._fetch_max_wait_ms  # noqa: SLF001
        finally:
            await consumer.stop()
        return wait

    assert asyncio.run(built_wait()) == 77
    assert "fetch_max_wait_ms=self._fetch_max_wait_ms" in inspect.getsource(
        aiokafka.AIOKafkaConsumer.start)
