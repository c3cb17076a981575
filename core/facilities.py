"""Facility records: organisations, their locations and services, as the FHIR facility
adapters make them and storage keeps them (one declaration for both)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class OrganizationRecord:
    """A care provider organisation (URA / AGB-Z identified)."""

    id: str
    name: str
    ura: str | None
    agb: str | None
    resource: dict[str, Any]


@dataclass(frozen=True)
class LocationRecord:
    """A place where care is given, with its region and position."""

    id: str
    organization_id: str
    name: str
    sector: str
    roaz_region: str
    latitude: float
    longitude: float
    resource: dict[str, Any]
    veiligheidsregio: str | None = None


@dataclass(frozen=True)
class HealthcareServiceRecord:
    """A service offered at one or more locations (type of care, opening hours, contact)."""

    id: str
    organization_id: str
    location_ids: list[str]
    name: str
    resource: dict[str, Any]
