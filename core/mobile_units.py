"""The kinds of mobile unit the platform tracks, declared once: the sector each belongs to, the
item its position is reported under, and how the console shows it.

Every other place (the API's models and queries, the OsmAnd adapter, the rejection overview's
SQL, the console's map) takes the kinds from here. The database's CHECK on `mobile_unit.kind`
(migration 0004) is a safety net that a test holds equal to this list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, get_args

UnitKind = Literal["ambulance", "hap-visit-car", "district-nurse"]


@dataclass(frozen=True)
class UnitKindInfo:
    """One kind of mobile unit."""

    kind: UnitKind
    sector: str  # the sector whose figures and messages the unit's belong to
    position_item: str  # the catalogue item its positions are reported under
    letter: str  # its marker on the console's map
    label: str  # its name on the console


UNIT_KINDS: dict[UnitKind, UnitKindInfo] = {info.kind: info for info in (
    UnitKindInfo("ambulance", "ambulance", "ambulance.vehicle.position", "A", "ambulance"),
    UnitKindInfo("hap-visit-car", "hap", "hap.visit_car.position", "H", "visit car"),
    UnitKindInfo("district-nurse", "vvt", "vvt.district_nurse.position", "W", "district nurse"),
)}
if set(UNIT_KINDS) != set(get_args(UnitKind)):  # pragma: no cover - a declaration error
    raise RuntimeError("UNIT_KINDS and UnitKind name different kinds")

# The kind of unit a sector's devices are (a sector has at most one kind).
KIND_OF_SECTOR: dict[str, UnitKind] = {info.sector: kind for kind, info in UNIT_KINDS.items()}


def sector_of(kind: UnitKind) -> str:
    """The sector a unit of `kind` belongs to."""
    return UNIT_KINDS[kind].sector


@dataclass(frozen=True)
class MobileUnit:
    """A registered mobile unit and who operates it (storage/units.py keeps them)."""

    id: str
    kind: UnitKind
    organization_id: str
    label: str
    roaz_region: str
    veiligheidsregio: str | None = None
    capabilities: list[str] = field(default_factory=list)
