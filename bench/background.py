"""A background load for the live queries, in a process of its own with its own connections.

What a busy coordination platform puts on the database beside the query being timed:
`rate` live queries per second through the platform's own function (each the board of one
ROAZ region, cycling through the ten), paced open loop over a few connections (when all are
busy the next query waits, so the rate achieved is reported, not assumed); the national write
rate (`writes_per_s` provider messages, each one location's figures due at one moment, written
by the sink's own function); and the live-state refresher every second, as the stream worker
runs it. Its own process, so its Python work competes for the cores as API processes would,
without stalling the event loop that times the measured queries.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import pickle
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

import psycopg

from bench.measure import percentile
from storage.availability import live_locations
from storage.live_state import catch_up
from storage.observations import StagedObservation, write_staged

Conn = psycopg.AsyncConnection[Any]
# Connections of the queries (an API process's pool or two) and of the writes (the store
# stage's transactions in flight, two workers).
QUERY_CONNECTIONS = 16
WRITE_CONNECTIONS = 4
REFRESH_SECONDS = 1.0


@dataclass(frozen=True)
class BackgroundPlan:
    """What the background does: queries per second, messages written per second, and the
    messages to write (pickled to `messages_file`: a large argument written into the new
    process's pipe would block this one for good if that process died while starting)."""

    url: str
    regions: tuple[str, ...]
    rate: float
    writes_per_s: float
    messages_file: Path


@dataclass
class _Tally:
    latencies_ms: list[float]
    queries: int = 0
    messages: int = 0
    refreshed_marks: int = 0
    most_marks_waiting: int = 0


async def _paced(url: str, rate: float, connections: int, stop: Event,
                 work: Callable[[Conn, int], Awaitable[None]], limit: int | None = None) -> None:
    """Start `work(conn, number)` `rate` times a second (open loop) on up to `connections`
    connections at once; when all are busy the next start waits, so the rate achieved drops."""
    pool: asyncio.Queue[Conn] = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(await psycopg.AsyncConnection.connect(url, autocommit=True))

    async def one(number: int) -> None:
        conn = await pool.get()
        try:
            await work(conn, number)
        finally:
            pool.put_nowait(conn)

    loop, running = asyncio.get_running_loop(), set()
    due, number = loop.time(), 0
    while not stop.is_set() and (limit is None or number < limit):
        while pool.empty():
            await asyncio.sleep(0.001)
        task = asyncio.create_task(one(number))
        running.add(task)
        task.add_done_callback(running.discard)
        number += 1
        due += 1.0 / rate
        await asyncio.sleep(max(0.0, due - loop.time()))
    await asyncio.gather(*running)
    while not pool.empty():
        await pool.get_nowait().close()


async def _queries(plan: BackgroundPlan, stop: Event, tally: _Tally) -> None:
    async def query(conn: Conn, number: int) -> None:
        started = time.perf_counter()
        await live_locations(conn, region=plan.regions[number % len(plan.regions)])
        tally.latencies_ms.append((time.perf_counter() - started) * 1000.0)
        tally.queries += 1

    await _paced(plan.url, plan.rate, QUERY_CONNECTIONS, stop, query)


async def _writes(plan: BackgroundPlan, stop: Event, tally: _Tally) -> None:
    messages: list[tuple[StagedObservation, ...]] = pickle.loads(plan.messages_file.read_bytes())

    async def write(conn: Conn, number: int) -> None:
        async with conn.transaction():
            await write_staged(conn, messages[number])
        tally.messages += 1

    await _paced(plan.url, plan.writes_per_s, WRITE_CONNECTIONS, stop, write,
                 limit=len(messages))


async def _refresher(plan: BackgroundPlan, stop: Event, tally: _Tally) -> None:
    async with await psycopg.AsyncConnection.connect(plan.url, autocommit=True) as conn:
        while not stop.is_set():
            cur = await conn.execute("SELECT count(*) FROM live_location_pending")
            row = await cur.fetchone()
            tally.most_marks_waiting = max(tally.most_marks_waiting, int(row[0]) if row else 0)
            async with conn.transaction():
                tally.refreshed_marks += await catch_up(conn)
            await asyncio.sleep(REFRESH_SECONDS)


async def _run(plan: BackgroundPlan, ready: Event, stop: Event) -> dict[str, Any]:
    tally = _Tally(latencies_ms=[])
    started = time.perf_counter()
    tasks = [asyncio.create_task(work(plan, stop, tally))
             for work in (_queries, _writes, _refresher)]
    await asyncio.sleep(2.0)  # connections open, plans prepared, the pace settled
    ready.set()
    await asyncio.gather(*tasks)
    seconds = time.perf_counter() - started
    latencies = tally.latencies_ms or [0.0]
    return {
        "target_queries_per_s": plan.rate, "queries_per_s": round(tally.queries / seconds, 1),
        "query_p50_ms": round(percentile(latencies, 0.5), 2),
        "query_p99_ms": round(percentile(latencies, 0.99), 2),
        "target_writes_per_s": plan.writes_per_s,
        "writes_per_s": round(tally.messages / seconds, 1),
        "refresher_marks_taken": tally.refreshed_marks,
        "most_marks_waiting": tally.most_marks_waiting,
        "seconds": round(seconds, 1), "query_connections": QUERY_CONNECTIONS,
    }


def _main(plan: BackgroundPlan, ready: Event, stop: Event, out: Any) -> None:
    out.put(asyncio.run(_run(plan, ready, stop)))


class Background:
    """The background load as a context manager: running (and warmed up) inside the block;
    its figures in `figures` afterwards."""

    def __init__(self, plan: BackgroundPlan) -> None:
        context = multiprocessing.get_context("spawn")
        self._ready, self._stop, self._out = context.Event(), context.Event(), context.Queue()
        self._process = context.Process(target=_main, name="bench-background",
                                        args=(plan, self._ready, self._stop, self._out))
        self.figures: dict[str, Any] = {}

    def __enter__(self) -> Background:
        self._process.start()
        if not self._ready.wait(timeout=60):
            self._process.terminate()
            raise RuntimeError("the background load did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        try:
            self.figures = self._out.get(timeout=120)
        finally:
            self._process.join(timeout=30)
            if self._process.is_alive():
                self._process.terminate()


def write_messages(rows: Sequence[tuple[Any, ...]], path: Path) -> Path:
    """Observation rows (in arrival order), grouped into the provider messages they came in,
    pickled to `path` for the background's writer."""
    messages: dict[Any, list[tuple[Any, ...]]] = {}
    for row in rows:
        messages.setdefault(row[-1], []).append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps([tuple(message) for message in messages.values()]))
    return path
