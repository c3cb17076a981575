"""The connected-provider overview for administrators: deliveries, freshness, rejections."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.availability_routes import SectorFilter, check_sector
from api.deps import ConnDep
from definitions import load_catalogue
from storage.providers import (
    ProviderDelivery,
    RejectionCount,
    provider_deliveries,
    rejection_counts,
)

router = APIRouter(prefix="/v1/admin", tags=["Administration"])
REJECTION_WINDOW = timedelta(hours=24)


class ProviderOverview(BaseModel):
    """One organisation in one sector."""

    organization_id: str
    name: str
    sector: str
    locations: int
    last_delivery: datetime | None = Field(description="newest message received from any of "
                                                       "its locations")
    items_reported: int = Field(description="distinct items among its latest figures")
    figures: int = Field(description="latest figures (location x item), not reported included")
    figures_fresh: int = Field(description="figures within their item's freshness deadline")
    figures_not_reported: int = Field(description="figures the provider said it does not know")
    fresh_share: float | None = Field(description="figures_fresh / figures; null without any")
    rejected_24h: dict[str, int] = Field(description="messages refused in the last 24 h, by "
                                                     "reason")


class ProvidersResponse(BaseModel):
    """All connected providers (in a sector), as of `generated_at`."""

    generated_at: datetime
    providers: list[ProviderOverview]


def _overview(row: ProviderDelivery, rejected: dict[str, int]) -> ProviderOverview:
    share = round(row.figures_fresh / row.figures, 3) if row.figures else None
    return ProviderOverview(
        organization_id=row.organization_id, name=row.organization_name, sector=row.sector,
        locations=row.locations, last_delivery=row.last_delivery,
        items_reported=row.items_reported, figures=row.figures,
        figures_fresh=row.figures_fresh, figures_not_reported=row.figures_not_reported,
        fresh_share=share, rejected_24h=rejected)


def rejections_by_provider(
    counts: list[RejectionCount],
) -> dict[tuple[str, str | None], dict[str, int]]:
    """Rejection counts keyed by (provider, sector), each a reason → count map."""
    result: dict[tuple[str, str | None], dict[str, int]] = defaultdict(dict)
    for count in counts:
        result[(count.provider, count.sector)][count.reason] = count.rejected
    return result


@router.get("/providers", response_model=ProvidersResponse)
async def providers(conn: ConnDep, sector: SectorFilter = None) -> ProvidersResponse:
    """Per organisation and sector: how many locations, when it last delivered, how many items
    it reports, the share of its latest figures that are fresh (not reported counts as a
    figure, and is also counted apart), and the messages refused in the last 24 h by reason."""
    check_sector(sector)
    now = datetime.now(UTC)
    freshness = {d.code: d.freshness_minutes for d in load_catalogue().current_all()}
    rows = await provider_deliveries(conn, freshness_minutes=freshness, sector=sector)
    rejected = rejections_by_provider(await rejection_counts(conn, since=now - REJECTION_WINDOW))
    return ProvidersResponse(generated_at=now, providers=[
        _overview(row, rejected.get((row.organization_id, row.sector), {})) for row in rows])
