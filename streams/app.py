"""The faust application: topics, agents and timers wired from settings, nothing at import time.

- `store`: ingest messages -> PostgreSQL / TimescaleDB (streams/store.py)
- `lsiv`: the LSIV feed -> units, fleet statuses -> ingest messages (streams/lsiv.py)
- timers: the reconciler (broker log loss) and the plain path's roll-up refresher
  (streams/recovery.py); the live-state refresher (streams/live_state.py); the stale watcher
  (streams/events.py)
- every store batch and the stale watcher send what changed to the events topic
- `alerts`: events -> alert states, notifications (-> events topic), webhook queue
  (streams/alerts.py); the `webhooks` timer delivers them
- the `planning` timer: unanswered holds and visit requests expire, planning events go from
  the outbox to the events topic (streams/planning.py)
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import faust
import structlog
from psycopg_pool import AsyncConnectionPool

from core.metrics import PARTITIONS_ASSIGNED, TIMER_FAILURES
from core.settings import Settings
from core.topics import deadletter_topic, events_topic, ingest_topic, lsiv_topic
from streams.alerts import AlertStage, WebhookSender
from streams.deadletter import DlqLimit
from streams.events import EventSender, StaleWatcher
from streams.live_state import LiveStateRefresher
from streams.lsiv import register_lsiv
from streams.planning import PlanningTimer
from streams.recovery import Read, Reconciler, RollupRefresher
from streams.sink import Sink
from streams.stage import DeadLetterQueue
from streams.store import StoreStage
from streams.transport import Transport

log = structlog.get_logger()
# The name the worker's database sessions carry (pg_stat_activity.application_name).
DATABASE_APPLICATION = "zc-streams"


def faust_broker_url(bootstrap_servers: str) -> str:
    """'h1:9092,h2:9092' -> 'kafka://h1:9092;kafka://h2:9092' as faust wants it."""
    return ";".join(f"kafka://{server.strip()}" for server in bootstrap_servers.split(","))


async def _survive(timer: str, work: Callable[[], Awaitable[Any]],
                  pool: AsyncConnectionPool[Any]) -> None:
    """Run a timer's round; a failure (the database or broker away) waits for the next round
    instead of crashing the worker."""
    try:
        await pool.open()
        await work()
    except Exception as exc:  # noqa: BLE001 - a timer round must never take the worker down
        TIMER_FAILURES.labels(timer=timer).inc()
        log.warning("timer_failed", timer=timer, error=f"{type(exc).__name__}: {exc}")


class Worker(faust.Worker):
    """faust's worker without its terminal spinner. At log level WARN and above faust sets the
    root logger to DEBUG so that the spinner turns on every record: every debug record of
    aiokafka (several per Kafka request) was then built and handled, a large share of the
    worker's CPU under load. The worker runs under a supervisor, with no terminal to spin on."""

    def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
        """Leave the root logger at the configured level (core/logs.py)."""
        self.spinner = None


def _exit_if_stuck(grace: float) -> None:
    """Exit the process if faust's stop after a halt has not ended within `grace` seconds.

    faust's stop after a crash can wait for ever: once it has stopped its consumer thread, it
    still commits offsets through that thread while waiting for the streams to drain (seen right
    after a start against a broker that had just lost its log). The supervisor restarts a worker
    that exits; one that hangs stores nothing. Nothing is lost by exiting: offsets are committed
    only after the write, and the logs are flushed first.
    """
    def exit_now() -> None:
        log.critical("halt_stuck", grace_seconds=grace)
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(70)  # EX_SOFTWARE

    timer = threading.Timer(grace, exit_now)
    timer.daemon = True
    timer.start()


def create_app(settings: Settings) -> faust.App:
    """The stream worker application with all its agents and timers."""
    app = faust.App(
        "zorgcapaciteit-streams",
        broker=faust_broker_url(settings.kafka_bootstrap_servers),
        store="memory://",
        datadir=str(settings.streams_data_dir),
        web_enabled=False,
        broker_session_timeout=settings.kafka_session_timeout_ms / 1000,
        broker_heartbeat_interval=settings.kafka_session_timeout_ms / 3000,
        broker_commit_interval=1.0,
        producer_acks=-1,
        consumer_auto_offset_reset="earliest",
        topic_partitions=settings.kafka_partitions,
        topic_replication_factor=settings.kafka_replication_factor,
        Worker=Worker,
    )
    app.transport = Transport(app, settings.stream_fetch_max_wait_ms)

    def topic(name: str) -> Any:
        return app.topic(name, key_serializer="raw", value_serializer="raw")

    async def halt(reason: BaseException) -> None:
        # Stops the worker with its services (logs flushed, pool closed), exit status non-zero.
        _exit_if_stuck(settings.halt_grace_seconds)
        await app.crash(reason)

    ingest = topic(ingest_topic(settings))
    dead_letters = DeadLetterQueue(topic(deadletter_topic(settings)), limit=lambda: DlqLimit(
        settings.dlq_max_invalid_ratio, settings.dlq_max_consecutive))
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        settings.database_url, open=False, min_size=1, max_size=4,
        # Named in pg_stat_activity: an operator (and a test) tells the worker's sessions apart.
        kwargs={"application_name": DATABASE_APPLICATION},
    )
    sink = Sink(pool)
    events_out = app.topic(events_topic(settings), key_serializer="raw",
                           value_serializer="raw", partitions=1)
    events = EventSender(events_out, sink, settings.position_event_seconds)
    store = StoreStage(sink, dead_letters, halt, batch_size=settings.sink_batch_size,
                       batch_seconds=settings.sink_batch_seconds, copy=settings.sink_copy,
                       events=events)
    app.agent(ingest, name="store", concurrency=settings.sink_concurrency)(store.run)
    alerts = AlertStage(sink, dead_letters, halt, events)
    app.agent(events_out, name="alerts")(alerts.run)
    webhooks = WebhookSender(sink, max_attempts=settings.webhook_max_attempts,
                             timeout=settings.webhook_timeout_seconds)
    register_lsiv(app, settings, sink, ingest=ingest, dead_letters=dead_letters, halt=halt)

    async def send(key: bytes, value: bytes) -> Any:
        return await ingest.send(key=key, value=value)

    async def read_positions() -> Read | None:
        """Per ingest partition held, the offset the consumer reads next and the log's end in
        its last fetch answer (None when it cannot tell, e.g. in the middle of a rebalance)."""
        read: Read = {}
        try:
            for tp in app.consumer.assignment():
                if tp.topic != ingest_topic(settings):
                    continue
                position = await asyncio.wait_for(app.consumer.position(tp), 5.0)
                # After the position: an end read later can only be further on the same log.
                end = app.consumer.highwater(tp)
                if position is None:
                    return None
                read[tp.partition] = (position, end)
        except Exception:  # noqa: BLE001 - partitions move during a rebalance: nothing known
            return None
        return read

    reconciler = Reconciler(pool, settings.kafka_bootstrap_servers, ingest_topic(settings),
                            send, halt, read_positions)
    refresher = RollupRefresher(pool)
    live_state = LiveStateRefresher(pool)
    watcher = StaleWatcher(sink, events)

    async def reconcile() -> None:
        await _survive("reconcile", reconciler.run_once, pool)

    async def refresh_rollups() -> None:
        await _survive("refresh-rollups", refresher.run_once, pool)

    async def refresh_live_state() -> None:
        await _survive("refresh-live-state", live_state.run_once, pool)

    def watches() -> bool:
        """One worker of the group looks for stale figures (else each would send the same
        stale events): the one holding the ingest topic's first partition."""
        try:
            return any(tp.topic == ingest_topic(settings) and tp.partition == 0
                       for tp in app.consumer.assignment())
        except Exception:  # noqa: BLE001 - no assignment yet (starting, rebalancing)
            return False

    async def watch_staleness() -> None:
        await _survive("stale-watcher", lambda: watcher.run_once(stale=watches()), pool)

    async def send_webhooks() -> None:
        await _survive("webhooks", webhooks.run_once, pool)

    planning = PlanningTimer(sink, events,
                             retention_days=settings.planning_patient_retention_days)

    async def run_planning() -> None:
        await _survive("planning", planning.run_once, pool)

    async def on_assigned(sender: Any, *args: Any, signal: Any = None, **kwargs: Any) -> None:
        assigned = kwargs.get("assigned", args[0] if args else set())
        counts = Counter(tp.topic for tp in assigned)
        for name in (ingest_topic(settings), lsiv_topic(settings)):
            PARTITIONS_ASSIGNED.labels(topic=name).set(counts.get(name, 0))
        log.info("partitions_assigned", partitions=sorted(f"{tp.topic}:{tp.partition}"
                                                          for tp in assigned))

    app.timer(interval=settings.reconcile_seconds, name="reconcile")(reconcile)
    app.timer(interval=settings.rollup_refresh_seconds, name="refresh-rollups")(refresh_rollups)
    app.timer(interval=settings.live_state_refresh_seconds,
              name="refresh-live-state")(refresh_live_state)
    app.timer(interval=settings.stale_check_seconds, name="stale-watcher")(watch_staleness)
    app.timer(interval=settings.webhook_poll_seconds, name="webhooks")(send_webhooks)
    app.timer(interval=settings.planning_sweep_seconds, name="planning")(run_planning)
    app.on_partitions_assigned.connect(on_assigned)  # type: ignore[arg-type]
    return app
