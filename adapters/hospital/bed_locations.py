"""Bed status per bed, as a FHIR R4 Bundle of Location resources (counting: `beds.py`).

The Bundle (`type` collection or transaction) holds one Location per bed (`physicalType` `bd`)
with its `operationalStatus` (HL7 v2-0116) and `partOf` its ward; one Location per ward
(`physicalType` `wa`) with `partOf` the registered hospital Location and its bed category as a
`type` coding of `https://zorgcapaciteit.nl/fhir/CodeSystem/bed-category` (`ward`, `ic`, `mc`,
...: the categories of `hospital.beds.<category>.*`). A bed may also sit in a room (`ro`) whose
`partOf` is the ward. `Bundle.timestamp` is the moment the statuses were true.

Counting, per bed (the definitions say why: empty is not available):

| operationalStatus | total | staffed | occupied | available |
|---|---|---|---|---|
| O occupied | 1 | 1 | 1 | 0 |
| U unoccupied | 1 | 1 | 0 | 1 |
| H housekeeping, I isolated, K contaminated | 1 | 1 | 0 | 0 |
| C closed | 1 | 0 | 0 | 0 |

A bed Location with `status` suspended counts as closed whatever its operationalStatus; one with
`status` inactive is no longer in use and is not counted at all. The figures are reported per
ward (the ward's registered Location) and per category at the hospital, with inpatient totals
over all categories at the hospital. Only Locations belong in the Bundle: any other resource
(a Patient, say) is refused rather than kept in the raw message.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.location import Location

from adapters.base import (
    AdapterError,
    AdapterResult,
    Issue,
    MessageMeta,
    Payload,
    check_observed_at,
    error,
    json_object,
    parse_instant,
    warning,
)
from adapters.fhir import reference_id, validate_resource
from adapters.fhir_schema import CODEABLE_CONCEPT, CODING, bundle_of, reference_to
from adapters.figures import finish
from adapters.hospital.beds import BedCount, BedState, bed_categories, bed_figures, hospital_figures
from core.messages import Observation

BED_CATEGORY_SYSTEM = "https://zorgcapaciteit.nl/fhir/CodeSystem/bed-category"
PHYSICAL_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/location-physical-type"
BED_STATUS_SYSTEM = "http://terminology.hl7.org/CodeSystem/v2-0116"


# HL7 v2-0116 bed status. Housekeeping, isolated and contaminated beds are open and staffed,
# but a patient cannot be brought there now, so they are not available.
BED_STATUSES = {
    "O": BedState.OCCUPIED, "U": BedState.AVAILABLE, "C": BedState.CLOSED,
    "H": BedState.OPEN_NOT_AVAILABLE, "I": BedState.OPEN_NOT_AVAILABLE,
    "K": BedState.OPEN_NOT_AVAILABLE,
}


# --- the Bundle --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One Location of the Bundle, with where it sits (`Bundle.entry[i].resource`)."""

    where: str
    resource: dict[str, Any]

    @property
    def id(self) -> str | None:
        """The Location's id, if given."""
        value = self.resource.get("id")
        return value if isinstance(value, str) and value else None


@dataclass(frozen=True)
class Ward:
    """A ward of the hospital: its registered Location id and bed category."""

    id: str
    category: str


def _physical_type(resource: Mapping[str, Any]) -> str | None:
    # Also read before the Bundle is validated (`location_of`): any shape may come here.
    concept = resource.get("physicalType")
    codings = concept.get("coding") if isinstance(concept, dict) else None
    return next((c.get("code") for c in (codings if isinstance(codings, list) else [])
                 if isinstance(c, dict)
                 and c.get("system", PHYSICAL_TYPE_SYSTEM) == PHYSICAL_TYPE_SYSTEM), None)


def _parent(entry: Entry) -> str:
    return reference_id(entry.resource.get("partOf"), "Location", f"{entry.where}.partOf")


def _ward_entries(payload: Mapping[str, Any]) -> list[Entry]:
    entries = payload.get("entry")
    return [Entry(f"Bundle.entry[{i}].resource", e["resource"])
            for i, e in enumerate(entries if isinstance(entries, list) else [])
            if isinstance(e, dict) and isinstance(e.get("resource"), dict)
            and e["resource"].get("resourceType") == "Location"
            and _physical_type(e["resource"]) == "wa"]


def _observed_at(payload: Mapping[str, Any]) -> Issue | datetime:
    text = payload.get("timestamp")
    if not isinstance(text, str):
        return error("required", "Bundle.timestamp", "give the moment the bed statuses were "
                     "true as Bundle.timestamp (ISO 8601 with timezone)")
    try:
        return parse_instant(text, "Bundle.timestamp")
    except AdapterError as exc:
        return exc.issues[0]


def _validated(payload: dict[str, Any]) -> tuple[Bundle, datetime]:
    """The Bundle validated as FHIR R4, and its timestamp; every structural problem at once."""
    moment = _observed_at(payload)
    problems = [moment] if isinstance(moment, Issue) else []
    try:
        bundle = validate_resource(Bundle, payload)
    except AdapterError as exc:
        # Our word on the timestamp says more than the library's regex message.
        problems += [i for i in exc.issues if not (problems and i.expression == "Bundle.timestamp")]
        raise AdapterError(problems) from exc
    if isinstance(moment, Issue):
        raise AdapterError([moment])
    return bundle, moment


def _locations(payload: dict[str, Any], bundle: Bundle) -> tuple[list[Entry], list[Issue]]:
    """Every entry as a Location; anything else is an error."""
    found: list[Entry] = []
    problems: list[Issue] = []
    if payload.get("type") not in ("collection", "transaction"):
        problems.append(error("value", "Bundle.type", f"expected a collection or transaction "
                              f"Bundle, got {payload.get('type')!r}"))
    for i, (raw, parsed) in enumerate(zip(payload.get("entry", []), bundle.entry or [],
                                          strict=True)):
        where = f"Bundle.entry[{i}].resource"
        if parsed.resource is None:
            problems.append(error("required", where, "every entry carries a Location"))
        elif not isinstance(parsed.resource, Location):
            problems.append(error("not-supported", where, "a bed-status Bundle holds only "
                                  "Location resources (beds, rooms and wards), not "
                                  f"{parsed.resource.get_resource_type()}"))
        else:
            found.append(Entry(where, raw["resource"]))
    if not found and not problems:
        problems.append(error("required", "Bundle.entry", "the Bundle holds no Locations"))
    return found, problems


def _by_id(entries: Iterable[Entry]) -> tuple[dict[str, Entry], list[Issue]]:
    index: dict[str, Entry] = {}
    problems = []
    for entry in entries:
        if entry.id is None:
            problems.append(error("required", f"{entry.where}.id", "give every Location its id, "
                                  "so that a bed listed twice is recognised"))
        elif entry.id in index:
            problems.append(error("business-rule", f"{entry.where}.id", f"Location/{entry.id} "
                                  f"is already in {index[entry.id].where}"))
        else:
            index[entry.id] = entry
    return index, problems


def _category(entry: Entry) -> str | Issue:
    concepts = entry.resource.get("type", [])
    codes = {c.get("code") for concept in concepts for c in concept.get("coding", [])
             if c.get("system") == BED_CATEGORY_SYSTEM}
    known = ", ".join(sorted(bed_categories()))
    if len(codes) != 1:
        return error("required", f"{entry.where}.type", f"give the ward exactly one bed category "
                     f"as a type coding of system {BED_CATEGORY_SYSTEM}; one of {known}")
    code = codes.pop()
    if code not in bed_categories():
        return error("value", f"{entry.where}.type", f"unknown bed category {code!r}; one of "
                     f"{known}")
    return str(code)


def _ward(entry: Entry, hospital: str) -> Ward | Issue:
    try:
        parent = _parent(entry)
    except AdapterError as exc:
        return exc.issues[0]
    if parent != hospital:
        return error("business-rule", f"{entry.where}.partOf", f"every ward must be partOf "
                     f"Location/{hospital}, the hospital this Bundle reports on; got "
                     f"Location/{parent}")
    if entry.id == hospital:
        return error("business-rule", f"{entry.where}.id", "a ward needs a Location of its own, "
                     "not the hospital's")
    category = _category(entry)
    return category if isinstance(category, Issue) else Ward(str(entry.id), category)


def _bed_state(entry: Entry) -> BedState | Issue:
    where = f"{entry.where}.operationalStatus"
    status = entry.resource.get("operationalStatus")
    known = "O occupied, U unoccupied, C closed, H housekeeping, I isolated, K contaminated"
    if not isinstance(status, dict) or "code" not in status:
        return error("required", where, f"give the bed's operationalStatus (HL7 v2-0116: {known})")
    if status.get("system", BED_STATUS_SYSTEM) != BED_STATUS_SYSTEM:
        return error("value", where, f"the bed status must be coded in {BED_STATUS_SYSTEM}, "
                     f"got system {status.get('system')!r}")
    state = BED_STATUSES.get(status["code"])
    if state is None:
        return error("value", where, f"unknown bed status {status['code']!r}; one of {known}")
    # A suspended bed is out of use for now: whatever its status says, no patient can go there.
    return BedState.CLOSED if entry.resource.get("status") == "suspended" else state


class Hierarchy:
    """The wards and rooms of the Bundle, to find the ward a bed belongs to."""

    def __init__(self, index: Mapping[str, Entry], wards: Mapping[str, Ward]) -> None:
        self.index = index
        self.wards = wards

    def ward_of(self, bed: Entry) -> Ward | Issue | None:
        """The bed's ward: its partOf, or the partOf of the room it is in.

        None when that ward is in the Bundle but was refused: its own error says why, and a
        second one on each of its beds would only bury it.
        """
        try:
            parent_id = _parent(bed)
            parent = self.index.get(parent_id)
            if parent is not None and _physical_type(parent.resource) == "ro":
                parent_id = _parent(parent)
        except AdapterError as exc:
            return exc.issues[0]
        ward = self.wards.get(parent_id)
        refused = self.index.get(parent_id)
        if ward is None and refused is not None and _physical_type(refused.resource) == "wa":
            return None
        if ward is None:
            return error("not-found", f"{bed.where}.partOf", f"Location/{parent_id} is not a "
                         "ward Location (physicalType wa) in this Bundle, nor a room (ro) of "
                         "one: every bed must belong to a ward with a bed category")
        return ward


def _wards(entries: Iterable[Entry], hospital: str) -> tuple[dict[str, Ward], list[Issue]]:
    wards: dict[str, Ward] = {}
    problems = []
    for entry in entries:
        if _physical_type(entry.resource) != "wa":
            continue
        found = _ward(entry, hospital)
        if isinstance(found, Issue):
            problems.append(found)
        else:
            wards[found.id] = found
    return wards, problems


def _count_beds(
    entries: Iterable[Entry], hierarchy: Hierarchy,
) -> tuple[dict[str, BedCount], list[Issue]]:
    """Bed counts per ward id; wards without beds count zero."""
    counts = {ward_id: BedCount() for ward_id in hierarchy.wards}
    problems = []
    for entry in entries:
        if _physical_type(entry.resource) != "bd" or entry.resource.get("status") == "inactive":
            continue
        ward, state = hierarchy.ward_of(entry), _bed_state(entry)
        problems += [found for found in (ward, state) if isinstance(found, Issue)]
        if isinstance(ward, Ward) and isinstance(state, BedState):
            counts[ward.id].add(state)
    return counts, problems


def _unused(entries: Iterable[Entry], hospital: str) -> list[Issue]:
    return [warning("not-supported", f"{e.where}.physicalType", f"Location/{e.id} is not a bed "
                    "(bd), room (ro) or ward (wa); it was not used")
            for e in entries
            if _physical_type(e.resource) not in ("bd", "ro", "wa") and e.id != hospital]


def _figures(
    wards: Mapping[str, Ward], per_ward: Mapping[str, BedCount], meta: MessageMeta,
    observed_at: datetime,
) -> tuple[list[Observation], list[Issue]]:
    observations, problems = [], []
    per_category: dict[str, BedCount] = {}
    for ward_id, count in sorted(per_ward.items()):
        category = wards[ward_id].category
        found, bad = bed_figures({category: count}, meta, observed_at, "Bundle.entry", ward_id)
        observations += found
        problems += bad
        per_category.setdefault(category, BedCount()).include(count)
    found, bad = hospital_figures(per_category, meta, observed_at, "Bundle.entry")
    return observations + found, problems + bad


class BedLocationsAdapter:
    """FHIR R4 Bundle of bed and ward Locations -> bed counts per ward and per hospital."""

    source_format = "fhir-r4/Bundle-bed-locations"
    sector = "hospital"
    media_type = "application/fhir+json"
    path = "/fhir/bed-status"
    subject = "location"
    needs_mapping = False
    summary = "Push the status of every bed as a Bundle of FHIR Locations (bed, ward)"
    examples = Path(__file__).parent / "examples" / "bed-locations"

    def request_schema(self) -> dict[str, Any]:
        """A Bundle of Locations only: beds (physicalType bd, with operationalStatus) partOf
        their ward or room, wards (wa, with a bed-category type) partOf the hospital."""
        # The hospital itself (a site) may be in the Bundle too; only beds and wards count.
        location = {"type": "object", "required": ["resourceType", "physicalType"],
                    "properties": {
                        "resourceType": {"const": "Location"},
                        "status": {"enum": ["active", "suspended", "inactive"]},
                        "physicalType": CODEABLE_CONCEPT,
                        "operationalStatus": {**CODING, "description": "a bed's status, HL7 "
                                              "v2-0116: O, U, C, H, I or K"},
                        "type": {"type": "array", "items": CODEABLE_CONCEPT,
                                 "description": f"a ward's bed category ({BED_CATEGORY_SYSTEM})"},
                        "partOf": reference_to("Location", "a bed's ward or room, a ward's "
                                                           "hospital")}}
        return bundle_of("bed status: a Bundle of bed and ward Locations",
                         ["collection", "transaction"], location,
                         "when the statuses were true")

    def location_of(self, payload: Payload) -> str:
        """The hospital: the Location the first ward (physicalType wa) is partOf."""
        wards = _ward_entries(json_object(payload, "Bundle"))
        if not wards:
            raise AdapterError([error("required", "Bundle.entry", "the Bundle holds no ward "
                                      "Location (physicalType wa) partOf the hospital")])
        return _parent(wards[0])

    def parse(self, payload: Payload, meta: MessageMeta) -> AdapterResult:
        """Count the beds of every ward; figures per ward and per category at the hospital."""
        body = json_object(payload, "Bundle")
        bundle, observed_at = _validated(body)
        entries, problems = _locations(body, bundle)
        if (late := check_observed_at(observed_at, meta, "Bundle.timestamp")) is not None:
            problems.append(late)
        index, bad_ids = _by_id(entries)
        wards, bad_wards = _wards(entries, meta.location_id)
        per_ward, bad_beds = _count_beds(entries, Hierarchy(index, wards))
        problems += bad_ids + bad_wards + bad_beds
        if problems:
            raise AdapterError(problems)
        observations, bad_values = _figures(wards, per_ward, meta, observed_at)
        finished = finish(observations, bad_values, "Bundle.entry")
        return AdapterResult(finished, _unused(entries, meta.location_id))


ADAPTER = BedLocationsAdapter()
