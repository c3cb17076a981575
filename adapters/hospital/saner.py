"""Capacity as a FHIR R4 MeasureReport in the HL7 SANER style, for every sector.

Each group population carries a SANER population code (`numTotBeds`, `numICUBedsOcc`, ...) next
to the generic measure-population code; older SANER drafts put that code on the group instead.
Codes are compared case-insensitively. Sectors without SANER codes (VVT, GGZ) use the platform's
code system, whose codes are the definition codes themselves. A population with a
data-absent-reason on its count is "not reported", never 0. Populations with codes that have no
definition here come back as warnings, so one unknown code does not cost the provider the
whole report; a code of another sector than the location's is an error.
"""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fhir.resources.R4B.measurereport import MeasureReport

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
    warning,
)
from adapters.fhir import data_absent_reason, reference_id, validate_resource
from adapters.fhir_schema import CODEABLE_CONCEPT, DATE_TIME, reference_to, resource
from core.messages import Observation
from definitions import Definition, load_catalogue

CAPACITY_ITEM_SYSTEM = "https://zorgcapaciteit.nl/fhir/CodeSystem/capacity-item"
AMSTERDAM = ZoneInfo("Europe/Amsterdam")

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


def _platform_code(concept: Any) -> str | None:
    if not isinstance(concept, dict):
        return None
    return next((c["code"] for c in concept.get("coding", [])
                 if c.get("system") == CAPACITY_ITEM_SYSTEM and isinstance(c.get("code"), str)),
                None)


def _population_code(group: dict[str, Any], population: dict[str, Any]) -> str | None:
    for code in _codes(population.get("code")) + _codes(group.get("code")):
        if code.lower() not in GENERIC_POPULATION_CODES:
            return code
    return None


def _definition_of(group: dict[str, Any], population: dict[str, Any],
                   observed_at: datetime) -> tuple[str | None, Definition | None]:
    catalogue = load_catalogue()
    platform = _platform_code(population.get("code")) or _platform_code(group.get("code"))
    code = platform or _population_code(group, population)
    item = platform if platform else (catalogue.by_mapping("saner", code) if code else None)
    return code, (catalogue.get(item, observed_at.date()) if item else None)


def _observed_at(payload: dict[str, Any]) -> tuple[datetime, Issue | None]:
    """MeasureReport.date, else period.end. A date without a time (as in the SANER IG
    examples of daily reports) is taken as the start of that day in the Netherlands, with a
    warning, because the figures cannot be placed more precisely."""
    text = payload.get("date") or (payload.get("period") or {}).get("end")
    if isinstance(text, str) and len(text) == 10:
        day = date.fromisoformat(text)
        return datetime.combine(day, time(0), tzinfo=AMSTERDAM), warning(
            "value", "MeasureReport.date", f"{text} has no time: taken as 00:00 Europe/Amsterdam;"
            " send a dateTime with timezone for current figures")
    moment = datetime.fromisoformat(text.replace("Z", "+00:00")) if isinstance(text, str) else None
    if moment is None or moment.tzinfo is None:
        raise AdapterError([error(
            "required", "MeasureReport.date",
            "the time of the figures must be given as a dateTime with time and timezone "
            "(MeasureReport.date, or else MeasureReport.period.end)",
        )])
    return moment, None


class SanerMeasureReportAdapter:
    """FHIR R4 MeasureReport (HL7 SANER) -> capacity observations of any sector."""

    source_format = "fhir-r4/MeasureReport"
    sector = "any"
    media_type = "application/fhir+json"
    path = "/fhir/MeasureReport"
    subject = "location"
    needs_mapping = False
    summary = "Push capacity as a MeasureReport (HL7 SANER style)"
    examples = Path(__file__).parent / "examples" / "saner"

    def request_schema(self) -> dict[str, Any]:
        """The MeasureReport as taken: complete, about a registered Location, timed, with
        populations that carry a SANER or platform code and a count (or a data-absent-reason
        on `_count`)."""
        population = {"type": "object", "required": ["code"], "properties": {
            "code": CODEABLE_CONCEPT,
            "count": {"type": "integer", "description": "the figure"},
            "_count": {"type": "object", "description": "a data-absent-reason extension "
                                                        "when the figure is not known"}}}
        return resource("MeasureReport", "HL7 SANER style capacity report", [
            "status", "subject", "period", "group"], {
            "status": {"const": "complete", "description": "only complete reports are stored"},
            "type": {"enum": ["individual", "subject-list", "summary", "data-collection"]},
            "measure": {"type": "string", "description": "canonical URL of the measure"},
            "subject": reference_to("Location", "the registered Location the figures are of"),
            "date": {**DATE_TIME, "description": "when the figures were true (with time and "
                                                 "timezone; a date alone is taken as 00:00)"},
            "period": {"type": "object", "properties": {"start": DATE_TIME, "end": DATE_TIME},
                       "description": "period.end is the time of the figures when `date` is "
                                      "absent"},
            "reporter": reference_to("Organization", "the reporting organisation"),
            "group": {"type": "array", "minItems": 1, "items": {"type": "object", "properties": {
                "code": CODEABLE_CONCEPT,
                "population": {"type": "array", "items": population}}}},
        })

    def location_of(self, payload: Payload) -> str:
        """The Location the report is about: `MeasureReport.subject`."""
        body = json_object(payload, "MeasureReport")
        return reference_id(body.get("subject"), "Location", "MeasureReport.subject")

    def parse(self, payload: Payload, meta: MessageMeta) -> AdapterResult:
        """Map every population with a known code to one observation."""
        payload = json_object(payload, "MeasureReport")
        validate_resource(MeasureReport, payload)
        if payload.get("status") != "complete":
            raise AdapterError([error(
                "value", "MeasureReport.status",
                f"only a complete report is stored (status 'complete'), got "
                f"{payload.get('status')!r}: 'pending' figures are unfinished and 'error' "
                "ones are wrong")])
        observed_at, imprecise = _observed_at(payload)
        problems: list[Issue] = [imprecise] if imprecise else []
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

    def element_of(self, payload: Payload, figure: Observation) -> str | None:
        """The population that reported `figure` (the last one, as for a code sent twice):
        `MeasureReport.group[g].population[p].count`."""
        found = None
        for g, group in enumerate(json_object(payload, "MeasureReport").get("group", [])):
            for p, population in enumerate(group.get("population", [])):
                _, definition = _definition_of(group, population, figure.observed_at)
                if definition is not None and definition.code == figure.definition:
                    found = f"MeasureReport.group[{g}].population[{p}].count"
        return found

    def _observation(
        self, group: dict[str, Any], population: dict[str, Any], where: str,
        observed_at: datetime, meta: MessageMeta,
    ) -> Observation | Issue | None:
        code, definition = _definition_of(group, population, observed_at)
        if code is None:
            return None
        if definition is None:
            return warning("not-supported", f"{where}.code", f"population code {code!r} has "
                           "no shared definition here; this population was not stored")
        if definition.sector not in (meta.sector, "all"):
            return error("business-rule", f"{where}.code",
                         f"{code} is a {definition.sector} item; Location/{meta.location_id} "
                         f"is a {meta.sector} location")
        absent = data_absent_reason(population.get("_count"))
        count = population.get("count")
        if count is None and absent is None:
            return error("required", f"{where}.count",
                         f"{code}: give a count, or a data-absent-reason if it is not known")
        if bad := check_value(definition, count, f"{where}.count"):
            return bad
        return observation(definition, count, meta, observed_at, absent)


ADAPTER = SanerMeasureReportAdapter()
