"""The hospital adapters' refusals and mappings that no example reached (found by mutmut).

Bed-status Bundles (`fhir-r4/Bundle-bed-locations`), SANER MeasureReports, the NEDOCS inputs and
the SEH status: each test is a message a provider could send, and the exact refusal (element,
FHIR issue type, text) or mapping it must get.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from adapters import AdapterResult, MessageMeta
from adapters.base import Payload
from adapters.hospital.bed_locations import (
    ADAPTER as BEDS,
)
from adapters.hospital.bed_locations import (
    BED_CATEGORY_SYSTEM,
    BED_STATUS_SYSTEM,
    PHYSICAL_TYPE_SYSTEM,
)
from adapters.hospital.beds import bed_categories
from adapters.hospital.nedocs import ADAPTER as NEDOCS
from adapters.hospital.nedocs import nedocs_score
from adapters.hospital.saner import ADAPTER as SANER
from adapters.hospital.saner import CAPACITY_ITEM_SYSTEM
from adapters.hospital.seh_status import ADAPTER as SEH
from tests.adapter_calls import Refusal, refusal

RECEIVED = datetime(2026, 11, 22, 13, 0, tzinfo=UTC)
HOSPITAL = "alrijne-leiderdorp"


def _meta(source_format: str, location: str = HOSPITAL, sector: str = "hospital") -> MessageMeta:
    return MessageMeta(uuid.UUID(int=7), "provider-x", location, RECEIVED, source_format, sector,
                       {})


def _parse(adapter: Any, payload: Payload, location: str = HOSPITAL,
           sector: str = "hospital") -> AdapterResult:
    result: AdapterResult = adapter.parse(payload, _meta(adapter.source_format, location, sector))
    return result


def _refusal(adapter: Any, payload: Payload, location: str = HOSPITAL,
             sector: str = "hospital") -> Refusal:
    return refusal(_parse, adapter, payload, location, sector)


def _values(result: AdapterResult) -> dict[tuple[str, str], Any]:
    return {(o.definition, o.location_id): o.value for o in result.observations}


# --- bed-status Bundles --------------------------------------------------------------------------


def _location(id_: str | None, kind: str | None, part_of: str | None = None,
              **extra: Any) -> dict[str, Any]:
    resource: dict[str, Any] = {"resourceType": "Location", **({"id": id_} if id_ else {})}
    if kind is not None:
        resource["physicalType"] = {"coding": [{"system": PHYSICAL_TYPE_SYSTEM, "code": kind}]}
    if part_of is not None:
        resource["partOf"] = {"reference": f"Location/{part_of}"}
    return {**resource, **extra}


def _ward(id_: str, category: str = "ic", part_of: str | None = HOSPITAL,
          **extra: Any) -> dict[str, Any]:
    kind = [{"coding": [{"system": BED_CATEGORY_SYSTEM, "code": category}]}]
    return _location(id_, "wa", part_of, **{"type": kind, **extra})


def _bed(id_: str | None, ward: str, code: str = "U", **extra: Any) -> dict[str, Any]:
    status = {"system": BED_STATUS_SYSTEM, "code": code}
    return _location(id_, "bd", ward, **{"operationalStatus": status, **extra})


def _bundle(*resources: dict[str, Any], timestamp: str = "2026-11-22T13:45:00+01:00",
            **extra: Any) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "collection", "timestamp": timestamp,
            "entry": [{"resource": r} for r in resources], **extra}


def test_locations_other_than_beds_rooms_and_wards_are_reported_as_unused() -> None:
    """A building, or a Location without physicalType, is not counted and said so; the
    hospital's own Location is expected and passes silently."""
    bundle = _bundle(_location(HOSPITAL, "si"), _ward("w-ic"), _bed("bed-1", "w-ic"),
                     _location("building-a", "bu", HOSPITAL), _location("annex", None))
    result = _parse(BEDS, bundle)
    assert [(i.expression, i.code, i.diagnostics, i.severity) for i in result.warnings] == [
        ("Bundle.entry[3].resource.physicalType", "not-supported",
         "Location/building-a is not a bed (bd), room (ro) or ward (wa); it was not used",
         "warning"),
        ("Bundle.entry[4].resource.physicalType", "not-supported",
         "Location/annex is not a bed (bd), room (ro) or ward (wa); it was not used", "warning"),
    ]
    assert _values(result)[("hospital.beds.ic.available", "w-ic")] == 1


def test_a_physical_type_coding_without_system_is_taken_as_hl7s() -> None:
    ward = _ward("w-ic")
    ward["physicalType"] = {"coding": [{"code": "wa"}]}
    bundle = _bundle(ward, _bed("bed-1", "w-ic"))
    assert BEDS.location_of(bundle) == HOSPITAL
    assert _values(_parse(BEDS, bundle))[("hospital.beds.ic.total", "w-ic")] == 1


def test_a_physical_type_of_another_code_system_is_not_a_ward() -> None:
    other = _location("elsewhere-ward", None, "elsewhere")
    other["physicalType"] = {"coding": [{"system": "https://example.org/kinds", "code": "wa"}]}
    assert BEDS.location_of(_bundle(other, _ward("w-ic"))) == HOSPITAL


def test_the_hospital_is_found_before_validation_whatever_the_codings_hold() -> None:
    ward = _ward("w-ic")
    ward["physicalType"]["coding"].insert(0, "wa")
    assert BEDS.location_of(_bundle(ward)) == HOSPITAL


@pytest.mark.parametrize("payload", [[], "Bundle", None])
@pytest.mark.parametrize(("adapter", "resource"), [(BEDS, "Bundle"), (SANER, "MeasureReport")])
def test_a_message_that_is_not_a_json_object_is_refused(adapter: Any, resource: str,
                                                        payload: Payload) -> None:
    """By the adapter's first look (`location_of`) and by its parse, in the same words."""
    wanted = [(resource, "structure", f"expected a JSON object for {resource}")]
    assert refusal(adapter.location_of, payload) == wanted
    assert _refusal(adapter, payload) == wanted


def test_a_timestamp_without_timezone_is_refused_once_in_our_words() -> None:
    bundle = _bundle(_ward("w-ic"), _bed("bed-1", "w-ic"), timestamp="2026-11-22T13:45:00")
    assert _refusal(BEDS, bundle) == [
        ("Bundle.timestamp", "invalid", "give a timezone (e.g. +01:00 or Z) in "
                                        "'2026-11-22T13:45:00'")]


def test_a_bad_timestamp_does_not_hide_the_bundles_other_structural_errors() -> None:
    bundle = _bundle(_ward("w-ic"), timestamp="2026-11-22T13:45:00", unknown_element=1)
    refusal = _refusal(BEDS, bundle)
    assert refusal[0] == ("Bundle.timestamp", "invalid",
                          "give a timezone (e.g. +01:00 or Z) in '2026-11-22T13:45:00'")
    assert [where for where, _, _ in refusal[1:]] == ["Bundle.unknown_element"]


def test_a_bundle_without_entries_is_refused() -> None:
    bundle = _bundle()
    del bundle["entry"]
    assert _refusal(BEDS, bundle) == [("Bundle.entry", "required", "the Bundle holds no Locations")]


def test_a_location_without_id_is_refused() -> None:
    assert _refusal(BEDS, _bundle(_ward("w-ic"), _bed(None, "w-ic"))) == [
        ("Bundle.entry[1].resource.id", "required",
         "give every Location its id, so that a bed listed twice is recognised")]


def test_a_bed_listed_twice_is_refused() -> None:
    bundle = _bundle(_ward("w-ic"), _bed("bed-1", "w-ic"), _bed("bed-1", "w-ic", "O"))
    assert _refusal(BEDS, bundle) == [
        ("Bundle.entry[2].resource.id", "business-rule",
         "Location/bed-1 is already in Bundle.entry[1].resource")]


def test_a_ward_type_without_coding_has_no_bed_category() -> None:
    ward = _ward("w-ic", type=[{"text": "Intensive Care"}])
    known = ", ".join(sorted(bed_categories()))
    assert _refusal(BEDS, _bundle(ward, _bed("bed-1", "w-ic"))) == [
        ("Bundle.entry[0].resource.type", "required",
         "give the ward exactly one bed category as a type coding of system "
         f"{BED_CATEGORY_SYSTEM}; one of {known}")]


def test_a_second_ward_without_part_of_is_refused() -> None:
    bundle = _bundle(_ward("w-ic"), _ward("w-mc", "mc", part_of=None), _bed("bed-1", "w-ic"))
    assert _refusal(BEDS, bundle) == [
        ("Bundle.entry[1].resource.partOf.reference", "required",
         "must be a literal reference 'Location/<id>' to a registered Location")]


def test_a_ward_of_another_hospital_is_refused() -> None:
    bundle = _bundle(_ward("w-ic"), _ward("w-mc", "mc", part_of="other-hospital"))
    assert _refusal(BEDS, bundle) == [
        ("Bundle.entry[1].resource.partOf", "business-rule",
         f"every ward must be partOf Location/{HOSPITAL}, the hospital this Bundle reports on; "
         "got Location/other-hospital")]


def test_a_bed_status_without_system_is_taken_as_hl7_v2_0116() -> None:
    bed = _bed("bed-1", "w-ic", operationalStatus={"code": "O"})
    values = _values(_parse(BEDS, _bundle(_ward("w-ic"), bed)))
    assert values[("hospital.beds.ic.occupied", "w-ic")] == 1
    assert values[("hospital.beds.ic.available", "w-ic")] == 0


def test_more_beds_than_a_category_can_have_are_refused_per_ward_and_at_the_hospital() -> None:
    """101 free PICU beds (the definitions allow 100) in one ward, one IC bed in another: every
    count over the limit is refused, per ward and at the hospital; the IC ward's figures are
    fine."""
    beds = [_bed(f"picu-{n}", "a-picu") for n in range(101)]
    bundle = _bundle(_ward("a-picu", "picu"), _ward("b-ic"), _bed("ic-1", "b-ic"), *beds)
    problems = [("Bundle.entry", "value", f"hospital.beds.picu.{name} must lie within [0, 100], "
                 "got 101") for name in ("total", "staffed", "available")]
    assert _refusal(BEDS, bundle) == problems + problems


# --- SANER MeasureReports ------------------------------------------------------------------------


def _report(*groups: dict[str, Any], date: str | None = "2026-11-22T13:45:00+01:00",
            period_end: str = "2026-11-22T13:45:00+01:00", **extra: Any) -> dict[str, Any]:
    report: dict[str, Any] = {
        "resourceType": "MeasureReport", "status": "complete", "type": "summary",
        "measure": "https://zorgcapaciteit.nl/fhir/Measure/beds",
        "subject": {"reference": f"Location/{HOSPITAL}"},
        "period": {"start": "2026-11-22T00:00:00+01:00", "end": period_end},
        "group": list(groups), **extra}
    if date is not None:
        report["date"] = date
    return report


def _concept(code: str, system: str = "http://hl7.org/fhir/uv/saner/CodeSystem/MeasuredValues",
             ) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}]}


def test_a_population_code_with_text_only_takes_the_groups_saner_code() -> None:
    group = {"code": _concept("numTotBeds"),
             "population": [{"code": {"text": "all beds"}, "count": 120}]}
    assert _values(_parse(SANER, _report(group))) == {("hospital.beds.total", HOSPITAL): 120}


def test_a_platform_code_on_the_group_maps_its_generic_population() -> None:
    group = {"code": _concept("hospital.beds.ic.total", CAPACITY_ITEM_SYSTEM),
             "population": [{"code": _concept(
                 "measure-population", "http://terminology.hl7.org/CodeSystem/measure-population"),
                 "count": 12}]}
    assert _values(_parse(SANER, _report(group))) == {("hospital.beds.ic.total", HOSPITAL): 12}


def test_the_report_date_comes_before_the_period_end() -> None:
    group = {"population": [{"code": _concept("numTotBeds"), "count": 120}]}
    result = _parse(SANER, _report(group, date="2026-11-22T13:30:00+01:00",
                                   period_end="2026-11-22T13:45:00+01:00"))
    assert [o.observed_at for o in result.observations] == [
        datetime(2026, 11, 22, 12, 30, tzinfo=UTC)]


def test_a_report_dated_in_the_future_is_refused_at_its_date() -> None:
    group = {"population": [{"code": _concept("numTotBeds"), "count": 120}]}
    refusal = _refusal(SANER, _report(group, date="2026-11-22T18:00:00+01:00"))
    assert [(where, code) for where, code, _ in refusal] == [
        ("MeasureReport.date", "business-rule")]
    assert refusal[0][2].startswith("observed time 2026-11-22T18:00:00+01:00 lies in the future")


def test_a_report_without_groups_is_refused() -> None:
    report = _report()
    del report["group"]
    assert _refusal(SANER, report) == [
        ("MeasureReport.group", "required",
         "the report contains no population with a known capacity code")]


def test_the_element_of_a_figure_skips_groups_without_populations() -> None:
    report = _report({"code": _concept("beds")},
                     {"population": [{"code": _concept("numTotBeds"), "count": 120}]})
    assert SANER.element_of(report, _parse(SANER, report).observations[0]) == (
        "MeasureReport.group[1].population[0].count")
    del report["group"]
    assert SANER.element_of(report, _parse(SANER, _report(
        {"population": [{"code": _concept("numTotBeds"), "count": 1}]})).observations[0]) is None


def test_an_item_of_every_sector_is_taken_from_a_hospital() -> None:
    """Facility items (sector `all`) are no other sector's: a hospital may report one, here as
    not known."""
    absent = {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason",
                             "valueCode": "unknown"}]}
    group = {"population": [{"code": _concept("facility.contact", CAPACITY_ITEM_SYSTEM),
                             "_count": absent}]}
    result = _parse(SANER, _report(group))
    assert [(o.definition, o.value, o.not_reported_reason) for o in result.observations] == [
        ("facility.contact", None, "unknown")]


# --- NEDOCS --------------------------------------------------------------------------------------


def test_nedocs_takes_a_single_treatment_place_and_a_single_bed() -> None:
    # -20 + 85.8 x 1/1 + 600 x 0/1
    assert nedocs_score(1, 1, 0, 1, 0, 0, 0) == 65.8


def test_nedocs_weighs_boarders_per_hospital_bed_by_600() -> None:
    # -20 + 600 x 10/100
    assert nedocs_score(0, 10, 10, 100, 0, 0, 0) == 40.0


@pytest.mark.parametrize(("places", "beds"), [(0, 100), (10, 0), (-1, 100)])
def test_nedocs_refuses_a_denominator_that_is_not_positive(places: int, beds: int) -> None:
    with pytest.raises(ValueError, match="^ED treatment places and hospital beds must be "
                                         "positive$"):
        nedocs_score(0, places, 0, beds, 0, 0, 0)


def test_nedocs_refusals_name_the_body() -> None:
    assert _refusal(NEDOCS, "[1, 2]") == [("body", "structure", "expected a JSON object for body")]
    assert _refusal(NEDOCS, {"location": HOSPITAL, "ed_patients": 3}) == [
        ("body.observed_at", "required",
         "give the moment the figures were true (ISO 8601, timezone)")]
    assert _refusal(NEDOCS, {"location": HOSPITAL, "observed_at": "2026-11-22T13:45:00+01:00"}) == [
        ("body", "required", "the message contains no figures")]


# --- SEH status ----------------------------------------------------------------------------------

OBSERVED = "2026-11-22T13:45:00+01:00"


def test_seh_status_that_is_not_a_json_object_is_refused() -> None:
    assert _refusal(SEH, "[1, 2]") == [("body", "structure", "expected a JSON object for body")]


def test_seh_status_with_an_unknown_field_is_refused() -> None:
    body = {"location": HOSPITAL, "observed_at": OBSERVED, "seh": {"status": "open"},
            "colour": "green"}
    assert _refusal(SEH, body) == [
        ("body.colour", "structure",
         "unknown field 'colour'; expected one of admission_stops, location, observed_at, seh")]


def test_seh_status_without_seh_or_admission_stops_is_refused() -> None:
    assert _refusal(SEH, {"location": HOSPITAL, "observed_at": OBSERVED}) == [
        ("body", "required", "give seh, admission_stops or both")]


def test_a_bad_seh_is_refused_even_with_good_admission_stops() -> None:
    body = {"location": HOSPITAL, "observed_at": OBSERVED, "seh": {"status": "open", "reason": "x"},
            "admission_stops": {"ic": True}}
    assert _refusal(SEH, body) == [
        ("body.seh.reason", "business-rule",
         "leave out reason while the ED is open: it only applies to a time-out or stop")]


def test_empty_admission_stops_are_no_figures() -> None:
    body = {"location": HOSPITAL, "observed_at": OBSERVED, "admission_stops": {}}
    assert _refusal(SEH, body) == [("body", "required", "the message contains no figures")]
