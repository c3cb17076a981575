"""The live state per location (`live_location`): its documents, the marks that say which are
behind, and the refresher's step.

Every statement that writes `latest_observation` marks the subjects it touched in
`live_location_pending`, in its own transaction (statement triggers, migration 0012); the stream
worker's refresher rewrites their documents off that transaction (`catch_up`), as the plain
path's roll-ups are kept. A live query reads the document of an unmarked location and computes
a marked one's on the spot (storage/availability.py), so its answer never lags the writes.

A document is a JSON array ordered by definition, one array per item:
`[definition, definition_version, value, value_text, not_reported_reason, observed_at]`
(`LiveFigure`), observed_at in RFC 3339 at UTC; a value that is not finite is written as the
text PostgreSQL prints for it, and so is a time Python cannot hold (read back as the nearest one
it can, as storage/timestamps.py reads a row).
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

import msgspec
import psycopg

from storage.timestamps import EARLIEST, LATEST, nearest_time

# A document's timestamps are UTC: a session in one of these zones prints them the same way.
UTC_ZONES = frozenset({"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Universal", "Etc/Universal", "Zulu",
                       "Etc/Zulu"})
CATCH_UP = "SELECT live_location_catch_up(%(max_marks)s)"
BACKLOG = "SELECT count(*), extract(epoch FROM now() - min(marked_at)) FROM live_location_pending"


class LiveFigure(msgspec.Struct, array_like=True, frozen=True, gc=False):
    """One item's latest figure at a location, as the live state keeps it."""

    definition: str
    definition_version: int
    value: float | None
    value_text: str | None
    not_reported_reason: str | None
    observed_at: datetime


class _OddFigure(msgspec.Struct, array_like=True, frozen=True, gc=False):
    # A value PostgreSQL wrote as text ("NaN", "Infinity"): JSON has no such numbers. A time
    # Python cannot hold ("0001-12-31T23:00:00+00:00 BC", "infinity", year 12000).
    definition: str
    definition_version: int
    value: float | str | None
    value_text: str | None
    not_reported_reason: str | None
    observed_at: str


_figures = msgspec.json.Decoder(list[LiveFigure])
_odd_figures = msgspec.json.Decoder(list[_OddFigure])


def _instant(text: str) -> datetime:
    try:
        return msgspec.convert(text, datetime)
    except msgspec.ValidationError:
        return nearest_time(text)


def decode_figures(document: str | bytes) -> list[LiveFigure]:
    """A live document's figures, in its order (by definition). A time Python cannot hold comes
    back as the nearest one it can (storage/timestamps.py), as a row read would give it."""
    try:
        return _figures.decode(document)
    except msgspec.ValidationError:
        return [LiveFigure(f.definition, f.definition_version,
                           float(f.value) if isinstance(f.value, str) else f.value,
                           f.value_text, f.not_reported_reason, _instant(f.observed_at))
                for f in _odd_figures.decode(document)]


def session_zone(conn: psycopg.AsyncConnection[Any]) -> tzinfo | None:
    """The zone the session shows timestamps in, or None when that is UTC (as documents are)."""
    zone = conn.info.timezone
    return None if getattr(zone, "key", None) in UTC_ZONES else zone


def in_zone(figures: list[LiveFigure], zone: tzinfo) -> list[LiveFigure]:
    """`figures` with observed_at shown in `zone`, as a row the session read would have it
    (a time already clamped, or one the zone would push out of Python's range, stays at the
    nearest time Python can hold, in UTC, as storage/timestamps.py reads it)."""
    return [msgspec.structs.replace(f, observed_at=_shown_in(f.observed_at, zone))
            for f in figures]


def _shown_in(moment: datetime, zone: tzinfo) -> datetime:
    if moment in (EARLIEST, LATEST):
        return moment
    try:
        return moment.astimezone(zone)
    except OverflowError:
        # Only the edges of Python's range overflow: which edge is which end.
        return EARLIEST if moment.year < 5000 else LATEST


async def catch_up(conn: psycopg.AsyncConnection[Any], *, max_marks: int = 1000) -> int:
    """Rewrite the documents of up to `max_marks` marks (oldest first, skipping those another
    refresher holds) and remove the marks, in the caller's transaction. Returns how many marks
    were taken: fewer than `max_marks` means none were waiting."""
    cur = await conn.execute(CATCH_UP, {"max_marks": max_marks})
    row = await cur.fetchone()
    return int(row[0]) if row else 0


async def backlog(conn: psycopg.AsyncConnection[Any]) -> tuple[int, float]:
    """Marks waiting for the refresher, and the age in seconds of the oldest (0 when none)."""
    cur = await conn.execute(BACKLOG)
    row = await cur.fetchone()
    if row is None:
        return 0, 0.0
    return int(row[0]), float(row[1] or 0.0)
