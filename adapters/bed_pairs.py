"""Beds sent as a pair `{"available": n, "total": n}`, as the VVT and GGZ messages do.

Either figure may be absent (not sent) or null (not reported): the total changes weekly, the
available beds hourly, and they are often sent apart. That available beds are part of the total
is a consistency rule declared with the definitions (`definitions/rules/vvt.yaml`, `ggz.yaml`),
checked for every format alike (`adapters.consistency`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from adapters.base import Issue, MessageMeta, error
from adapters.figures import map_fields, unknown_fields
from core.messages import Observation

PAIR_FIELDS = frozenset({"available", "total"})


def map_pair(
    pair: Any, codes: Mapping[str, str], meta: MessageMeta, observed_at: datetime, where: str,
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
    observations, bad = map_fields(pair, codes, meta, observed_at, where)
    return observations, problems + bad
