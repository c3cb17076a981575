"""The SANER MeasureReport adapter: pure mapping, errors naming element and rule."""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from adapters import AdapterError, AdapterResult, MessageMeta, adapter_for
from stack.demo import measure_report

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
ADAPTER = adapter_for("fhir-r4/MeasureReport")
META = MessageMeta(uuid.UUID(int=1), "org-1", "loc-1", NOW, "fhir-r4/MeasureReport")


def parse(report: dict[str, object]) -> AdapterResult:
    assert ADAPTER is not None
    return ADAPTER.parse(report, META)


def test_maps_each_known_population_to_one_observation() -> None:
    report = measure_report("loc-1", {"numICUBeds": 30, "numICUBedsOcc": 25}, NOW)
    result = parse(report)
    values = {o.definition: o.value for o in result.observations}
    assert values == {"hospital.beds.ic.staffed": 30.0, "hospital.beds.ic.occupied": 25.0}
    first = result.observations[0]
    assert (first.location_id, first.provider, first.observed_at) == ("loc-1", "org-1", NOW)
    assert first.definition_version == 1 and first.raw_message_id == META.message_id
    assert result.warnings == []


def test_codes_are_compared_case_insensitively() -> None:
    report = measure_report("loc-1", {"NUMicuBEDSocc": 3}, NOW)
    assert [o.definition for o in parse(report).observations] == ["hospital.beds.ic.occupied"]


def test_data_absent_reason_is_not_reported_never_zero() -> None:
    report = measure_report("loc-1", {"numICUBedsAvail": None, "numICUBeds": 10}, NOW)
    by_code = {o.definition: o for o in parse(report).observations}
    absent = by_code["hospital.beds.ic.available"]
    assert absent.value is None and absent.not_reported_reason == "unsupported"
    assert by_code["hospital.beds.ic.staffed"].value == 10.0


def test_unknown_population_code_is_a_warning_not_a_rejection() -> None:
    report = measure_report("loc-1", {"numICUBeds": 10, "numC19HospPats": 4}, NOW)
    result = parse(report)
    assert [o.definition for o in result.observations] == ["hospital.beds.ic.staffed"]
    assert len(result.warnings) == 1
    warning = result.warnings[0]
    assert warning.severity == "warning" and "numC19HospPats" in warning.diagnostics
    assert warning.expression == "MeasureReport.group[0].population[1].code"


def test_older_saner_style_with_code_on_the_group_is_understood() -> None:
    report = measure_report("loc-1", {"numICUBeds": 10}, NOW)
    group = report["group"][0]
    group["code"] = {"coding": [{"code": "numICUBedsOcc"}]}
    group["population"] = [{"code": {"coding": [{"code": "initial-population"}]}, "count": 7}]
    assert [(o.definition, o.value) for o in parse(report).observations] == [
        ("hospital.beds.ic.occupied", 7.0)]


def test_parsing_twice_gives_the_same_observations() -> None:
    report = measure_report("loc-1", {"numICUBeds": 30, "numICUBedsAvail": None}, NOW)
    assert parse(copy.deepcopy(report)) == parse(report)


@pytest.mark.parametrize(("figures", "expression", "rule"), [
    ({"numICUBeds": -1}, "MeasureReport.group[0].population[0].count", "must lie within"),
    ({"numICUBeds": 9000}, "MeasureReport.group[0].population[0].count", "must lie within"),
])
def test_out_of_range_is_refused_naming_the_element(
    figures: dict[str, int], expression: str, rule: str,
) -> None:
    with pytest.raises(AdapterError) as caught:
        parse(measure_report("loc-1", figures, NOW))
    issue = caught.value.issues[0]
    assert issue.expression == expression and rule in issue.diagnostics


def test_malformed_fhir_is_refused_with_the_path() -> None:
    report = measure_report("loc-1", {"numICUBeds": 3}, NOW)
    report["group"][0]["population"][0]["count"] = "three"
    with pytest.raises(AdapterError) as caught:
        parse(report)
    assert caught.value.issues[0].expression == "MeasureReport.group[0].population[0].count"


def test_a_count_that_is_missing_without_reason_is_refused() -> None:
    report = measure_report("loc-1", {"numICUBeds": 3}, NOW)
    del report["group"][0]["population"][0]["count"]
    with pytest.raises(AdapterError) as caught:
        parse(report)
    assert "data-absent-reason" in caught.value.issues[0].diagnostics


def test_future_observation_time_is_refused() -> None:
    report = measure_report("loc-1", {"numICUBeds": 3}, NOW + timedelta(hours=1))
    with pytest.raises(AdapterError) as caught:
        parse(report)
    assert caught.value.issues[0].code == "business-rule"
    assert "future" in caught.value.issues[0].diagnostics


def test_time_without_timezone_is_refused() -> None:
    report = measure_report("loc-1", {"numICUBeds": 3}, NOW)
    report["date"] = "2026-11-22T10:00:00"
    with pytest.raises(AdapterError) as caught:
        parse(report)
    assert caught.value.issues[0].expression == "MeasureReport.date"


def test_a_date_without_time_is_the_start_of_that_dutch_day_with_a_warning() -> None:
    report = measure_report("loc-1", {"numICUBeds": 3}, NOW)
    report["date"] = "2026-11-21"
    report["period"] = {"start": "2026-11-21", "end": "2026-11-21"}
    result = parse(report)
    assert result.observations[0].observed_at.isoformat() == "2026-11-21T00:00:00+01:00"
    assert "taken as 00:00 Europe/Amsterdam" in result.warnings[0].diagnostics


def test_a_report_without_any_known_population_is_refused() -> None:
    with pytest.raises(AdapterError) as caught:
        parse(measure_report("loc-1", {"numC19Died": 1}, NOW))
    assert caught.value.issues[0].expression == "MeasureReport.group"


def test_subject_must_reference_a_location() -> None:
    assert ADAPTER is not None
    assert ADAPTER.location_of({"subject": {"reference": "Location/abc"}}) == "abc"
    with pytest.raises(AdapterError) as caught:
        ADAPTER.location_of({"subject": {"reference": "Patient/1"}})
    assert caught.value.issues[0].expression == "MeasureReport.subject.reference"


def test_a_figure_is_named_by_the_population_that_reported_it() -> None:
    """What a consistency rule's refusal names (`element_of`); a code sent twice is named at
    its last population, the one whose figure was kept."""
    report = measure_report("loc-1", {"numICUBeds": 30, "numICUBedsOcc": 25, "numbeds": 9},
                            NOW)
    report["group"].append(copy.deepcopy(report["group"][0]))
    report["group"][1]["population"] = report["group"][1]["population"][1:2]  # numICUBedsOcc
    assert ADAPTER is not None
    staffed, occupied = (next(o for o in parse(report).observations if o.definition == code)
                         for code in ("hospital.beds.ic.staffed", "hospital.beds.ic.occupied"))
    element_of = ADAPTER.element_of  # type: ignore[attr-defined]
    assert element_of(report, staffed) == "MeasureReport.group[0].population[0].count"
    assert element_of(report, occupied) == "MeasureReport.group[1].population[0].count"
    elsewhere = staffed.model_copy(update={"definition": "hospital.beds.ward.occupied"})
    assert element_of(report, elsewhere) is None


def _refusal(report: dict[str, object]) -> list[tuple[str, str, str]]:
    with pytest.raises(AdapterError) as caught:
        parse(report)
    return [(i.expression, i.code, i.diagnostics) for i in caught.value.issues]


def test_without_a_date_the_end_of_the_period_is_the_time_of_the_figures() -> None:
    report = measure_report("loc-1", {"numICUBeds": 3}, NOW)
    del report["date"]
    report["period"] = {"start": "2026-11-22T10:00:00Z", "end": "2026-11-22T11:00:00Z"}
    result = parse(report)
    assert result.observations[0].observed_at == datetime(2026, 11, 22, 11, tzinfo=UTC)
    assert result.warnings == []
    del report["period"]["end"]
    assert _refusal(report) == [(
        "MeasureReport.date", "required", "the time of the figures must be given as a dateTime "
        "with time and timezone (MeasureReport.date, or else MeasureReport.period.end)")]


def test_the_refusals_and_warnings_a_sender_reads_are_exact() -> None:
    """Element, FHIR issue type and the whole text, for what the examples do not show."""
    report = measure_report("loc-1", {"numICUBeds": 3}, NOW)
    report["date"] = "2026-11-21"
    report["period"] = {"start": "2026-11-21", "end": "2026-11-21"}
    assert [(w.expression, w.code, w.diagnostics) for w in parse(report).warnings] == [(
        "MeasureReport.date", "value", "2026-11-21 has no time: taken as 00:00 "
        "Europe/Amsterdam; send a dateTime with timezone for current figures")]
    pending = measure_report("loc-1", {"numICUBeds": 3}, NOW)
    pending["status"] = "pending"
    assert _refusal(pending) == [(
        "MeasureReport.status", "value", "only a complete report is stored (status "
        "'complete'), got 'pending': 'pending' figures are unfinished and 'error' ones are wrong")]
    assert _refusal(measure_report("loc-1", {"numC19Died": 1}, NOW)) == [(
        "MeasureReport.group", "required",
        "the report contains no population with a known capacity code")]
    counted = measure_report("loc-1", {"numICUBeds": 3}, NOW)
    del counted["group"][0]["population"][0]["count"]
    assert _refusal(counted) == [(
        "MeasureReport.group[0].population[0].count", "required",
        "numICUBeds: give a count, or a data-absent-reason if it is not known")]
    unknown = parse(measure_report("loc-1", {"numUnicorn": 3, "numICUBeds": 2}, NOW))
    assert [(w.expression, w.code, w.diagnostics) for w in unknown.warnings] == [(
        "MeasureReport.group[0].population[0].code", "not-supported",
        "population code 'numUnicorn' has no shared definition here; this population was not "
        "stored")]
