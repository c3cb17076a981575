"""Free U3 and U4 consults of a GP practice, counted from its agenda: a FHIR R4 Bundle of
Schedules and Slots.

The Bundle's `timestamp` is the moment the agenda was read. Each `Schedule` has the practice
Location among its `actor`s (all Schedules of one bundle belong to that one Location); each
`Slot` points at a Schedule of the bundle (`schedule` is its `fullUrl` or `Schedule/<id>`) and
has a `status`, `start` and `end`. A slot is free capacity when its status is `free`, its
Schedule is not inactive and it starts at or after the timestamp: a slot that has already
started cannot be given to a patient triaged now. The counts follow the NTS urgencies:

- gp.consults.u3.free: free slots starting within [timestamp, timestamp + 3 h)
- gp.consults.u4.free: free slots starting within [timestamp, timestamp + 24 h), U3 ones included

Resources of other types are not read and come back as warnings.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.schedule import Schedule
from fhir.resources.R4B.slot import Slot

from adapters.base import (
    AdapterError,
    AdapterResult,
    Issue,
    MessageMeta,
    Payload,
    check_observed_at,
    check_value,
    error,
    json_object,
    observation,
    require_definition,
    warning,
)
from adapters.fhir import validate_resource
from adapters.fhir_schema import BUNDLE_TYPES, INSTANT, bundle_of
from core.messages import Observation
from core.planning import Agenda, AgendaSlot

SLOT_STATUSES = frozenset({"free", "busy", "busy-unavailable", "busy-tentative",
                           "entered-in-error"})
# NTS urgency -> (definition, how far ahead a free slot still serves a patient of that urgency)
WINDOWS = {
    "U3": ("gp.consults.u3.free", timedelta(hours=3)),
    "U4": ("gp.consults.u4.free", timedelta(hours=24)),
}
LOCATION_PREFIX = "Location/"


@dataclass(frozen=True)
class FreeSlot:
    """A free slot of an active Schedule: when it starts."""

    start: datetime


def free_slots_within(slots: list[FreeSlot], since: datetime, window: timedelta) -> int:
    """How many free slots start within [since, since + window): started ones do not count."""
    return sum(1 for slot in slots if since <= slot.start < since + window)


def _entry(i: int) -> str:
    return f"Bundle.entry[{i}].resource"


def _bundle(payload: Payload) -> Bundle:
    return validate_resource(Bundle, json_object(payload, "Bundle"))


def _resources(bundle: Bundle) -> list[tuple[int, str | None, Any]]:
    """(index, fullUrl, resource) of every entry."""
    return [(i, entry.fullUrl, entry.resource) for i, entry in enumerate(bundle.entry or [])]


def _location_ids(schedule: Schedule, where: str) -> set[str]:
    """The ids of the Locations among a Schedule's actors (practitioners may be there too)."""
    found = set()
    for actor in schedule.actor or []:
        reference = actor.reference or ""
        if reference.startswith(LOCATION_PREFIX) and len(reference) > len(LOCATION_PREFIX):
            found.add(reference[len(LOCATION_PREFIX):].split("/_history", 1)[0])
    if not found:
        raise AdapterError([error("required", f"{where}.actor", "a Schedule needs the practice "
                                  "Location among its actors ('Location/<id>')")])
    return found


def practice_location(bundle: Bundle) -> str:
    """The one Location all Schedules of the bundle belong to, or AdapterError."""
    locations: dict[str, int] = {}
    for i, _, resource in _resources(bundle):
        if isinstance(resource, Schedule):
            for location_id in _location_ids(resource, _entry(i)):
                locations.setdefault(location_id, i)
    if not locations:
        raise AdapterError([error("required", "Bundle.entry", "the bundle needs a Schedule whose "
                                  "actor is the practice Location")])
    if len(locations) > 1:
        where = ", ".join(f"Location/{loc} ({_entry(i)})" for loc, i in locations.items())
        raise AdapterError([error("business-rule", _entry(max(locations.values())) + ".actor",
                                  f"all Schedules of one bundle must belong to one practice "
                                  f"Location; found {where}")])
    return next(iter(locations))


def _schedule_keys(bundle: Bundle) -> dict[str, bool]:
    """How a Slot may refer to each Schedule (fullUrl, Schedule/<id>) -> whether it is active."""
    keys: dict[str, bool] = {}
    for _, full_url, resource in _resources(bundle):
        if isinstance(resource, Schedule):
            active = resource.active is not False
            if full_url:
                keys[full_url] = active
            if resource.id:
                keys[f"Schedule/{resource.id}"] = active
    return keys


def _schedule_active(slot: Slot, bundle: Bundle) -> bool:
    reference = slot.schedule.reference if slot.schedule else None
    return _schedule_keys(bundle).get(str(reference), False)


def _free_slot(slot: Slot, where: str, schedules: dict[str, bool]) -> FreeSlot | Issue | None:
    """The slot as free capacity, None when it is not, or the rule it breaks."""
    reference = slot.schedule.reference if slot.schedule else None
    if reference not in schedules:
        return error("not-found", f"{where}.schedule.reference",
                     f"{reference!r} is not a Schedule in this bundle: refer to it by its "
                     "fullUrl or as 'Schedule/<id>'")
    if slot.status not in SLOT_STATUSES:
        return error("value", f"{where}.status", f"slot status must be one of "
                     f"{', '.join(sorted(SLOT_STATUSES))}; got {slot.status!r}")
    start, end = slot.start, slot.end
    if start is None or end is None or end <= start:
        return error("value", f"{where}.end", "a slot must end after it starts")
    if slot.status != "free" or not schedules[str(reference)]:
        return None
    return FreeSlot(start)


def _slots(bundle: Bundle) -> tuple[list[FreeSlot], list[Issue]]:
    """The free slots, errors about slots, and warnings about resources that are not read."""
    schedules = _schedule_keys(bundle)
    free: list[FreeSlot] = []
    issues: list[Issue] = []
    for i, _, resource in _resources(bundle):
        if isinstance(resource, Slot):
            found = _free_slot(resource, _entry(i), schedules)
            if isinstance(found, FreeSlot):
                free.append(found)
            elif found is not None:
                issues.append(found)
        elif not isinstance(resource, Schedule):
            kind = resource.get_resource_type() if resource is not None else "an empty entry"
            issues.append(warning("not-supported", _entry(i), f"{kind} is not read here; "
                                  "only Schedule and Slot resources are"))
    return free, issues


def _observed_at(bundle: Bundle, meta: MessageMeta) -> datetime:
    if bundle.timestamp is None:
        raise AdapterError([error("required", "Bundle.timestamp", "give the moment the agenda "
                                  "was read as the Bundle timestamp (with timezone)")])
    moment: datetime = bundle.timestamp
    if (late := check_observed_at(moment, meta, "Bundle.timestamp")) is not None:
        raise AdapterError([late])
    return moment


def _counts(free: list[FreeSlot], observed_at: datetime, meta: MessageMeta,
            windows: dict[str, tuple[str, timedelta]]) -> tuple[list[Observation], list[Issue]]:
    observations, problems = [], []
    for code, window in windows.values():
        definition = require_definition(code, observed_at)
        count = free_slots_within(free, observed_at, window)
        if (bad := check_value(definition, count, "Bundle.entry")) is not None:
            problems.append(bad)
        else:
            observations.append(observation(definition, count, meta, observed_at))
    return observations, problems


class GpSlotsAdapter:
    """FHIR R4 Bundle of Schedules and Slots -> free U3 and U4 consults of a GP practice."""

    source_format = "fhir-r4/Bundle-slots"
    sector = "gp-practice"
    media_type = "application/fhir+json"
    path = "/fhir/consult-slots"
    subject = "location"
    needs_mapping = False
    summary = "Push a GP practice's agenda (Schedules and Slots); free U3/U4 consults are counted"
    examples = Path(__file__).parent / "examples" / "slots"
    # What is counted: item and how far ahead a free slot still serves (a HAP's differ).
    windows = WINDOWS

    def request_schema(self) -> dict[str, Any]:
        """A Bundle with a timestamp of Schedules (the practice Location among their actors)
        and Slots (schedule, status, start, end); other resources are not read."""
        slot = {"required": ["schedule", "status", "start", "end"], "properties": {
            "schedule": {"type": "object", "required": ["reference"],
                         "description": "the Schedule: its fullUrl or Schedule/<id>"},
            "status": {"enum": ["busy", "free", "busy-unavailable", "busy-tentative",
                                "entered-in-error"]},
            "start": INSTANT, "end": INSTANT}}
        schedule = {"required": ["actor"], "properties": {"actor": {
            "type": "array", "minItems": 1, "items": {"type": "object"},
            "description": "the practice Location among the actors"}}}
        entry = {"type": "object", "required": ["resourceType"], "allOf": [
            {"if": {"properties": {"resourceType": {"const": "Slot"}}}, "then": slot},
            {"if": {"properties": {"resourceType": {"const": "Schedule"}}}, "then": schedule}]}
        return bundle_of("a GP practice's agenda: Schedules and Slots", BUNDLE_TYPES, entry,
                         "when the agenda was read")

    def location_of(self, payload: Payload) -> str:
        """The practice Location that every Schedule's actor names."""
        return practice_location(_bundle(payload))

    def agenda(self, payload: Payload) -> Agenda:
        """The bookable view of a valid bundle (call after `parse` accepted it): every Slot
        with an id, by its id, as the planning module books them (docs/planning.md)."""
        bundle = _bundle(payload)
        slots = tuple(
            AgendaSlot(slot_id=resource.id, start_at=resource.start, end_at=resource.end,
                       status=str(resource.status) if _schedule_active(resource, bundle)
                       else "busy")
            for _, _, resource in _resources(bundle)
            if isinstance(resource, Slot) and resource.id and resource.start and resource.end)
        assert bundle.timestamp is not None
        return Agenda(practice_location(bundle), bundle.timestamp, slots)

    def parse(self, payload: Payload, meta: MessageMeta) -> AdapterResult:
        """Count the free slots starting within 3 and within 24 hours of the timestamp."""
        bundle = _bundle(payload)
        practice_location(bundle)
        observed_at = _observed_at(bundle, meta)
        free, issues = _slots(bundle)
        observations, problems = _counts(free, observed_at, meta, self.windows)
        errors = [i for i in issues + problems if i.severity == "error"]
        if errors:
            raise AdapterError(errors)
        return AdapterResult(observations, [i for i in issues if i.severity == "warning"])


ADAPTER = GpSlotsAdapter()
