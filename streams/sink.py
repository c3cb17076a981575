"""Writing batches to the store: one transaction per batch, retried until it succeeds.

A batch is acknowledged only after this returns, so it must either be written or hand back the
messages it could not write. Transient failures (connection lost, database restarting) are
retried with backoff and never acknowledged unwritten. Data the database refuses (a violated
constraint) cannot succeed by retrying: the batch is then written one message at a time and the
refused ones are returned for the dead-letter topic.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import psycopg
import structlog
from psycopg_pool import AsyncConnectionPool

from core.metrics import LAST_WRITE_TIMESTAMP, SINK_BATCH_SECONDS, SINK_WRITE_RETRIES

log = structlog.get_logger()
T = TypeVar("T")
A = TypeVar("A")
R = TypeVar("R")
Writer = Callable[[psycopg.AsyncConnection[Any], Sequence[T]], Awaitable[None]]
Work = Callable[[psycopg.AsyncConnection[Any], A], Awaitable[R]]
MAX_BACKOFF_SECONDS = 10.0


class Sink:
    """Transactional, retrying batch writes through a connection pool."""

    def __init__(self, pool: AsyncConnectionPool[Any]) -> None:
        self._pool = pool

    async def write(
        self, writer: Writer[T], batch: Sequence[T],
    ) -> list[tuple[T, psycopg.Error]]:
        """Write `batch`; returns the items the database refused, with the error."""
        if not batch:
            return []
        try:
            await self._write_retrying(writer, batch)
        except (psycopg.DataError, psycopg.IntegrityError) as exc:
            if len(batch) == 1:
                return [(batch[0], exc)]
            refused: list[tuple[T, psycopg.Error]] = []
            for item in batch:
                refused += await self.write(writer, [item])
            return refused
        return []

    async def run(self, work: Work[A, R], argument: A) -> R:
        """Run one piece of work in a transaction of its own, retried with backoff while the
        database is away (not for data the database refuses)."""
        return await self._retrying(lambda: self._run_once(work, argument), "run")

    async def _run_once(self, work: Work[A, R], argument: A) -> R:
        await self._pool.open()
        async with self._pool.connection() as conn:
            return await work(conn, argument)

    async def _write_retrying(self, writer: Writer[T], batch: Sequence[T]) -> None:
        await self._retrying(lambda: self._write_once(writer, batch), "write")

    async def _retrying(self, work: Callable[[], Awaitable[R]], what: str) -> R:
        backoff = 0.2
        while True:
            try:
                return await work()
            except (psycopg.DataError, psycopg.IntegrityError):
                raise
            except (psycopg.Error, OSError) as exc:
                SINK_WRITE_RETRIES.inc()
                log.warning("sink_retry", work=what, error=str(exc), backoff_s=backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)

    async def _write_once(self, writer: Writer[T], batch: Sequence[T]) -> None:
        await self._pool.open()  # a no-op once open; opening late lets the worker start first
        started = time.perf_counter()
        async with self._pool.connection() as conn, conn.transaction():
            await writer(conn, batch)
        SINK_BATCH_SECONDS.observe(time.perf_counter() - started)
        LAST_WRITE_TIMESTAMP.set_to_current_time()
