"""The stream worker's process: faust's worker as the platform runs it."""

from __future__ import annotations

import asyncio
import inspect
import logging
import subprocess
import sys
from typing import Any

import aiokafka
import pytest
from faust.transport import consumer as faust_consumer_module
from faust.transport.drivers import aiokafka as faust_aiokafka

from core.settings import Settings
from streams.app import Worker, create_app
from streams.recovery import (
    LOST_AFTER,
    LOST_AFTER_LOSS,
    Log,
    caught_up,
    lost_partitions,
    read_past_end,
    replaced,
    waited_too_long,
)


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


def test_the_committed_offsets_faust_seeks_to_pass_through_the_transport() -> None:
    """After an assignment faust seeks to the committed offsets through its consumer thread's
    `seek_to_committed` and remembers what it returns; the transport's override keeps each
    within its partition's log (streams/transport.py). If faust stops calling it, this fails
    rather than a worker waiting past the end of a lost log again."""
    app = create_app(Settings())
    faust_consumer: Any = app.consumer
    assert type(faust_consumer._thread).seek_to_committed is not (  # noqa: SLF001
        faust_aiokafka.AIOKafkaConsumerThread.seek_to_committed)
    assert "await self.seek_to_committed()" in inspect.getsource(
        faust_consumer_module.Consumer.perform_seek)
    assert "await self._thread.seek_to_committed()" in inspect.getsource(
        faust_consumer_module.ThreadDelegateConsumer.seek_to_committed)


def test_a_log_ending_before_an_offset_seen_or_read_is_lost() -> None:
    """The reconciler compares the broker's end offsets with the ones it remembered, and where
    this worker's consumer reads next with the end its last fetch saw (streams/recovery.py): a
    consumer past the end of the new log would otherwise wait, storing nothing, until the new
    log grows past it."""
    now = {0: 21, 1: 5, 2: 0}
    assert lost_partitions({0: 29, 1: 5}, now) == [0]  # the log ended at 29 before
    assert lost_partitions({0: 21, 1: 4}, now) == []  # at or before the end: nothing lost
    assert lost_partitions({3: 1}, now) == [3]  # the partition is gone with the log
    assert read_past_end({0: (29, 21), 1: (5, 5), 2: (0, 7), 3: (4, None)}) == [0]
    assert read_past_end({}) == []
    assert read_past_end(None) == []  # cannot tell


def test_a_topic_with_a_new_id_lost_its_log() -> None:
    """A broker gives a topic a new id each time it creates it: the one signal of a lost log
    that a new log growing past the old one's ends cannot hide."""
    now = Log("new-id", {0: 40})
    assert replaced("old-id", now)
    assert not replaced("new-id", now)
    assert not replaced(None, now)  # nothing remembered yet (a new database): nothing to compare


def test_after_a_loss_a_skipped_message_is_sent_again_sooner() -> None:
    """Offsets committed on the old log can skip part of the new one for a while after a loss;
    the reconciler then takes a message unprocessed for LOST_AFTER_LOSS, not LOST_AFTER, for
    lost."""
    assert waited_too_long(recently_lost=True) == LOST_AFTER_LOSS
    assert waited_too_long(recently_lost=False) == LOST_AFTER
    assert LOST_AFTER_LOSS < LOST_AFTER


def test_caught_up_means_every_partition_read_to_its_fetched_end() -> None:
    """The reconciler sends a message that waited LOST_AFTER again only while caught up."""
    assert caught_up({0: (5, 5), 1: (7, 7)})
    assert caught_up({})  # holding no partition: nothing to read
    assert not caught_up({0: (5, 5), 1: (6, 7)})
    assert not caught_up({0: (5, None)})  # no fetch answer yet
    assert not caught_up(None)  # cannot tell (a rebalance)


def test_a_halted_worker_that_does_not_stop_exits_with_its_logs_written() -> None:
    """faust's stop after a crash can hang; the supervisor restarts only a worker that exits."""
    script = ("import time\nfrom core.logs import configure_logging\n"
              "from streams.app import _exit_if_stuck\n"
              "configure_logging('INFO', process='streams')\n"
              "_exit_if_stuck(0.2)\ntime.sleep(60)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=50, check=False)
    assert done.returncode == 70
    assert '"event": "halt_stuck"' in done.stdout + done.stderr
