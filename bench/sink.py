"""The sink: the platform's batch upsert of observations next to a raw COPY of the same rows.

The fresh observations are the reports that would follow the history (the next hours), written
in the order they would arrive, in batches of the real sink's size, one transaction each.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import psycopg
from psycopg import sql

from bench.dataset import OBSERVATION_COLUMNS, NationalDataSet
from bench.load import OBSERVATION_TYPES
from bench.measure import percentile
from core.messages import Observation
from core.settings import get_settings
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

    def figures(self) -> dict[str, float | int | str]:
        """rows/s of both, batch latency, and the ratio (COPY rows/s ÷ upsert rows/s)."""
        upsert_rate = self.rows / self.upsert_seconds
        copy_rate = self.rows / self.copy_seconds
        return {
            "rows": self.rows, "batch_size": self.batch_size,
            "upsert_rows_per_s": round(upsert_rate), "copy_rows_per_s": round(copy_rate),
            "ratio": round(copy_rate / upsert_rate, 2),
            "batch_p50_ms": round(percentile(self.batch_ms, 0.5), 2),
            "batch_p99_ms": round(percentile(self.batch_ms, 0.99), 2),
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


async def _upsert_all(conn: AsyncConn, observations: list[Observation],
                      size: int) -> tuple[float, tuple[float, ...]]:
    batch_ms = []
    started = time.perf_counter()
    for first in range(0, len(observations), size):
        batch_started = time.perf_counter()
        async with conn.transaction():
            await upsert_observations(conn, observations[first:first + size])
        batch_ms.append((time.perf_counter() - batch_started) * 1000.0)
    return time.perf_counter() - started, tuple(batch_ms)


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


async def measure_sink(conn: AsyncConn, data: NationalDataSet, count: int = 100_000) -> SinkResult:
    """Upsert `count` fresh observations in the sink's batches, then COPY the same rows."""
    size = get_settings().sink_batch_size
    rows = fresh_rows(data, count)
    observations = [as_observation(data, row) for row in rows]
    upsert_seconds, batch_ms = await _upsert_all(conn, observations, size)
    copy_seconds = await _copy_all(conn, rows)
    return SinkResult(len(rows), size, upsert_seconds, batch_ms, copy_seconds)
