"""Timing with perf_counter: platform and baseline interleaved, so drift hits both alike."""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

# One run: given the run's number (to vary the region or point), do the work once.
Run = Callable[[int], Awaitable[Any]]


def percentile(samples: Sequence[float], share: float) -> float:
    """Nearest-rank percentile (share 0.5 = median, 0.99 = p99) of non-empty samples."""
    ordered = sorted(samples)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Comparison:
    """Latencies (ms) of the platform's way and of the raw SQL baseline, same data, same run."""

    name: str
    platform_ms: tuple[float, ...]
    raw_ms: tuple[float, ...]
    note: str = ""

    def figures(self) -> dict[str, float | int | str]:
        """p50/p99 of both and their ratios (platform / raw: 1.0 = no overhead)."""
        p50, p99 = percentile(self.platform_ms, 0.5), percentile(self.platform_ms, 0.99)
        raw50, raw99 = percentile(self.raw_ms, 0.5), percentile(self.raw_ms, 0.99)
        return {
            "query": self.name, "runs": len(self.platform_ms),
            "p50_ms": round(p50, 3), "p99_ms": round(p99, 3),
            "raw_p50_ms": round(raw50, 3), "raw_p99_ms": round(raw99, 3),
            "ratio_p50": round(p50 / raw50, 2), "ratio_p99": round(p99 / raw99, 2),
            "note": self.note,
        }


async def _timed(run: Run, number: int) -> float:
    started = time.perf_counter()
    await run(number)
    return (time.perf_counter() - started) * 1000.0


async def compare(name: str, platform: Run, raw: Run, *, runs: int = 200, warmup: int = 20,
                  note: str = "") -> Comparison:
    """Time `platform` and `raw` `runs` times each after `warmup`, alternating which goes first."""
    for number in range(warmup):
        await platform(number)
        await raw(number)
    platform_ms, raw_ms = [], []
    for number in range(runs):
        if number % 2:
            raw_ms.append(await _timed(raw, number))
            platform_ms.append(await _timed(platform, number))
        else:
            platform_ms.append(await _timed(platform, number))
            raw_ms.append(await _timed(raw, number))
    return Comparison(name, tuple(platform_ms), tuple(raw_ms), note)
