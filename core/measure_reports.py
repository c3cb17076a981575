"""MeasureReports for a SANER Measure Consumer, built from the stored observations.

The platform stores figures, not the messages' shapes: a figure pushed as CSV, JSON or FHIR is
one observation. So a MeasureReport is made from observations, whatever format brought them:
one report per location, moment the figures were true, and measure. There are two measures,
one per category of items that are counts (a population counts something; statuses, yes/no
figures and quantities such as NEDOCS are on /v1/availability and /v1/busyness):

- `https://zorgcapaciteit.nl/fhir/Measure/available-capacity`: beds, places, consults, units
- `https://zorgcapaciteit.nl/fhir/Measure/busyness`: the busyness counts (SEH patients, queues)

Each population is coded with the platform's item code (and its SANER code where the item has
one), so a report can be pushed back to POST /fhir/MeasureReport as it is; a figure the
provider said it does not know is a `_count` with a data-absent-reason, never 0.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from definitions import load_catalogue

MEASURE_BASE = "https://zorgcapaciteit.nl/fhir/Measure/"
MEASURES = {"available_capacity": MEASURE_BASE + "available-capacity",
            "busyness": MEASURE_BASE + "busyness"}
CAPACITY_ITEM_SYSTEM = "https://zorgcapaciteit.nl/fhir/CodeSystem/capacity-item"
SANER_SYSTEM = "http://hl7.org/fhir/us/saner/CodeSystem/MeasurePopulationSystem"
DATA_ABSENT_REASON_URL = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"
# Report ids are derived, so the same figures are the same report on every page and server.
REPORT_NAMESPACE = uuid.UUID("6f1c2d1e-5b0e-4a59-9d3c-2a7f0c3e8b11")


@dataclass(frozen=True)
class ReportRecord:
    """The stored figures of one location at one moment for one measure."""

    location_id: str
    location_name: str
    organization_id: str
    observed_at: datetime
    measure: str
    definitions: list[str]
    versions: list[int]
    values: list[float | None]
    reasons: list[str | None]
    received_at: datetime


@lru_cache(maxsize=1)
def measure_items() -> dict[str, str]:
    """Every count item that is in a measure: item code → the measure's URL."""
    return {d.code: MEASURES[d.category] for d in load_catalogue().current_all()
            if d.category in MEASURES and d.value_type == "count"}


def items_of(measures: set[str] | None) -> dict[str, str]:
    """The items of the given measure URLs (None: of every measure)."""
    return {code: url for code, url in measure_items().items()
            if measures is None or url in measures}


def report_id(record: ReportRecord) -> str:
    """The report's logical id: the same for the same location, moment and measure."""
    key = f"{record.location_id}|{record.observed_at.isoformat()}|{record.measure}"
    return str(uuid.uuid5(REPORT_NAMESPACE, key))


def _codings(code: str, version: int) -> list[dict[str, Any]]:
    catalogue = load_catalogue()
    definition = catalogue.version(code, version) or catalogue.get(code)
    codings: list[dict[str, Any]] = [{"system": CAPACITY_ITEM_SYSTEM, "code": code,
                                      "version": str(version)}]
    if definition is not None:
        codings[0]["display"] = definition.label.en
        codings += [{"system": SANER_SYSTEM, "code": saner}
                    for saner in definition.mappings.get("saner", ())]
    return codings


def _population(code: str, version: int, value: float | None,
                reason: str | None) -> dict[str, Any]:
    population: dict[str, Any] = {"code": {"coding": _codings(code, version)}}
    if value is None:
        population["_count"] = {"extension": [{"url": DATA_ABSENT_REASON_URL,
                                               "valueCode": reason or "unknown"}]}
    else:
        population["count"] = int(value)
    return population


def measure_report(record: ReportRecord) -> dict[str, Any]:
    """An R4 MeasureReport (summary, complete) of the record's figures."""
    moment = record.observed_at.isoformat()
    return {
        "resourceType": "MeasureReport",
        "id": report_id(record),
        "meta": {"lastUpdated": record.received_at.isoformat()},
        "status": "complete",
        "type": "summary",
        "measure": record.measure,
        "subject": {"reference": f"Location/{record.location_id}",
                    "display": record.location_name},
        "date": moment,
        "reporter": {"reference": f"Organization/{record.organization_id}"},
        "period": {"start": moment, "end": moment},
        "group": [{"population": [
            _population(code, version, value, reason) for code, version, value, reason in zip(
                record.definitions, record.versions, record.values, record.reasons,
                strict=True)]}],
    }
