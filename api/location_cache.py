"""Registered locations, remembered for a few seconds by each API process.

Every push looks up its subject (and a spreadsheet every other site it reports on); at hundreds
of pushes a second that is a database round trip each for a record that almost never changes.
A location's owner never changes (only its owner may register it again, api/ownership.py), so
the ownership check is never wrong from memory; a location's sector or region changed by its
owner applies to pushes within `ttl` seconds (at once on the process that took the change).
Unknown locations are not remembered: one registered a moment ago is found.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Collection
from typing import Any

import psycopg

from core.facilities import LocationRecord
from storage.facilities import get_locations

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
        return (await self.get_many(conn, [location_id])).get(location_id)

    async def get_many(self, conn: psycopg.AsyncConnection[Any],
                       location_ids: Collection[str]) -> dict[str, LocationRecord]:
        """The registered ones among `location_ids`, by id: from memory while fresh, the
        others in one query (a spreadsheet names a whole organisation's sites)."""
        now = time.monotonic()
        found: dict[str, LocationRecord] = {}
        missing: list[str] = []
        for location_id in location_ids:
            entry = self._entries.get(location_id)
            if entry is not None and entry[1] > now:
                found[location_id] = entry[0]
            else:
                missing.append(location_id)
        if missing:
            fetched = await get_locations(conn, missing)
            for location_id, record in fetched.items():
                self._entries[location_id] = (record, now + self._ttl)
                self._entries.move_to_end(location_id)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
            found.update(fetched)
        return found

    def forget(self, location_id: str) -> None:
        """Drop a location that was just registered again."""
        self._entries.pop(location_id, None)
