"""Awaiting a condition instead of sleeping a fixed time."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal, TypeVar

T = TypeVar("T")


def wait_for(probe: Callable[[], T | None | Literal[False]], *, timeout: float = 30.0,
             what: str = "condition") -> T:
    """Poll `probe` until it returns something truthy; fail the test after `timeout` s.

    What it returns is truthy, so neither the None nor the False a probe answers while it
    waits (`lambda: cond and rows`)."""
    deadline = time.monotonic() + timeout
    last = probe()
    while not last:
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}: {last!r}")
        time.sleep(0.1)
        last = probe()
    return last
