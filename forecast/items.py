"""Which items get a forecast, and how a region's figure of an item is made: pure rules read
from the definitions."""

from __future__ import annotations

from definitions import Catalogue, Definition
from forecast.bounds import Bounds

CATEGORIES = ("available_capacity", "busyness")
NUMERIC = ("count", "quantity")


def forecast_items(catalogue: Catalogue) -> list[Definition]:
    """Every numeric capacity or busyness item with a range (beds, NEDOCS, HAP uitloop, free
    consults, ambulances available, ...): the items a forecast is made of, where history is."""
    return [d for d in catalogue.current_all()
            if d.value_type in NUMERIC and d.category in CATEGORIES and d.range is not None]


def has_regional_forecast(definition: Definition) -> bool:
    """A region's figure follows the item's roll-up rule: summed over its locations for 'sum'
    items, which a forecast can follow. For 'latest' items (NEDOCS score, longest waits) the
    region's figure is whichever location reported last: no series to forecast, so those are
    forecast per location only."""
    return definition.rollup == "sum"


def bounds_of(definition: Definition, locations: int = 1) -> Bounds:
    """The range a forecast of the item stays in (a region: summed over its locations)."""
    assert definition.range is not None, definition.code
    own = Bounds(definition.range.min, definition.range.max, definition.value_type == "count")
    return own.scaled(locations) if locations > 1 else own
