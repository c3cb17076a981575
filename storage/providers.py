"""Connected providers, for administrators: what each delivers, how fresh, what was refused.

Also the rejection log the overview counts from: the API records every message it refuses
once it knows whom the message is from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import class_row

from core.mobile_units import UNIT_KINDS


@dataclass(frozen=True)
class Rejection:
    """A refused message: who sent it, about what, where it was refused and why."""

    at: datetime
    provider: str
    location_id: str
    source_format: str
    stage: str
    reason: str


async def record_rejection(conn: psycopg.AsyncConnection[Any], rejection: Rejection) -> None:
    """Append one rejection (the caller commits)."""
    await conn.execute(
        "INSERT INTO rejection (at, provider, location_id, source_format, stage, reason)"
        " VALUES (%s, %s, %s, %s, %s, %s)",
        (rejection.at, rejection.provider, rejection.location_id, rejection.source_format,
         rejection.stage, rejection.reason))


@dataclass(frozen=True)
class ProviderDelivery:
    """One organisation in one sector: its locations, deliveries and the freshness of its
    latest figures (not-reported figures count as figures, and separately)."""

    organization_id: str
    organization_name: str
    sector: str
    locations: int
    last_delivery: datetime | None
    items_reported: int
    figures: int
    figures_fresh: int
    figures_not_reported: int


# Freshness deadlines come from the definitions, passed in as two parallel arrays.
PROVIDERS = (
    "WITH locs AS ("
    " SELECT l.id, l.organization_id, l.sector FROM location l"
    " WHERE (%(sector)s::text IS NULL OR l.sector = %(sector)s)),"
    " freshness AS ("
    " SELECT * FROM unnest(%(codes)s::text[], %(minutes)s::int[]) AS f(definition, minutes)),"
    " figures AS ("
    " SELECT k.organization_id, k.sector, count(*) AS figures,"
    " count(DISTINCT o.definition) AS items_reported,"
    " count(*) FILTER (WHERE o.observed_at >= now() - make_interval(mins => f.minutes))"
    " AS figures_fresh,"
    " count(*) FILTER (WHERE o.not_reported_reason IS NOT NULL) AS figures_not_reported"
    " FROM locs k JOIN latest_observation o ON o.location_id = k.id"
    " LEFT JOIN freshness f ON f.definition = o.definition"
    " GROUP BY k.organization_id, k.sector),"
    " deliveries AS ("
    " SELECT k.organization_id, k.sector, count(*) AS locations,"
    " max(d.last_delivery) AS last_delivery"
    " FROM locs k LEFT JOIN LATERAL (SELECT max(r.received_at) AS last_delivery"
    " FROM raw_message r WHERE r.location_id = k.id) d ON true"
    " GROUP BY k.organization_id, k.sector)"
    " SELECT d.organization_id, org.name AS organization_name, d.sector,"
    " d.locations::int, d.last_delivery,"
    " coalesce(f.items_reported, 0)::int AS items_reported,"
    " coalesce(f.figures, 0)::int AS figures,"
    " coalesce(f.figures_fresh, 0)::int AS figures_fresh,"
    " coalesce(f.figures_not_reported, 0)::int AS figures_not_reported"
    " FROM deliveries d JOIN organization org ON org.id = d.organization_id"
    " LEFT JOIN figures f ON f.organization_id = d.organization_id AND f.sector = d.sector"
    " ORDER BY d.organization_id, d.sector"
)


async def provider_deliveries(
    conn: psycopg.AsyncConnection[Any], *, freshness_minutes: Mapping[str, int],
    sector: str | None = None,
) -> list[ProviderDelivery]:
    """Every organisation with locations (in `sector`), per sector; a figure is fresh when
    younger than its item's `freshness_minutes` (items missing there are never fresh)."""
    params = {"sector": sector, "codes": list(freshness_minutes),
              "minutes": list(freshness_minutes.values())}
    async with conn.cursor(row_factory=class_row(ProviderDelivery)) as cur:
        await cur.execute(PROVIDERS, params)
        return await cur.fetchall()


@dataclass(frozen=True)
class RejectionCount:
    """How many messages of one provider and sector were refused for one reason."""

    provider: str
    sector: str | None
    reason: str
    rejected: int


# A rejection's subject is a location or a mobile unit; the sector comes from either (a unit's
# from its kind, core/mobile_units.py, passed in).
REJECTIONS = (
    "SELECT j.provider, coalesce(l.sector, k.sector) AS sector,"
    " j.reason, count(*)::int AS rejected"
    " FROM rejection j LEFT JOIN location l ON l.id = j.location_id"
    " LEFT JOIN mobile_unit u ON u.id = j.location_id"
    " LEFT JOIN unnest(%(unit_kinds)s::text[], %(unit_sectors)s::text[]) AS k(kind, sector)"
    "  ON k.kind = u.kind"
    " WHERE j.at >= %(since)s"
    " GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
)


async def rejection_counts(
    conn: psycopg.AsyncConnection[Any], *, since: datetime,
) -> list[RejectionCount]:
    """Refused messages since `since`, per provider, sector and reason."""
    async with conn.cursor(row_factory=class_row(RejectionCount)) as cur:
        await cur.execute(REJECTIONS, {
            "since": since, "unit_kinds": list(UNIT_KINDS),
            "unit_sectors": [info.sector for info in UNIT_KINDS.values()]})
        return await cur.fetchall()
