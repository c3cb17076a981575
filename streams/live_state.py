"""The live-state refresher: rewrites the live documents of the locations the writes marked.

Off the store stage's transaction, like the roll-up refresher (storage/live_state.py says how
the marks are made and why a live query is exact without waiting for this). On both storage
paths. Several workers may run it at once: each takes marks the others do not hold.
"""

from __future__ import annotations

from typing import Any

from psycopg_pool import AsyncConnectionPool

from core.metrics import LIVE_STATE_BACKLOG, LIVE_STATE_LAG, LIVE_STATE_MARKS_REFRESHED
from storage.live_state import backlog, catch_up


class LiveStateRefresher:
    """Rewrite marked live documents until no mark waits."""

    def __init__(self, pool: AsyncConnectionPool[Any], max_marks: int = 1000) -> None:
        self._pool = pool
        self._max_marks = max_marks

    async def run_once(self) -> int:
        """One round; returns how many marks were taken."""
        taken = 0
        async with self._pool.connection() as conn:
            while True:
                async with conn.transaction():
                    done = await catch_up(conn, max_marks=self._max_marks)
                taken += done
                LIVE_STATE_MARKS_REFRESHED.inc(done)
                # Each step, so that a backlog the refresher cannot drain shows while it grows.
                waiting, age = await backlog(conn)
                LIVE_STATE_BACKLOG.set(waiting)
                LIVE_STATE_LAG.set(age)
                if done < self._max_marks:
                    break
        return taken
