"""Busyness per ROAZ region (ZCV, JSON): every busyness item rolled up across the region."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.access import ZCV, Access, PrincipalDep, add_route
from api.availability_routes import (
    FigureValue,
    Neighbours,
    Region,
    SectorFilter,
    category_codes,
    live_filters,
    number_as,
)
from api.deps import ConnDep
from api.ownership import read_scope
from core.busyness import RegionFigure, roll_up_all
from definitions import load_catalogue
from definitions.catalogue import Rollup
from storage.busyness import region_figures


class RegionItem(BaseModel):
    """One busyness item across the locations of one region."""

    definition: str
    label: str
    unit: str
    value_type: str
    rollup: str = Field(description="how locations combine: sum, latest or cumulative")
    value: FigureValue = Field(
        description="sum / cumulative: the sum of the reported values; latest: the value "
                    "observed last; null when no location reported one")
    locations_reporting: int
    locations_not_reported: int = Field(description="said they do not know (not 0)")
    stale_locations: int = Field(description="figures older than the freshness deadline")
    min: float | None = Field(description="lowest reported number (number items)")
    max: float | None = Field(description="highest reported number (number items)")
    counts: dict[str, int] = Field(
        description="code items (e.g. NEDOCS band): locations per reported code")
    oldest_observed_at: datetime | None


class RegionBusyness(BaseModel):
    """One ROAZ region and its busyness items (those any location there reports)."""

    region: str
    name: str
    items: list[RegionItem]


class RegionsBusynessResponse(BaseModel):
    """Busyness per region, as of `generated_at`."""

    generated_at: datetime
    regions: list[RegionBusyness]


def _rule(code: str) -> Rollup:
    definition = load_catalogue().get(code)
    return definition.rollup if definition else "latest"


def _item(figure: RegionFigure) -> RegionItem:
    definition = load_catalogue().get(figure.definition)
    value = figure.value if isinstance(figure.value, str) else number_as(definition,
                                                                         figure.value)
    return RegionItem(
        definition=figure.definition, label=definition.label.en if definition else "",
        unit=definition.unit if definition else "",
        value_type=definition.value_type if definition else "unknown", rollup=figure.rollup,
        value=value, locations_reporting=figure.locations_reporting,
        locations_not_reported=figure.locations_not_reported,
        stale_locations=figure.stale_locations, min=figure.min, max=figure.max,
        counts=figure.counts, oldest_observed_at=figure.oldest_observed_at,
    )


async def busyness_by_region(conn: ConnDep, principal: PrincipalDep, region: Region = None,
                             neighbours: Neighbours = False,
                             sector: SectorFilter = None) -> RegionsBusynessResponse:
    """Per ROAZ region (one, with its neighbours, or all ten) every busyness item combined by
    its roll-up rule across the region's locations, with how many locations reported, did not
    know, or are stale, the spread (min / max, or counts per code), and the oldest figure."""
    filters = live_filters(region=region, neighbours=neighbours, sector=sector)
    read_scope(principal, filters.regions)
    now = datetime.now(UTC)
    catalogue = load_catalogue()

    def is_stale(code: str, observed_at: datetime) -> bool:
        definition = catalogue.get(code)
        return definition.is_stale(observed_at, now) if definition else True

    rows = await region_figures(conn, definitions=category_codes("busyness"),
                                regions=filters.regions, sector=filters.sector)
    figures = roll_up_all(rows, _rule, is_stale)
    return RegionsBusynessResponse(generated_at=now, regions=[
        RegionBusyness(region=code, name=catalogue.regions[code].name,
                       items=[_item(f) for f in figures if f.roaz_region == code])
        for code in filters.regions or sorted(catalogue.regions)
    ])


def router() -> APIRouter:
    """Busyness per region: for ZCVs only, as region roll-ups span other providers."""
    built = APIRouter(prefix="/v1", tags=["Live capacity (care coordination)"])
    add_route(built, "/busyness/regions", busyness_by_region, methods=["GET"],
              response_model=RegionsBusynessResponse,
              rule=Access(ZCV, "read region busyness", "read"))
    return built
