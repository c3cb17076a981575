"""Counting hospital beds, whatever format reported them (FHIR bed Locations, LPZ CSV).

Every bed is in one state; per category a count keeps total, staffed, occupied and available
apart (empty is not available), and becomes `hospital.beds.<category>.<count>` observations,
per ward or per hospital with inpatient totals over all categories.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from functools import lru_cache

from adapters.base import (
    Issue,
    MessageMeta,
    check_value,
    observation,
    require_definition,
)
from core.messages import Observation
from definitions import load_catalogue

INPATIENT = "inpatient"


class BedState(Enum):
    """What one bed adds to the counts."""

    OCCUPIED = "occupied"
    AVAILABLE = "available"
    OPEN_NOT_AVAILABLE = "open, not available"  # staffed, free, but no patient can go there now
    CLOSED = "closed"


@dataclass
class BedCount:
    """Total, staffed, occupied and available beds of one category at one location."""

    total: int = 0
    staffed: int = 0
    occupied: int = 0
    available: int = 0

    def add(self, state: BedState) -> None:
        """Count one bed in `state`."""
        self.total += 1
        self.staffed += state is not BedState.CLOSED
        self.occupied += state is BedState.OCCUPIED
        self.available += state is BedState.AVAILABLE

    def include(self, other: BedCount) -> None:
        """Add the beds of `other` to these."""
        self.total += other.total
        self.staffed += other.staffed
        self.occupied += other.occupied
        self.available += other.available

    def figures(self) -> dict[str, int]:
        """The four counts by the last part of their definition code."""
        return {"total": self.total, "staffed": self.staffed, "occupied": self.occupied,
                "available": self.available}


@lru_cache(maxsize=1)
def bed_categories() -> frozenset[str]:
    """The bed categories with definitions `hospital.beds.<category>.total` (not inpatient)."""
    pattern = re.compile(r"hospital\.beds\.([a-z]+)\.total")
    found = {m.group(1) for code in load_catalogue().codes() if (m := pattern.fullmatch(code))}
    return frozenset(found - {INPATIENT})


def bed_figures(
    counts: Mapping[str, BedCount], meta: MessageMeta, observed_at: datetime, where: str,
    location_id: str | None = None,
) -> tuple[list[Observation], list[Issue]]:
    """Four observations per category of `counts` (`hospital.beds.<category>.<count>`)."""
    observations, problems = [], []
    for category, count in sorted(counts.items()):
        for name, value in count.figures().items():
            definition = require_definition(f"hospital.beds.{category}.{name}", observed_at)
            if (bad := check_value(definition, value, where)) is not None:
                problems.append(bad)
                continue
            observations.append(observation(definition, value, meta, observed_at,
                                            location_id=location_id))
    return observations, problems


def hospital_figures(
    counts: Mapping[str, BedCount], meta: MessageMeta, observed_at: datetime, where: str,
) -> tuple[list[Observation], list[Issue]]:
    """Per-category figures at the hospital, plus inpatient totals over all categories."""
    inpatient = BedCount()
    for count in counts.values():
        inpatient.include(count)
    return bed_figures({**counts, INPATIENT: inpatient}, meta, observed_at, where)
