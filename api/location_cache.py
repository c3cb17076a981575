"""Registered locations, remembered for a few seconds by each API process.

Every push looks up its subject; at hundreds of pushes a second that is a database round trip
each for a record that almost never changes. A location's owner never changes (only its owner
may register it again, api/ownership.py), so the ownership check is never wrong from memory;
a location's sector or region changed by its owner applies to pushes within `ttl` seconds (at
once on the process that took the change). Unknown locations are not remembered: one
registered a moment ago is found.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any

import psycopg

from core.facilities import LocationRecord
from storage.facilities import get_location

TTL_SECONDS = 10.0


class LocationCache:
    """Location records by id, each for `ttl` seconds, at most `size` of them."""

    def __init__(self, ttl: float = TTL_SECONDS, size: int = 100_000) -> None:
        self._ttl = ttl
        self._size = size
        self._entries: OrderedDict[str, tuple[LocationRecord, float]] = OrderedDict()

    async def get(self, conn: psycopg.AsyncConnection[Any],
                  location_id: str) -> LocationRecord | None:
        """The registered location, from memory while fresh, else from the database."""
        entry = self._entries.get(location_id)
        now = time.monotonic()
        if entry is not None and entry[1] > now:
            return entry[0]
        record = await get_location(conn, location_id)
        if record is not None:
            self._entries[location_id] = (record, now + self._ttl)
            self._entries.move_to_end(location_id)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return record

    def forget(self, location_id: str) -> None:
        """Drop a location that was just registered again."""
        self._entries.pop(location_id, None)
