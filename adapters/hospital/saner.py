"""Hospital bed capacity as a FHIR R4 MeasureReport in the HL7 SANER style.

Each group population carries a SANER population code (`numTotBeds`, `numICUBedsOcc`, ...) next
to the generic measure-population code; older SANER drafts put that code on the group instead.
Codes are compared case-insensitively. A population with a data-absent-reason on its count is
"not reported", never 0. Populations with codes that have no definition here come back as
warnings, so one unknown code does not cost the provider the whole report.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fhir.resources.R4B.measurereport import MeasureReport

from adapters.base import (
    AdapterError,
    AdapterResult,
    Issue,
    MessageMeta,
    check_observed_at,
    check_value,
    error,
    observation,
    warning,
)
from adapters.fhir import data_absent_reason, reference_id, validate_resource
from core.messages import Observation
from definitions import load_catalogue

# Generic population roles of FHIR measures; they say nothing about what was counted.
GENERIC_POPULATION_CODES = frozenset({
    "initial-population", "numerator", "numerator-exclusion", "denominator",
    "denominator-exclusion", "denominator-exception", "measure-population",
    "measure-population-exclusion", "measure-observation",
})


def _codes(concept: Any) -> list[str]:
    if not isinstance(concept, dict):
        return []
    return [c["code"] for c in concept.get("coding", []) if isinstance(c.get("code"), str)]


def _population_code(group: dict[str, Any], population: dict[str, Any]) -> str | None:
    for code in _codes(population.get("code")) + _codes(group.get("code")):
        if code.lower() not in GENERIC_POPULATION_CODES:
            return code
    return None


def _observed_at(report: MeasureReport) -> datetime:
    moment = report.date or (report.period.end if report.period else None)
    if not isinstance(moment, datetime) or moment.tzinfo is None:
        raise AdapterError([error(
            "required", "MeasureReport.date",
            "the time of the figures must be given as a dateTime with time and timezone "
            "(MeasureReport.date, or else MeasureReport.period.end)",
        )])
    return moment


class SanerMeasureReportAdapter:
    """FHIR R4 MeasureReport (HL7 SANER) -> hospital capacity observations."""

    source_format = "fhir-r4/MeasureReport"
    sector = "hospital"

    def location_of(self, payload: dict[str, Any]) -> str:
        """The Location the report is about: `MeasureReport.subject`."""
        return reference_id(payload.get("subject"), "Location", "MeasureReport.subject")

    def parse(self, payload: dict[str, Any], meta: MessageMeta) -> AdapterResult:
        """Map every population with a known code to one observation."""
        report = validate_resource(MeasureReport, payload)
        observed_at = _observed_at(report)
        problems: list[Issue] = []
        if (late := check_observed_at(observed_at, meta, "MeasureReport.date")) is not None:
            problems.append(late)
        observations: list[Observation] = []
        for g, group in enumerate(payload.get("group", [])):
            for p, population in enumerate(group.get("population", [])):
                where = f"MeasureReport.group[{g}].population[{p}]"
                found = self._observation(group, population, where, observed_at, meta)
                if isinstance(found, Observation):
                    observations.append(found)
                elif found is not None:
                    problems.append(found)
        errors = [i for i in problems if i.severity == "error"]
        if errors:
            raise AdapterError(errors)
        if not observations:
            raise AdapterError([error(
                "required", "MeasureReport.group",
                "the report contains no population with a known capacity code",
            )])
        return AdapterResult(observations, [i for i in problems if i.severity == "warning"])

    def _observation(
        self, group: dict[str, Any], population: dict[str, Any], where: str,
        observed_at: datetime, meta: MessageMeta,
    ) -> Observation | Issue | None:
        code = _population_code(group, population)
        if code is None:
            return None
        catalogue = load_catalogue()
        item = catalogue.by_mapping("saner", code)
        definition = catalogue.get(item, observed_at.date()) if item else None
        if definition is None:
            return warning("not-supported", f"{where}.code", f"population code {code!r} has "
                           "no shared definition here; this population was not stored")
        absent = data_absent_reason(population.get("_count"))
        count = population.get("count")
        if count is None and absent is None:
            return error("required", f"{where}.count",
                         f"{code}: give a count, or a data-absent-reason if it is not known")
        if bad := check_value(definition, count, f"{where}.count"):
            return bad
        return observation(definition, count, meta, observed_at, absent)


ADAPTER = SanerMeasureReportAdapter()
