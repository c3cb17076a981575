"""The planning module's declarations (`reference/planning.yaml`), loaded and checked once:
the bed categories a hold may be placed on (with their default time to live), the consult
items a booking lowers, and the mobile-unit kinds a visit may be requested of."""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from core.mobile_units import UnitKind, sector_of
from definitions.catalogue import load_catalogue, read_yaml

PLANNING_FILE = Path(__file__).parent / "reference" / "planning.yaml"


class HoldCategory(BaseModel):
    """A bed category a ZCV may hold a place of."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    category: str
    available: str = Field(description="the item whose reported figure holds count against")
    sector: str
    ttl_minutes: int = Field(gt=0, le=24 * 60)

    @property
    def ttl(self) -> timedelta:
        """The default (and longest) time to live of a hold on this category."""
        return timedelta(minutes=self.ttl_minutes)


class ConsultWindow(BaseModel):
    """A free-consult item and how far ahead a slot counted in it starts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    item: str
    hours: int = Field(gt=0, le=48)


class VisitUnit(BaseModel):
    """A mobile-unit kind a visit may be requested of."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: UnitKind
    ttl_minutes: int = Field(gt=0, le=24 * 60)

    @property
    def sector(self) -> str:
        """The sector the unit belongs to (core/mobile_units.py declares it once)."""
        return sector_of(self.kind)

    @property
    def ttl(self) -> timedelta:
        """How long a visit request waits for the provider's answer."""
        return timedelta(minutes=self.ttl_minutes)


class Planning(BaseModel):
    """Everything `reference/planning.yaml` declares."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    hold_categories: tuple[HoldCategory, ...]
    consult_windows: tuple[ConsultWindow, ...]
    visit_units: tuple[VisitUnit, ...]

    def category(self, code: str) -> HoldCategory | None:
        """The hold category `code`, or None."""
        return next((c for c in self.hold_categories if c.category == code), None)

    def held_items(self) -> dict[str, HoldCategory]:
        """Each holdable category by the item its holds count against."""
        return {c.available: c for c in self.hold_categories}

    def metric_pairs(self) -> list[tuple[str, str]]:
        """Every (kind, sector) a planning request can be of: the metrics' label sets."""
        catalogue = load_catalogue()
        pairs: set[tuple[str, str]] = {
            ("appointment", str(d.sector)) for w in self.consult_windows
            if (d := catalogue.get(w.item)) is not None}
        pairs |= {("hold", c.sector) for c in self.hold_categories}
        pairs |= {("visit", u.sector) for u in self.visit_units}
        return sorted(pairs)

    def visit_unit(self, kind: str) -> VisitUnit | None:
        """A requestable unit kind; None when visits cannot be requested of it."""
        return next((u for u in self.visit_units if u.kind == kind), None)


@lru_cache(maxsize=1)
def load_planning(path: Path = PLANNING_FILE) -> Planning:
    """The planning declarations, validated."""
    return Planning.model_validate(read_yaml(path))
