"""Facility information: FHIR R4 Organization, Location and HealthcareService -> records.

Follows the Nictiz nl-core profiles: `nl-core-HealthcareProvider-Organization` (identified by
URA and/or AGB-Z) and `nl-core-HealthcareProvider` (a Location with address, position, telecom,
hours of operation and managing organisation). Platform extensions say which ROAZ region and
veiligheidsregio the location belongs to; a Location.type coding says its sector. Services offered
(type of care, opening hours as availableTime, contact) are HealthcareService resources.
"""

from __future__ import annotations

import re
from typing import Any

from fhir.resources.R4B.healthcareservice import HealthcareService
from fhir.resources.R4B.location import Location
from fhir.resources.R4B.organization import Organization

from adapters import fhir_schema
from adapters.base import AdapterError, Issue, error
from adapters.fhir import reference_id, validate_resource
from adapters.fhir_schema import SERVICE_AREA
from core.facilities import HealthcareServiceRecord, LocationRecord, OrganizationRecord
from definitions import load_catalogue
from definitions.catalogue import SECTORS

URA_SYSTEM = "http://fhir.nl/fhir/NamingSystem/ura"
AGB_SYSTEM = "http://fhir.nl/fhir/NamingSystem/agb-z"
ROAZ_REGION_URL = "https://zorgcapaciteit.nl/fhir/StructureDefinition/roaz-region"
SAFETY_REGION_URL = "https://zorgcapaciteit.nl/fhir/StructureDefinition/veiligheidsregio"
SECTOR_SYSTEM = "https://zorgcapaciteit.nl/fhir/CodeSystem/sector"
EIGHT_DIGITS = re.compile(r"^\d{8}$")
# The longest name of an organisation, location, service or mobile unit: a name is shown in a
# table cell of the ZCV console, not a document.
MAX_NAME_CHARS = 200


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


def _name_problem(name: Any, expression: str, what: str) -> Issue | None:
    if not name:
        return error("required", expression, f"{what} needs a name")
    if len(str(name)) > MAX_NAME_CHARS:
        return error("value", expression, f"a name of {len(str(name)):,} characters; at most "
                     f"{MAX_NAME_CHARS} are taken")
    return None


def _position_problems(latitude: float, longitude: float) -> list[Issue]:
    """Errors for a position outside the Netherlands and its border area."""
    problems = []
    for axis, value in (("latitude", latitude), ("longitude", longitude)):
        low, high = SERVICE_AREA[axis]
        if not low <= value <= high:
            problems.append(error(
                "value", f"Location.position.{axis}", f"{axis} {value:g} lies outside the "
                f"Netherlands and its border area ({low:g} to {high:g}); give WGS84 decimal "
                "degrees (latitude about 52, longitude about 5)"))
    return problems


def organization_record(payload: dict[str, Any], resource_id: str) -> OrganizationRecord:
    """Validate an Organization; it needs a name and a URA or AGB-Z identifier."""
    org = validate_resource(Organization, payload)
    ura, agb = _identifier(payload, URA_SYSTEM), _identifier(payload, AGB_SYSTEM)
    issues = _check_eight_digits(ura, "URA") + _check_eight_digits(agb, "AGB-Z")
    if ura is None and agb is None:
        issues.append(error("required", "Organization.identifier",
                            f"identify the organisation by URA ({URA_SYSTEM}) or AGB-Z "
                            f"({AGB_SYSTEM})"))
    if (bad_name := _name_problem(org.name, "Organization.name", "an organisation")):
        issues.append(bad_name)
    if issues:
        raise AdapterError(issues)
    return OrganizationRecord(
        id=resource_id, name=str(org.name), ura=ura[1] if ura else None,
        agb=agb[1] if agb else None, resource={**payload, "id": resource_id},
    )


def _extension_code(payload: dict[str, Any], url: str) -> tuple[int, Any] | None:
    for i, extension in enumerate(payload.get("extension", [])):
        if extension.get("url") == url:
            return i, extension.get("valueCode")
    return None


def _region(payload: dict[str, Any]) -> str | Issue:
    regions = load_catalogue().regions
    found = _extension_code(payload, ROAZ_REGION_URL)
    if found is None:
        return error("required", "Location.extension",
                     f"give the ROAZ region as extension {ROAZ_REGION_URL} (valueCode)")
    i, code = found
    if code in regions:
        return str(code)
    return error("value", f"Location.extension[{i}].valueCode",
                 f"unknown ROAZ region {code!r}; one of {', '.join(sorted(regions))}")


def _safety_region(payload: dict[str, Any], region: str | Issue) -> str | Issue | None:
    found = _extension_code(payload, SAFETY_REGION_URL)
    if found is None:
        return None
    i, code = found
    where = f"Location.extension[{i}].valueCode"
    known = load_catalogue().safety_regions.get(code)
    if known is None:
        return error("value", where, f"unknown veiligheidsregio {code!r}; vr01 ... vr25")
    if isinstance(region, str) and region not in (known.roaz_region, *known.also):
        return error("business-rule", where,
                     f"veiligheidsregio {code} ({known.name}) does not lie in ROAZ region "
                     f"{region}; it lies in {', '.join((known.roaz_region, *known.also))}")
    return str(code)


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
    safety_region = _safety_region(payload, region)
    issues += [found for found in (region, sector, safety_region) if isinstance(found, Issue)]
    if (bad_name := _name_problem(loc.name, "Location.name", "a location")):
        issues.append(bad_name)
    if loc.position is None:
        issues.append(error("required", "Location.position",
                            "give latitude and longitude (WGS84) for distance queries"))
    elif loc.position.latitude is not None and loc.position.longitude is not None:
        issues += _position_problems(float(loc.position.latitude),
                                     float(loc.position.longitude))
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
        veiligheidsregio=safety_region if isinstance(safety_region, str) else None,
    )


def healthcare_service_record(payload: dict[str, Any], resource_id: str) -> HealthcareServiceRecord:
    """Validate a HealthcareService; it needs a name, providedBy and at least one location."""
    service = validate_resource(HealthcareService, payload)
    issues: list[Issue] = []
    if (bad_name := _name_problem(service.name, "HealthcareService.name", "a service")):
        issues.append(bad_name)
    try:
        organization_id = reference_id(payload.get("providedBy"), "Organization",
                                       "HealthcareService.providedBy")
    except AdapterError as exc:
        issues += exc.issues
    locations: list[str] = []
    for i, ref in enumerate(payload.get("location", [])):
        try:
            locations.append(reference_id(ref, "Location", f"HealthcareService.location[{i}]"))
        except AdapterError as exc:
            issues += exc.issues
    if not payload.get("location"):
        issues.append(error("required", "HealthcareService.location",
                            "name the Location(s) where the service is offered"))
    if issues:
        raise AdapterError(issues)
    return HealthcareServiceRecord(
        id=resource_id, organization_id=organization_id, location_ids=locations,
        name=str(service.name), resource={**payload, "id": resource_id},
    )


def organization_schema() -> dict[str, Any]:
    """JSON Schema of an Organization as `organization_record` takes it."""
    return fhir_schema.organization_schema(URA_SYSTEM, AGB_SYSTEM)


def location_schema() -> dict[str, Any]:
    """JSON Schema of a Location as `location_record` takes it."""
    return fhir_schema.location_schema(ROAZ_REGION_URL, SAFETY_REGION_URL, SECTOR_SYSTEM)


def healthcare_service_schema() -> dict[str, Any]:
    """JSON Schema of a HealthcareService as `healthcare_service_record` takes it."""
    return fhir_schema.healthcare_service_schema()
