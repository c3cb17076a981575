"""Busyness per ROAZ region: each item rolled up across the region's locations by its roll-up
rule (sum / latest / cumulative, from the definitions). No I/O: storage/busyness.py reads the
latest figures (`LocationFigure`), the API rolls them up here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from itertools import groupby

from definitions.catalogue import Rollup


@dataclass(frozen=True)
class LocationFigure:
    """The latest figure of one item at one location, with the location's region."""

    roaz_region: str
    location_id: str
    definition: str
    value: float | None
    value_text: str | None
    observed_at: datetime

    @property
    def reported(self) -> bool:
        """False when the provider said it does not know (not 0)."""
        return self.value is not None or self.value_text is not None


@dataclass(frozen=True)
class RegionFigure:
    """One item rolled up across the locations of one region."""

    roaz_region: str
    definition: str
    rollup: Rollup
    value: float | str | None
    locations_reporting: int
    locations_not_reported: int
    stale_locations: int
    min: float | None
    max: float | None
    counts: dict[str, int] = field(default_factory=dict)
    oldest_observed_at: datetime | None = None


def roll_up(rows: list[LocationFigure], rollup: Rollup,
            is_stale: Callable[[datetime], bool]) -> RegionFigure:
    """One item in one region from its locations' latest figures (all rows share both).

    sum and cumulative: the sum of the reported values; latest: the reported value observed
    last. Code items (text values) get `counts` per code instead of min / max. Locations that
    did not report never count as 0.
    """
    reported = [r for r in rows if r.reported]
    numbers = [r.value for r in reported if r.value is not None]
    codes = Counter(r.value_text for r in reported if r.value_text is not None)
    return RegionFigure(
        roaz_region=rows[0].roaz_region, definition=rows[0].definition, rollup=rollup,
        value=_rolled_value(reported, numbers, rollup),
        locations_reporting=len(reported), locations_not_reported=len(rows) - len(reported),
        stale_locations=sum(1 for r in rows if is_stale(r.observed_at)),
        min=min(numbers) if numbers else None, max=max(numbers) if numbers else None,
        counts=dict(sorted(codes.items())),
        oldest_observed_at=min(r.observed_at for r in rows),
    )


def _rolled_value(reported: list[LocationFigure], numbers: list[float],
                  rollup: Rollup) -> float | str | None:
    if not reported:
        return None
    if rollup == "latest":
        last = max(reported, key=lambda r: r.observed_at)
        return last.value if last.value is not None else last.value_text
    return sum(numbers) if numbers else None


def roll_up_all(
    rows: Iterable[LocationFigure], rule_of: Callable[[str], Rollup],
    is_stale: Callable[[str, datetime], bool],
) -> list[RegionFigure]:
    """Every (region, item) group of `rows` (ordered by region and item) rolled up by the
    item's rule; `is_stale(definition, observed_at)` judges freshness."""
    result = []
    for (_, code), group in groupby(rows, key=lambda r: (r.roaz_region, r.definition)):
        result.append(roll_up(list(group), rule_of(code), partial(is_stale, code)))
    return result
