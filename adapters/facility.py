"""Facility information: FHIR R4 Organization and Location -> registry records.

Follows the Nictiz nl-core profiles: organisations identified by URA and/or AGB-Z, a Location
with address, position and managing organisation. Two platform extensions say which ROAZ region
the location belongs to and which sector (type of care) it serves.
"""

from __future__ import annotations

import re
from typing import Any

from fhir.resources.R4B.location import Location
from fhir.resources.R4B.organization import Organization

from adapters.base import AdapterError, Issue, error
from adapters.fhir import reference_id, validate_resource
from definitions import load_catalogue
from definitions.catalogue import SECTORS
from storage.facilities import LocationRecord, OrganizationRecord

URA_SYSTEM = "http://fhir.nl/fhir/NamingSystem/ura"
AGB_SYSTEM = "http://fhir.nl/fhir/NamingSystem/agb-z"
ROAZ_REGION_URL = "https://zorgcapaciteit.nl/fhir/StructureDefinition/roaz-region"
SECTOR_SYSTEM = "https://zorgcapaciteit.nl/fhir/CodeSystem/sector"
EIGHT_DIGITS = re.compile(r"^\d{8}$")


def _identifier(payload: dict[str, Any], system: str) -> tuple[int, str] | None:
    for i, identifier in enumerate(payload.get("identifier", [])):
        if identifier.get("system") == system and isinstance(identifier.get("value"), str):
            return i, identifier["value"]
    return None


def _check_eight_digits(found: tuple[int, str] | None, label: str) -> list[Issue]:
    if found is None or EIGHT_DIGITS.match(found[1]):
        return []
    return [error("value", f"Organization.identifier[{found[0]}].value",
                  f"a {label} number has exactly 8 digits, got {found[1]!r}")]


def organization_record(payload: dict[str, Any], resource_id: str) -> OrganizationRecord:
    """Validate an Organization; it needs a name and a URA or AGB-Z identifier."""
    org = validate_resource(Organization, payload)
    ura, agb = _identifier(payload, URA_SYSTEM), _identifier(payload, AGB_SYSTEM)
    issues = _check_eight_digits(ura, "URA") + _check_eight_digits(agb, "AGB-Z")
    if ura is None and agb is None:
        issues.append(error("required", "Organization.identifier",
                            f"identify the organisation by URA ({URA_SYSTEM}) or AGB-Z "
                            f"({AGB_SYSTEM})"))
    if not org.name:
        issues.append(error("required", "Organization.name", "an organisation needs a name"))
    if issues:
        raise AdapterError(issues)
    return OrganizationRecord(
        id=resource_id, name=str(org.name), ura=ura[1] if ura else None,
        agb=agb[1] if agb else None, resource={**payload, "id": resource_id},
    )


def _region(payload: dict[str, Any]) -> str | Issue:
    regions = load_catalogue().regions
    for i, extension in enumerate(payload.get("extension", [])):
        if extension.get("url") == ROAZ_REGION_URL:
            code = extension.get("valueCode")
            if code in regions:
                return str(code)
            return error("value", f"Location.extension[{i}].valueCode",
                         f"unknown ROAZ region {code!r}; one of {', '.join(sorted(regions))}")
    return error("required", "Location.extension",
                 f"give the ROAZ region as extension {ROAZ_REGION_URL} (valueCode)")


def _sector(payload: dict[str, Any]) -> str | Issue:
    for i, concept in enumerate(payload.get("type", [])):
        for j, coding in enumerate(concept.get("coding", [])):
            if coding.get("system") != SECTOR_SYSTEM:
                continue
            if coding.get("code") in SECTORS:
                return str(coding["code"])
            return error("value", f"Location.type[{i}].coding[{j}].code",
                         f"unknown sector {coding.get('code')!r}; one of {', '.join(SECTORS)}")
    return error("required", "Location.type",
                 f"give the sector as a Location.type coding of system {SECTOR_SYSTEM}")


def location_record(payload: dict[str, Any], resource_id: str) -> LocationRecord:
    """Validate a Location; it needs name, position, managing organisation, region and sector."""
    loc = validate_resource(Location, payload)
    issues: list[Issue] = []
    region, sector = _region(payload), _sector(payload)
    issues += [found for found in (region, sector) if isinstance(found, Issue)]
    if not loc.name:
        issues.append(error("required", "Location.name", "a location needs a name"))
    if loc.position is None:
        issues.append(error("required", "Location.position",
                            "give latitude and longitude (WGS84) for distance queries"))
    try:
        organization_id = reference_id(payload.get("managingOrganization"), "Organization",
                                       "Location.managingOrganization")
    except AdapterError as exc:
        issues += exc.issues
    if issues:
        raise AdapterError(issues)
    assert loc.position is not None and isinstance(region, str) and isinstance(sector, str)
    latitude, longitude = loc.position.latitude, loc.position.longitude
    assert latitude is not None and longitude is not None  # required by the R4 model
    return LocationRecord(
        id=resource_id, organization_id=organization_id, name=str(loc.name), sector=sector,
        roaz_region=region, latitude=float(latitude), longitude=float(longitude),
        resource={**payload, "id": resource_id},
    )
