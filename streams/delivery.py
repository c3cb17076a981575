"""Finishing work that must not be abandoned halfway.

faust's `take_events` acknowledges a batch in a `finally`, also when the agent is cancelled
during shutdown. A batch write or a wait for broker acks therefore runs shielded: if the agent
is cancelled, it first waits for the work to finish, then lets the cancellation through. If the
work never finishes (database down during shutdown), the stack's stop escalates to SIGKILL and
nothing is committed, so the batch is consumed again after restart.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


async def finish_despite_cancel(work: Awaitable[T]) -> T:
    """Await `work` to completion even if the caller is cancelled meanwhile."""
    task = asyncio.ensure_future(work)
    cancelled = False
    while True:
        try:
            result = await asyncio.shield(task)
        except asyncio.CancelledError:
            if task.done() and task.cancelled():
                raise
            cancelled = True
            continue
        if cancelled:
            raise asyncio.CancelledError
        return result
