"""The consistency rules applied: to one message (refused or warned), in the OperationOutcome
that answers it, and as flags on the live figures of a location."""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from adapters import AdapterError, AdapterResult, MessageMeta, adapter_for, map_message
from adapters.base import Adapter
from api.availability_routes import _locations
from api.outcome import operation_outcome
from core.figures import LatestFigure
from core.refusals import RULE_SYSTEM
from definitions import load_catalogue
from stack.demo import HOSPITALS, hospital_figures, measure_report
from stack.demo_sectors import SITES, _nedocs, _site_messages
from storage.availability import LiveLocation
from storage.live_state import LiveFigure

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
ITEM_SYSTEM = "https://zorgcapaciteit.nl/fhir/CodeSystem/capacity-item"


def adapter(source_format: str) -> Adapter:
    found = adapter_for(source_format)
    assert found is not None
    return found


SANER = adapter("fhir-r4/MeasureReport")


def mapped(source_format: str, payload: Any, sector: str = "hospital") -> AdapterResult:
    chosen = adapter(source_format)
    meta = MessageMeta(uuid.UUID(int=3), "org-1", chosen.location_of(payload), NOW,
                       source_format, sector)
    return map_message(chosen, payload, meta)


def report(figures: dict[str, int | None], platform: dict[str, int] | None = None) -> Any:
    body = measure_report("loc-1", figures, NOW)
    for code, count in (platform or {}).items():
        body["group"][0]["population"].append(
            {"code": {"coding": [{"system": ITEM_SYSTEM, "code": code}]}, "count": count})
    return body


def test_the_5_9_7_ic_report_is_refused_naming_both_figures_and_the_rule() -> None:
    with pytest.raises(AdapterError) as caught:
        mapped("fhir-r4/MeasureReport",
               report({"numICUBeds": 5, "numICUBedsOcc": 9, "numICUBedsAvail": 7}))
    refusal = caught.value
    assert refusal.http_status == 422
    by_rule = {i.rule.id: i for i in refusal.issues if i.rule is not None}
    assert set(by_rule) == {"hospital.beds.ic.occupied-within-staffed",
                            "hospital.beds.ic.available-within-staffed-minus-occupied"}
    occupied = by_rule["hospital.beds.ic.occupied-within-staffed"]
    assert occupied.severity == "error" and occupied.code == "business-rule"
    # numICUBeds is population 0, numICUBedsOcc population 1, numICUBedsAvail population 2.
    assert occupied.expressions == ("MeasureReport.group[0].population[1].count",
                                    "MeasureReport.group[0].population[0].count")
    assert "hospital.beds.ic.occupied (9) is more than hospital.beds.ic.staffed (5)" in (
        occupied.diagnostics)
    assert by_rule["hospital.beds.ic.available-within-staffed-minus-occupied"].expressions == (
        "MeasureReport.group[0].population[2].count",
        "MeasureReport.group[0].population[1].count",
        "MeasureReport.group[0].population[0].count")


def test_the_operation_outcome_names_every_element_and_the_rule() -> None:
    with pytest.raises(AdapterError) as caught:
        mapped("fhir-r4/MeasureReport", report({"numICUBeds": 5, "numICUBedsOcc": 9}))
    [issue] = operation_outcome(caught.value.issues)["issue"]
    assert issue["severity"] == "error" and issue["code"] == "business-rule"
    assert issue["expression"] == ["MeasureReport.group[0].population[1].count",
                                   "MeasureReport.group[0].population[0].count"]
    assert issue["details"]["coding"] == [{"system": RULE_SYSTEM, "version": "1",
                                           "code": "hospital.beds.ic.occupied-within-staffed"}]
    assert issue["details"]["text"].startswith("Occupied beds are staffed beds")
    assert "hospital.beds.ic.occupied-within-staffed" in issue["diagnostics"]


def test_an_outcome_without_a_rule_is_as_before() -> None:
    with pytest.raises(AdapterError) as caught:
        mapped("fhir-r4/MeasureReport", report({"numICUBeds": -1}))
    [issue] = operation_outcome(caught.value.issues)["issue"]
    assert issue["expression"] == ["MeasureReport.group[0].population[0].count"]
    assert "details" not in issue


def test_a_warn_rule_accepts_the_report_with_a_warning() -> None:
    result = mapped("fhir-r4/MeasureReport",
                    report({"numICUBeds": 46, "numICUBedsOcc": 44},
                           {"hospital.beds.ic.total": 40}))
    assert len(result.observations) == 3
    [warning] = result.warnings
    assert warning.severity == "warning" and warning.rule is not None
    assert warning.rule.id == "hospital.beds.ic.staffed-within-total"
    assert warning.expressions == ("MeasureReport.group[0].population[0].count",
                                   "MeasureReport.group[0].population[2].count")


def test_not_reported_figures_are_never_compared() -> None:
    result = mapped("fhir-r4/MeasureReport",
                    report({"numICUBeds": None, "numICUBedsOcc": 9, "numICUBedsAvail": 7}))
    assert result.warnings == [] and len(result.observations) == 3


def test_the_nedocs_inputs_must_fit_together() -> None:
    body = {"location": "h-1", "observed_at": NOW.isoformat(), "ed_patients": 5,
            "ed_treatment_places": 10, "admitted_boarders": 7}
    with pytest.raises(AdapterError) as caught:
        mapped("json/nedocs", body)
    [issue] = caught.value.issues
    assert issue.expressions == ("body.admitted_boarders", "body.ed_patients")
    assert issue.rule is not None
    assert issue.rule.id == "hospital.seh.admitted_boarders-within-patients"


def test_the_demo_feed_keeps_every_rule() -> None:
    # `make run` pushes these and stops at the first refusal.
    rng = random.Random(1)
    at = NOW.isoformat()
    for _ in range(50):
        for hospital in HOSPITALS:
            body = measure_report(hospital.location_id, hospital_figures(hospital, rng), NOW)
            assert mapped("fhir-r4/MeasureReport", body).warnings == []
            assert mapped("json/nedocs", _nedocs(hospital.location_id, hospital.beds, rng, at))
        for site in SITES:
            for path, body in _site_messages(site, rng, at):
                source = next(a for a in (adapter_for(f) for f in (
                    "json/hap-status", "json/gp-consults", "json/vvt-beds", "json/vvt-status",
                    "json/ggz-status")) if a is not None and a.path == path)
                assert mapped(source.source_format, body, site.sector).warnings == []


# Flags on the live figures -------------------------------------------------------------------

def row(location: str, definition: str, value: float | None,
        minutes_ago: int = 0) -> LatestFigure:
    moment = NOW - timedelta(minutes=minutes_ago)
    return LatestFigure(location, location.title(), "org-1", "hospital", "west", 52.0, 4.5,
                        definition, 1, value, None, None if value is not None else "unknown",
                        moment, moment, "org-1")


RULES = load_catalogue().rules.in_force(NOW.date())


def located(rows: list[LatestFigure]) -> list[LiveLocation]:
    """`rows` as the live state gives them: one per location, its figures inside."""
    by_location: dict[str, list[LatestFigure]] = {}
    for r in rows:
        by_location.setdefault(r.location_id, []).append(r)
    return [LiveLocation(first.location_id, first.location_name, first.organization_id,
                         first.sector, first.roaz_region, first.latitude, first.longitude,
                         first.distance_km,
                         [LiveFigure(f.definition, f.definition_version, f.value, f.value_text,
                                     f.not_reported_reason, f.observed_at) for f in figures])
            for figures in by_location.values() for first in figures[:1]]


def flags(locations: list[Any]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    return {(loc.location_id, f.definition): [json.loads(flag.model_dump_json(by_alias=True))
                                             for flag in f.flags]
            for loc in locations for f in loc.figures}


def test_figures_of_different_messages_are_flagged_together() -> None:
    # Staffed an hour ago (another message), occupied now: together they do not add up.
    rows = [row("a", "hospital.beds.ic.occupied", 9), row("a", "hospital.beds.ic.staffed", 5, 60),
            row("a", "hospital.beds.ic.available", None),
            row("b", "hospital.beds.ic.occupied", 4), row("b", "hospital.beds.ic.staffed", 5)]
    found = flags(_locations(located(rows), NOW, RULES))
    [flag] = found[("a", "hospital.beds.ic.occupied")]
    assert flag == {
        "rule": "hospital.beds.ic.occupied-within-staffed", "rule_version": 1,
        "severity": "refuse", "with": ["hospital.beds.ic.staffed"],
        "message": flag["message"]}
    assert flag["message"].startswith(
        "hospital.beds.ic.occupied (9) is more than hospital.beds.ic.staffed (5)")
    assert [f["with"] for f in found[("a", "hospital.beds.ic.staffed")]] == [
        ["hospital.beds.ic.occupied"]]
    assert found[("a", "hospital.beds.ic.available")] == []  # not reported: never flagged
    assert found[("b", "hospital.beds.ic.occupied")] == []
    assert found[("b", "hospital.beds.ic.staffed")] == []


def test_items_read_only_to_compare_with_are_left_out() -> None:
    rows = [row("a", "hospital.beds.ic.available", 3), row("a", "hospital.beds.ic.staffed", 2),
            row("b", "hospital.beds.ic.staffed", 8)]
    locations = _locations(located(rows), NOW, RULES, shown={"hospital.beds.ic.available"})
    assert [(loc.location_id, [f.definition for f in loc.figures]) for loc in locations] == [
        ("a", ["hospital.beds.ic.available"])]
    [flag] = locations[0].figures[0].flags
    assert flag.rule == "hospital.beds.ic.available-within-staffed-minus-occupied"
    assert flag.with_items == ["hospital.beds.ic.staffed"]
