"""The figures of a location as the platform reads them back: the latest figure of an item, one
that a write changed, one that went stale; what a figure must carry to be shown; and which
items an item filter takes in. No I/O: storage/ reads these records (psycopg's `class_row`
calls them with the query's column names), streams/ and api/ use them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


class FigureFields(Protocol):
    """What a figure must carry to be shown: the item, its value and when it was observed."""

    @property
    def definition(self) -> str: ...
    @property
    def definition_version(self) -> int: ...
    @property
    def value(self) -> float | None: ...
    @property
    def value_text(self) -> str | None: ...
    @property
    def not_reported_reason(self) -> str | None: ...
    @property
    def observed_at(self) -> datetime: ...


@dataclass(frozen=True)
class LocationFacts:
    """The facts of the location a figure belongs to: who runs it, its sector and region, and
    where it lies. A record built on it has these fields first, then its own (a dataclass
    puts a base's fields first), in the order its query and the API show them."""

    location_id: str
    location_name: str
    organization_id: str
    sector: str
    roaz_region: str
    latitude: float
    longitude: float


@dataclass(frozen=True)
class LatestFigure(LocationFacts):
    """The newest observation of one item at one location, with the location's facts."""

    definition: str
    definition_version: int
    value: float | None
    value_text: str | None
    not_reported_reason: str | None
    observed_at: datetime
    received_at: datetime
    provider: str
    distance_km: float | None = None


@dataclass(frozen=True)
class WentStale(LocationFacts):
    """A location's latest figure of an item whose freshness deadline has passed."""

    definition: str
    observed_at: datetime


@dataclass(frozen=True)
class ChangedFigure:
    """A latest figure that a write changed, with its location and what it was before.

    Not a `LocationFacts`: a mobile unit's status is kept like a location's figure and has no
    location, so its location facts are all None (the write's query joins `location` with a
    LEFT JOIN)."""

    location_id: str
    location_name: str | None
    organization_id: str | None
    sector: str | None
    roaz_region: str | None
    latitude: float | None
    longitude: float | None
    definition: str
    definition_version: int
    value: float | None
    value_text: str | None
    not_reported_reason: str | None
    observed_at: datetime
    received_at: datetime
    provider: str
    previous_observed_at: datetime | None
    previous_value: float | None
    previous_value_text: str | None


def item_matches(code: str, item: str) -> bool:
    """True when definition `code` is `item` or lies under it, on whole dot-separated segments:
    `hospital.beds.ic` matches `hospital.beds.ic.available`, not `hospital.beds.icu_x`."""
    return code == item or code.startswith(item + ".")


def item_filters(codes: Iterable[str]) -> list[str]:
    """Every `item` that matches one of `codes` (`item_matches`): each code and each of its
    prefixes of whole segments, sorted."""
    found: set[str] = set()
    for code in codes:
        segments = code.split(".")
        found.update(".".join(segments[:n]) for n in range(1, len(segments) + 1))
    return sorted(found)
