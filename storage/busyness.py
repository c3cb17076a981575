"""Busyness per ROAZ region: the figures each item is rolled up from.

One query fetches the latest figure of every busyness item at every location in scope; the
roll-up rule of each item (sum / latest / cumulative, from the definitions) is applied in
Python, by core/busyness.py, so it stays next to the rule's description.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import psycopg
from psycopg.rows import class_row

from core.busyness import LocationFigure

REGION_FIGURES = (
    "SELECT l.roaz_region, o.location_id, o.definition, o.value, o.value_text, o.observed_at"
    " FROM location l JOIN latest_observation o ON o.location_id = l.id"
    " WHERE o.definition = ANY(%(definitions)s)"
    " AND (%(regions)s::text[] IS NULL OR l.roaz_region = ANY(%(regions)s))"
    " AND (%(sector)s::text IS NULL OR l.sector = %(sector)s)"
    " ORDER BY l.roaz_region, o.definition, o.location_id"
)


async def region_figures(
    conn: psycopg.AsyncConnection[Any], *, definitions: Collection[str],
    regions: Collection[str] | None = None, sector: str | None = None,
) -> list[LocationFigure]:
    """Latest figures of `definitions` at every location in `regions` (all when None),
    ordered by region, item and location."""
    params = {"definitions": list(definitions), "sector": sector,
              "regions": list(regions) if regions is not None else None}
    async with conn.cursor(row_factory=class_row(LocationFigure)) as cur:
        await cur.execute(REGION_FIGURES, params)
        return await cur.fetchall()
