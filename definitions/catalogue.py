"""Loading and indexing the definition catalogue and its reference data.

Every YAML file directly in `definitions/` holds definition entries (validated against
`schemas/definition.schema.json` by `definitions.check`); `definitions/reference/` holds the
reference data (regions, vehicle statuses, urgencies).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from definitions.rules import RuleBook, load_rules, rule_files

HERE = Path(__file__).resolve().parent
REFERENCE = HERE / "reference"
# The sectors of the acute care chain, as codes used in locations and definitions.
SECTORS = ("hospital", "hap", "gp-practice", "vvt", "ggz", "ambulance")
ValueType = Literal["count", "quantity", "boolean", "code", "datetime", "text", "position"]
# How an item's figures of several locations (or of a time bucket) combine.
Rollup = Literal["sum", "latest", "cumulative"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Labels(_Frozen):
    """Dutch and English label of an item."""

    nl: str = Field(min_length=1)
    en: str = Field(min_length=1)


class ValueRange(_Frozen):
    """Inclusive bounds a reported value must lie within."""

    min: float
    max: float


class CodeValue(_Frozen):
    """One allowed value of a code item."""

    code: str
    label: str


class Definition(_Frozen):
    """One version of the definition of one capacity item (see the JSON Schema for meanings)."""

    code: str = Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
    version: int = Field(ge=1)
    effective_from: date
    change_note: str | None = None
    sector: Literal["hospital", "hap", "gp-practice", "vvt", "ggz", "ambulance", "all"]
    category: Literal["facility", "available_capacity", "busyness", "location"]
    label: Labels
    definition: str = Field(min_length=20)
    excludes: tuple[str, ...] = ()
    value_type: ValueType
    unit: str
    codes: tuple[CodeValue, ...] = ()
    range: ValueRange | None = None
    rollup: Rollup
    freshness_minutes: int = Field(ge=1)
    not_reported_allowed: bool
    derived: str | None = None
    mappings: dict[str, tuple[str, ...]] = Field(default_factory=dict)

    @property
    def freshness_deadline(self) -> timedelta:
        """How old a figure may be before it is stale."""
        return timedelta(minutes=self.freshness_minutes)

    def is_stale(self, observed_at: datetime, now: datetime) -> bool:
        """True when a figure observed at `observed_at` is older than the freshness deadline."""
        return now - observed_at > self.freshness_deadline

    def allowed_codes(self) -> frozenset[str]:
        """The values a code item may take."""
        return frozenset(c.code for c in self.codes)


class Region(_Frozen):
    """A ROAZ region and the regions it borders."""

    code: str
    name: str
    trauma_centre: str
    neighbours: tuple[str, ...]


class SafetyRegion(_Frozen):
    """A veiligheidsregio, which is also the region of one RAV (ambulance service)."""

    code: str
    number: int = Field(ge=1, le=25)
    name: str
    roaz_region: str
    also: tuple[str, ...] = ()
    centre: tuple[float, float]


def rav_location_id(safety_region: str) -> str:
    """The location id of a RAV region (a veiligheidsregio's ambulance service): 'rav-vr16'."""
    return f"rav-{safety_region}"


class VehicleStatus(_Frozen):
    """An LSIV vehicle status code."""

    code: str
    name: str
    nl: str
    available: bool
    deployed: bool


class Urgency(_Frozen):
    """An urgency class (ambulance or NTS)."""

    code: str
    name: str
    response_minutes: int | None = None
    within_minutes: int | None = None
    ambulance: bool | None = None


class Catalogue:
    """All definition versions, indexed by code and by standard mapping, the consistency rules
    between items (`rules`), and reference data."""

    def __init__(self, definitions: Iterable[Definition], regions: Iterable[Region] = (),
                 **reference: Any) -> None:
        self._versions: dict[str, list[Definition]] = {}
        for item in definitions:
            self._versions.setdefault(item.code, []).append(item)
        for versions in self._versions.values():
            versions.sort(key=lambda d: d.version)
        self._by_version = {(d.code, d.version): d for vs in self._versions.values() for d in vs}
        self._by_mapping = {
            (standard, code.lower()): item.code
            for item in self.current_all()
            for standard, codes in item.mappings.items()
            for code in codes
        }
        self.regions: dict[str, Region] = {r.code: r for r in regions}
        self.safety_regions: dict[str, SafetyRegion] = {
            r.code: r for r in reference.get("safety_regions", ())}
        self.vehicle_statuses: dict[str, VehicleStatus] = {
            s.code: s for s in reference.get("vehicle_statuses", ())}
        self.urgencies: dict[str, list[Urgency]] = reference.get("urgencies", {})
        self.rules: RuleBook = reference.get("rules") or RuleBook()

    def codes(self) -> list[str]:
        """Every item code, sorted."""
        return sorted(self._versions)

    def current_all(self) -> list[Definition]:
        """The newest version of every item."""
        return [versions[-1] for versions in self._versions.values()]

    def versions(self, code: str) -> list[Definition]:
        """Every version of an item, oldest first."""
        return list(self._versions.get(code, []))

    def get(self, code: str, on: date | None = None) -> Definition | None:
        """The version of `code` in force on `on` (default: the newest), or None if unknown.

        Before the first version's effective date the first version applies: a figure is never
        left without a definition because it predates the catalogue.
        """
        versions = self._versions.get(code)
        if not versions:
            return None
        if on is None:
            return versions[-1]
        in_force = [v for v in versions if v.effective_from <= on]
        return in_force[-1] if in_force else versions[0]

    def version(self, code: str, version: int) -> Definition | None:
        """One exact version of an item, or None."""
        return self._by_version.get((code, version))

    def by_mapping(self, standard: str, code: str) -> str | None:
        """The item code a standard's code maps to, compared case-insensitively."""
        return self._by_mapping.get((standard, code.lower()))


def read_yaml(path: Path) -> Any:
    """Parsed YAML of one file."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def definition_files(folder: Path = HERE) -> list[Path]:
    """The files that hold definition entries (rules and reference data live in subfolders)."""
    return sorted(folder.glob("*.yaml"))


@lru_cache(maxsize=4)
def load_catalogue(folder: Path = HERE) -> Catalogue:
    """Load every definition file, the rules and the reference data (validated by their
    models)."""
    definitions = [
        Definition.model_validate(entry)
        for path in definition_files(folder)
        for entry in read_yaml(path)
    ]
    reference = folder / "reference"
    urgencies = read_yaml(reference / "urgencies.yaml")
    return Catalogue(
        definitions,
        [Region.model_validate(r) for r in read_yaml(reference / "roaz_regions.yaml")],
        safety_regions=[SafetyRegion.model_validate(r)
                        for r in read_yaml(reference / "veiligheidsregios.yaml")],
        vehicle_statuses=[VehicleStatus.model_validate(s)
                          for s in read_yaml(reference / "vehicle_status.yaml")],
        urgencies={kind: [Urgency.model_validate(u) for u in items]
                   for kind, items in urgencies.items()},
        rules=load_rules(entry for path in rule_files(folder) for entry in read_yaml(path) or []),
    )
