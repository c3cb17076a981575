"""Beds sent as a pair `{"available": n, "total": n}`, as the VVT and GGZ messages do.

Available beds are a subset of the total, so a pair whose available exceeds its total is wrong at
the source and is refused rather than stored. Either figure may be absent (not sent) or null (not
reported): the total changes weekly, the available beds hourly, and they are often sent apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from adapters.base import Issue, MessageMeta, error
from adapters.figures import map_fields, unknown_fields
from core.messages import Observation
from definitions.validation import Value, as_number

PAIR_FIELDS = frozenset({"available", "total"})


def pair_problem(available: Value, total: Value, expression: str) -> Issue | None:
    """An error naming `expression` when available beds exceed the total; else None."""
    have, of = as_number(available), as_number(total)
    if have is None or of is None or have <= of:
        return None
    return error("business-rule", expression,
                 f"available ({have:g}) exceeds total ({of:g}): available beds are part of the "
                 "total; send the total of all contracted beds, occupied or free")


def map_pair(
    pair: Any, codes: Mapping[str, str], meta: MessageMeta, observed_at: datetime, where: str,
    location_id: str | None = None,
) -> tuple[list[Observation], list[Issue]]:
    """Observations of one `{"available", "total"}` object at `where`; null = both not reported.

    `codes` gives the definition code of each figure ("available", "total").
    """
    if pair is None:
        pair = dict.fromkeys(PAIR_FIELDS)
    if not isinstance(pair, dict):
        return [], [error("structure", where,
                          'give an object {"available": n, "total": n} (null: not reported)')]
    problems = unknown_fields(pair, set(PAIR_FIELDS), where)
    observations, bad = map_fields(pair, codes, meta, observed_at, where, location_id)
    problems += bad
    if not bad and (too_many := pair_problem(pair.get("available"), pair.get("total"),
                                             f"{where}.available")):
        problems.append(too_many)
    return observations, problems
