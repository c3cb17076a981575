"""The sink: the platform's batch upsert of observations next to a raw COPY of the same rows.

The fresh observations are the reports that would follow the history (the next hours), written
in the order they would arrive, in batches of the real sink's size, one transaction each. After
each batch the live-state refresher runs, as the stream worker's timer would, in a transaction
of its own (timed apart: it is not part of the write).

What the live state costs the write itself (its marks, made by triggers in the write's
transaction) is measured apart, on the next rows: batches alternately with and without the
triggers (`session_replication_role = replica` switches them off for one session), so both
halves see the same machine at the same moments.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from bench.dataset import OBSERVATION_COLUMNS, NationalDataSet
from bench.load import OBSERVATION_TYPES
from bench.measure import percentile
from core.messages import Observation
from core.settings import get_settings
from storage.live_state import catch_up
from storage.observations import upsert_observations

AsyncConn = psycopg.AsyncConnection[Any]
COPY_TABLE = "bench_observation_copy"


@dataclass(frozen=True)
class SinkResult:
    """Throughput of the platform's upsert and of COPY, for the same rows."""

    rows: int
    batch_size: int
    upsert_seconds: float
    batch_ms: tuple[float, ...]
    copy_seconds: float
    refresh_ms: tuple[float, ...]

    def figures(self) -> dict[str, float | int | str]:
        """rows/s of both, batch latency, the ratio (COPY rows/s ÷ upsert rows/s), and the
        live-state refresher's time after each batch (off the write transaction)."""
        upsert_rate = self.rows / self.upsert_seconds
        copy_rate = self.rows / self.copy_seconds
        return {
            "rows": self.rows, "batch_size": self.batch_size,
            "upsert_rows_per_s": round(upsert_rate), "copy_rows_per_s": round(copy_rate),
            "ratio": round(copy_rate / upsert_rate, 2),
            "batch_p50_ms": round(percentile(self.batch_ms, 0.5), 2),
            "batch_p99_ms": round(percentile(self.batch_ms, 0.99), 2),
            "refresh_p50_ms": round(percentile(self.refresh_ms, 0.5), 2),
            "refresh_p99_ms": round(percentile(self.refresh_ms, 0.99), 2),
            "refresh_share_of_write": round(sum(self.refresh_ms) / 1000 / self.upsert_seconds, 3),
        }


def fresh_rows(data: NationalDataSet, count: int) -> list[tuple[Any, ...]]:
    """The first `count` reports after the history, in arrival order (observation columns)."""
    rows: list[tuple[Any, ...]] = []
    hours = 1
    while len(rows) < count:
        hours *= 2
        until = data.end + timedelta(hours=hours)
        rows = [row for site in data.sites
                for row in data.observation_rows(site, start=data.end, end=until)]
    rows.sort(key=lambda row: (row[7], row[0]))
    return rows[:count]


def as_observation(data: NationalDataSet, row: tuple[Any, ...]) -> Observation:
    """A canonical Observation, as the stream worker hands it to the sink."""
    fields = dict(zip(OBSERVATION_COLUMNS, row, strict=True))
    text = fields.pop("value_text")
    if text is not None:  # codes travel as text values, as the adapters emit them
        fields["value"] = text
    return Observation(unit=data.definition(row[1]).unit, **fields)


async def _refresh(conn: AsyncConn) -> float:
    started = time.perf_counter()
    while True:
        async with conn.transaction():
            if await catch_up(conn) < 1000:
                break
    return (time.perf_counter() - started) * 1000.0


async def _upsert_all(conn: AsyncConn, observations: list[Observation],
                      size: int) -> tuple[float, tuple[float, ...], tuple[float, ...]]:
    batch_ms, refresh_ms, writing = [], [], 0.0
    for first in range(0, len(observations), size):
        batch_started = time.perf_counter()
        async with conn.transaction():
            await upsert_observations(conn, observations[first:first + size])
        batch_ms.append((time.perf_counter() - batch_started) * 1000.0)
        writing += batch_ms[-1] / 1000.0
        refresh_ms.append(await _refresh(conn))
    return writing, tuple(batch_ms), tuple(refresh_ms)


async def _copy_all(conn: AsyncConn, rows: list[tuple[Any, ...]]) -> float:
    table = sql.Identifier(COPY_TABLE)
    await conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(table))
    await conn.execute(sql.SQL("CREATE TABLE {} (LIKE observation INCLUDING ALL)").format(table))
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
        table, sql.SQL(", ").join(map(sql.Identifier, OBSERVATION_COLUMNS)))
    started = time.perf_counter()
    async with conn.transaction(), conn.cursor() as cur, cur.copy(statement) as copy:
        copy.set_types(list(OBSERVATION_TYPES))
        for row in rows:
            await copy.write_row(row)
    seconds = time.perf_counter() - started
    await conn.execute(sql.SQL("DROP TABLE {}").format(table))
    return seconds


async def measure_sink(conn: AsyncConn, data: NationalDataSet,
                       rows: list[tuple[Any, ...]]) -> SinkResult:
    """Upsert `rows` (fresh observations) in the sink's batches, each followed by the live-state
    refresher, then COPY the same rows."""
    size = get_settings().sink_batch_size
    observations = [as_observation(data, row) for row in rows]
    upsert_seconds, batch_ms, refresh_ms = await _upsert_all(conn, observations, size)
    copy_seconds = await _copy_all(conn, rows)
    return SinkResult(len(rows), size, upsert_seconds, batch_ms, copy_seconds, refresh_ms)


def _server_cpu_ms(pid: int) -> float | None:
    # The backend's time on a CPU (ns), when the server runs on this machine: less shaken by
    # whatever else runs than the time on the clock.
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e6
    except (OSError, ValueError, IndexError):
        return None


async def measure_marks(conn: AsyncConn, data: NationalDataSet, rows: list[tuple[Any, ...]], *,
                        server_here: bool) -> dict[str, Any]:
    """The live state's cost to the write: `rows` in the sink's batches, alternately with and
    without its triggers; the ratios are with ÷ without (1.0 = free). `server_here`: the
    database runs on this machine, so its backend's CPU time can be read too."""
    size = get_settings().sink_batch_size
    observations = [as_observation(data, row) for row in rows]
    cur = await conn.execute("SELECT pg_backend_pid()")
    pid = int((await cur.fetchone() or (0,))[0])
    wall: dict[bool, list[float]] = {True: [], False: []}
    server: dict[bool, float] = {True: 0.0, False: 0.0}
    try:
        for number, first in enumerate(range(0, len(observations), size)):
            marks = number % 2 == 0
            await conn.execute("SET session_replication_role = "
                               + ("origin" if marks else "replica"))
            cpu = _server_cpu_ms(pid) if server_here else None
            started = time.perf_counter()
            async with conn.transaction():
                await upsert_observations(conn, observations[first:first + size])
            wall[marks].append((time.perf_counter() - started) * 1000.0)
            after = _server_cpu_ms(pid) if server_here else None
            server[marks] += 0.0 if cpu is None or after is None else after - cpu
    except psycopg.errors.InsufficientPrivilege as exc:
        return {"skipped": f"needs a superuser to switch the triggers off: {exc}".strip()}
    finally:
        await conn.execute("RESET session_replication_role")
    await _refresh(conn)
    pairs = sorted(a / b for a, b in zip(wall[True], wall[False], strict=False))
    return {
        "rows": len(rows), "batches_each": len(wall[False]),
        "with_marks_p50_ms": round(percentile(wall[True], 0.5), 2),
        "without_marks_p50_ms": round(percentile(wall[False], 0.5), 2),
        "wall_ratio": round(sum(wall[True]) / sum(wall[False]), 3),
        "wall_ratio_pair_median": round(percentile(pairs, 0.5), 3),
        "server_cpu_ratio": (round(server[True] / server[False], 3)
                             if server[False] > 0 else None),
    }
