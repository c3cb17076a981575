"""Loading and indexing the definition catalogue and the reference data."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

HERE = Path(__file__).resolve().parent
REFERENCE_FILES = {"regions.yaml"}
# The sectors of the acute care chain, as codes used in locations and definitions.
SECTORS = ("hospital", "hap", "gp-practice", "vvt", "ggz", "ambulance")


class Labels(BaseModel):
    """Dutch and English label of an item."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    nl: str = Field(min_length=1)
    en: str = Field(min_length=1)


class ValueRange(BaseModel):
    """Inclusive bounds a reported value must lie within."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    min: float
    max: float


class Definition(BaseModel):
    """One version of the definition of one capacity item."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
    version: int = Field(ge=1)
    effective_from: date
    sector: str
    category: Literal["facility", "available_capacity", "busyness", "location"]
    label: Labels
    definition: str = Field(min_length=10)
    value_type: Literal["count", "quantity", "boolean", "code", "duration"]
    unit: str
    range: ValueRange | None = None
    rollup: Literal["sum", "latest", "cumulative"]
    freshness_minutes: int = Field(ge=1)
    not_reported_allowed: bool
    mappings: dict[str, list[str]] = Field(default_factory=dict)

    @property
    def freshness_deadline(self) -> timedelta:
        """How old a figure may be before it is stale."""
        return timedelta(minutes=self.freshness_minutes)

    def is_stale(self, observed_at: datetime, now: datetime) -> bool:
        """True when a figure observed at `observed_at` is older than the freshness deadline."""
        return now - observed_at > self.freshness_deadline


class Region(BaseModel):
    """A ROAZ region."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    code: str
    name: str
    trauma_centre: str


class Catalogue:
    """All definition versions, indexed by code and by standard mapping."""

    def __init__(self, definitions: Iterable[Definition], regions: Iterable[Region]) -> None:
        self._versions: dict[str, list[Definition]] = {}
        for item in definitions:
            self._versions.setdefault(item.code, []).append(item)
        for versions in self._versions.values():
            versions.sort(key=lambda d: d.version)
        self._by_mapping = {
            (standard, code.lower()): item.code
            for item in self.current_all()
            for standard, codes in item.mappings.items()
            for code in codes
        }
        self.regions = {region.code: region for region in regions}

    def codes(self) -> list[str]:
        """Every item code, sorted."""
        return sorted(self._versions)

    def current_all(self) -> list[Definition]:
        """The newest version of every item."""
        return [versions[-1] for versions in self._versions.values()]

    def get(self, code: str, on: date | None = None) -> Definition | None:
        """The version of `code` in force on `on` (default: the newest), or None if unknown."""
        versions = self._versions.get(code)
        if not versions:
            return None
        if on is None:
            return versions[-1]
        in_force = [v for v in versions if v.effective_from <= on]
        return in_force[-1] if in_force else versions[0]

    def by_mapping(self, standard: str, code: str) -> str | None:
        """The item code a standard's code maps to, compared case-insensitively."""
        return self._by_mapping.get((standard, code.lower()))


def _read_yaml(path: Path) -> list[dict[str, object]]:
    loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(loaded, list):
        raise ValueError(f"{path.name}: expected a list of entries")
    return loaded


@lru_cache(maxsize=1)
def load_catalogue(folder: Path = HERE) -> Catalogue:
    """Load every definition file and the reference data from `folder`."""
    definitions = [
        Definition.model_validate(entry)
        for path in sorted(folder.glob("*.yaml"))
        if path.name not in REFERENCE_FILES
        for entry in _read_yaml(path)
    ]
    regions = [Region.model_validate(entry) for entry in _read_yaml(folder / "regions.yaml")]
    return Catalogue(definitions, regions)
