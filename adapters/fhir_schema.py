"""JSON Schemas of the FHIR resources the platform takes, as it takes them.

Not the whole R4 resource (the adapters validate that with fhir.resources): the elements the
platform reads, with the rules it holds them to, and room for every other element
(`additionalProperties` stays open, as FHIR allows extensions and elements a reader ignores).
Built from the reference data where a rule names it (ROAZ regions, sectors), so the schema
changes with the data. `tests/unit/test_bodies.py` checks every example message against them.
"""

from __future__ import annotations

from typing import Any

from core.ids import ID_CHARS, ID_PATTERN
from definitions import load_catalogue
from definitions.catalogue import SECTORS

FHIR_ID = ID_PATTERN
# Where a location of Dutch acute care can lie (adapters/facility.py checks it; the Location
# schema says it): the European Netherlands (50.75-53.56 N, 3.36-7.23 E) with about 50 km
# to spare, so that a hospital just across the border that takes Dutch patients can be
# registered, and a swapped or mistyped coordinate cannot.
SERVICE_AREA = {"latitude": (50.25, 54.05), "longitude": (2.85, 7.75)}
# A FHIR dateTime: a year, a month, a day, or a moment with seconds and a timezone.
DATE_TIME = {"type": "string", "pattern": r"^\d{4}(-\d{2}(-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?"
                                          r"(Z|[+-]\d{2}:\d{2}))?)?)?$"}
INSTANT = {"type": "string", "format": "date-time",
           "description": "ISO 8601 with time and timezone"}
BUNDLE_TYPES = ["document", "message", "transaction", "transaction-response", "batch",
                "batch-response", "history", "searchset", "collection"]
CODING = {"type": "object", "properties": {"system": {"type": "string"},
                                           "code": {"type": "string"},
                                           "display": {"type": "string"}}}
CODEABLE_CONCEPT = {"type": "object", "properties": {"coding": {"type": "array",
                                                                "items": CODING},
                                                     "text": {"type": "string"}}}


def reference_to(resource_type: str, description: str) -> dict[str, Any]:
    """A literal reference `<resource_type>/<id>`."""
    return {"type": "object", "required": ["reference"], "description": description,
            "properties": {"reference": {"type": "string",
                                         "pattern": rf"^{resource_type}/{ID_CHARS}"
                                                    r"(/_history/.+)?$"},
                           "display": {"type": "string"}}}


def resource(resource_type: str, description: str, required: list[str],
             properties: dict[str, Any]) -> dict[str, Any]:
    """An object of `resource_type` with the elements the platform reads."""
    return {"type": "object", "title": resource_type, "description": description,
            "required": ["resourceType", *required],
            "properties": {"resourceType": {"const": resource_type},
                           "id": {"type": "string", "pattern": FHIR_ID}, **properties}}


def _coding_in(system: str, codes: list[str]) -> dict[str, Any]:
    return {"type": "object", "required": ["system", "code"],
            "properties": {"system": {"const": system}, "code": {"enum": codes}}}


def extension_with_code(url: str, codes: list[str]) -> dict[str, Any]:
    """An extension `url` whose `valueCode` is one of `codes`."""
    return {"type": "object", "required": ["url", "valueCode"],
            "properties": {"url": {"const": url}, "valueCode": {"enum": codes}}}


def organization_schema(ura_system: str, agb_system: str) -> dict[str, Any]:
    """An Organization as registered: a name, and a URA and/or AGB-Z number of 8 digits."""
    number = {"type": "object", "required": ["system", "value"],
              "properties": {"system": {"enum": [ura_system, agb_system]},
                             "value": {"type": "string", "pattern": r"^\d{8}$"}}}
    return resource("Organization", "nl-core-HealthcareProvider-Organization", ["name",
                                                                                  "identifier"], {
        "name": {"type": "string", "minLength": 1},
        "identifier": {"type": "array", "contains": number,
                       "items": {"type": "object", "properties": {
                           "system": {"type": "string"}, "value": {"type": "string"}}},
                       "description": f"a URA ({ura_system}) or AGB-Z ({agb_system}) number"},
    })


def location_schema(region_url: str, safety_region_url: str,
                    sector_system: str) -> dict[str, Any]:
    """A Location as registered: name, position, managing organisation, ROAZ region (an
    extension) and sector (a type coding)."""
    catalogue = load_catalogue()
    return resource("Location", "nl-core-HealthcareProvider: a place where care is given",
                    ["name", "position", "managingOrganization", "extension", "type"], {
        "name": {"type": "string", "minLength": 1},
        "position": {"type": "object", "required": ["latitude", "longitude"], "properties": {
            axis: {"type": "number", "minimum": low, "maximum": high}
            for axis, (low, high) in SERVICE_AREA.items()},
            "description": "WGS84, for distance queries: in the Netherlands or its border "
                           "area"},
        "managingOrganization": reference_to("Organization", "the registered organisation"),
        "extension": {"type": "array", "items": {"type": "object"},
                      "contains": extension_with_code(region_url, sorted(catalogue.regions)),
                      "description": f"the ROAZ region ({region_url}); optionally the "
                                     f"veiligheidsregio ({safety_region_url})"},
        "type": {"type": "array", "items": CODEABLE_CONCEPT,
                 "contains": {"type": "object", "required": ["coding"], "properties": {
                     "coding": {"type": "array",
                                "contains": _coding_in(sector_system, list(SECTORS))}}},
                 "description": f"the sector, as a coding of {sector_system}"},
    })


def healthcare_service_schema() -> dict[str, Any]:
    """A HealthcareService: name, providing organisation, and the location(s) it is at."""
    return resource("HealthcareService", "a service offered at one or more locations",
                    ["name", "providedBy", "location"], {
        "name": {"type": "string", "minLength": 1},
        "providedBy": reference_to("Organization", "the registered organisation"),
        "location": {"type": "array", "minItems": 1,
                     "items": reference_to("Location", "a registered location")},
        "availableTime": {"type": "array", "items": {"type": "object"},
                          "description": "opening hours"},
    })


def bundle_of(description: str, types: list[str], entry: dict[str, Any],
              timestamp_description: str) -> dict[str, Any]:
    """A Bundle of `types` with a timestamp, whose entries hold `entry` resources."""
    return resource("Bundle", description, ["type", "timestamp", "entry"], {
        "type": {"enum": types},
        "timestamp": {**INSTANT, "description": timestamp_description},
        "entry": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["resource"],
            "properties": {"fullUrl": {"type": "string"}, "resource": entry}}},
    })
