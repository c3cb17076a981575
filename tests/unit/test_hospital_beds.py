"""Bed counting rules of the two per-bed hospital adapters, beyond the contract examples.

The FHIR bed-Location Bundle (`adapters/hospital/bed_locations.py`) and the LPZ Stekker CSV
(`adapters/hospital/lpz_csv.py`): how each bed status counts, which beds count at all, the time
of the figures, the mapping table, and that every problem is reported at once.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from adapters import AdapterError, AdapterResult, MessageMeta
from adapters.hospital.bed_locations import ADAPTER as BUNDLE
from adapters.hospital.bed_locations import BED_CATEGORY_SYSTEM
from adapters.hospital.beds import bed_categories
from adapters.hospital.lpz_csv import ADAPTER as LPZ
from adapters.hospital.lpz_csv import check_mapping

RECEIVED = datetime(2026, 11, 22, 13, 0, tzinfo=UTC)
HOSPITAL = "rijnstate-arnhem"
WARD = f"{HOSPITAL}-ic"
PHYSICAL = "http://terminology.hl7.org/CodeSystem/location-physical-type"
V2_0116 = "http://terminology.hl7.org/CodeSystem/v2-0116"


def _meta(source_format: str, context: dict[str, Any] | None = None) -> MessageMeta:
    return MessageMeta(uuid.uuid4(), "rijnstate", HOSPITAL, RECEIVED, source_format,
                       "hospital", context or {})


def _figures(result: AdapterResult, location_id: str) -> dict[str, float | bool | str | None]:
    return {o.definition: o.value for o in result.observations if o.location_id == location_id}


def _issues(caught: pytest.ExceptionInfo[AdapterError]) -> list[tuple[str, str]]:
    return [(i.expression, i.diagnostics) for i in caught.value.issues]


# --- FHIR Bundle of bed Locations ------------------------------------------------------------


def _ward(ward_id: str = WARD, category: str = "ic", part_of: str = HOSPITAL) -> dict[str, Any]:
    return {"resourceType": "Location", "id": ward_id, "name": ward_id,
            "type": [{"coding": [{"system": BED_CATEGORY_SYSTEM, "code": category}]}],
            "physicalType": {"coding": [{"system": PHYSICAL, "code": "wa"}]},
            "partOf": {"reference": f"Location/{part_of}"}}


def _bed(bed_id: str, code: str | None, part_of: str = WARD, **extra: Any) -> dict[str, Any]:
    bed = {"resourceType": "Location", "id": bed_id,
           "physicalType": {"coding": [{"system": PHYSICAL, "code": "bd"}]},
           "partOf": {"reference": f"Location/{part_of}"}, **extra}
    if code is not None:
        bed["operationalStatus"] = {"system": V2_0116, "code": code}
    return bed


def _bundle(*resources: dict[str, Any], timestamp: str | None = "2026-11-22T13:40:00+01:00",
            kind: str = "collection") -> dict[str, Any]:
    bundle = {"resourceType": "Bundle", "type": kind,
              "entry": [{"resource": r} for r in resources]}
    if timestamp is not None:
        bundle["timestamp"] = timestamp
    return bundle


def _parse_bundle(bundle: dict[str, Any]) -> AdapterResult:
    return BUNDLE.parse(bundle, _meta(BUNDLE.source_format))


def _ic(result: AdapterResult, location_id: str = WARD) -> tuple[Any, ...]:
    figures = _figures(result, location_id)
    return tuple(figures[f"hospital.beds.ic.{n}"]
                 for n in ("total", "staffed", "occupied", "available"))


@pytest.mark.parametrize(("code", "counted"), [
    ("O", (1, 1, 1, 0)),  # occupied
    ("U", (1, 1, 0, 1)),  # unoccupied: the only available bed
    ("C", (1, 0, 0, 0)),  # closed: not staffed
    ("H", (1, 1, 0, 0)),  # housekeeping: open, but no patient can go there now
    ("I", (1, 1, 0, 0)),  # isolated
    ("K", (1, 1, 0, 0)),  # contaminated
])
def test_each_bed_status_counts_as_the_definitions_say(code: str, counted: tuple[int, ...]) -> None:
    result = _parse_bundle(_bundle(_ward(), _bed("b1", code)))
    assert _ic(result) == counted
    assert _ic(result, HOSPITAL) == counted


def test_ward_and_hospital_figures_and_inpatient_totals_over_categories() -> None:
    result = _parse_bundle(_bundle(
        _ward(), _ward("ward-a", "ward"), _ward("ward-b", "ward"),
        _bed("ic1", "O"), _bed("ic2", "U"),
        _bed("a1", "O", "ward-a"), _bed("a2", "C", "ward-a"),
        _bed("b1", "U", "ward-b"), _bed("b2", "H", "ward-b"), _bed("b3", "O", "ward-b"),
    ))
    assert _figures(result, "ward-a") == {"hospital.beds.ward.total": 2,
                                          "hospital.beds.ward.staffed": 1,
                                          "hospital.beds.ward.occupied": 1,
                                          "hospital.beds.ward.available": 0}
    hospital = _figures(result, HOSPITAL)
    assert [hospital[f"hospital.beds.ward.{n}"] for n in ("total", "staffed", "occupied",
                                                          "available")] == [5, 4, 2, 1]
    assert [hospital[f"hospital.beds.inpatient.{n}"] for n in ("total", "staffed", "occupied",
                                                               "available")] == [7, 6, 3, 2]
    # Only the categories that were sent: no ward of another category means no figure, not 0.
    assert not any(".ccu." in code for code in hospital)
    assert {o.observed_at for o in result.observations} == {
        datetime(2026, 11, 22, 12, 40, tzinfo=UTC)}


def test_suspended_bed_is_closed_and_inactive_bed_is_not_counted() -> None:
    result = _parse_bundle(_bundle(_ward(), _bed("b1", "U", status="suspended"),
                                   _bed("b2", "U", status="inactive"), _bed("b3", "U")))
    assert _ic(result) == (2, 1, 0, 1)


def test_a_ward_without_beds_reports_zero_beds() -> None:
    result = _parse_bundle(_bundle(_ward(), _ward("ward-a", "ward"), _bed("b1", "O")))
    assert set(_figures(result, "ward-a").values()) == {0}


def test_beds_may_sit_in_rooms_of_the_ward() -> None:
    room = {"resourceType": "Location", "id": "room-12",
            "physicalType": {"coding": [{"system": PHYSICAL, "code": "ro"}]},
            "partOf": {"reference": f"Location/{WARD}"}}
    result = _parse_bundle(_bundle(_ward(), room, _bed("b1", "O", "room-12"),
                                   _bed("b2", "U", "room-12"), kind="transaction"))
    assert _ic(result) == (2, 2, 1, 1)


def test_other_locations_are_warned_about_not_refused() -> None:
    building = {"resourceType": "Location", "id": "gebouw-b",
                "physicalType": {"coding": [{"system": PHYSICAL, "code": "bu"}]}}
    hospital = {"resourceType": "Location", "id": HOSPITAL,
                "physicalType": {"coding": [{"system": PHYSICAL, "code": "si"}]}}
    result = _parse_bundle(_bundle(hospital, _ward(), _bed("b1", "O"), building))
    assert [(w.expression, w.severity) for w in result.warnings] == [
        ("Bundle.entry[3].resource.physicalType", "warning")]


def test_location_of_is_the_hospital_the_wards_are_part_of() -> None:
    assert BUNDLE.location_of(_bundle(_bed("b1", "O"), _ward())) == HOSPITAL
    with pytest.raises(AdapterError) as caught:
        BUNDLE.location_of(_bundle(_bed("b1", "O")))
    assert _issues(caught)[0][0] == "Bundle.entry"


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(AdapterError) as caught:
        _parse_bundle(_bundle(_ward(), _bed("b1", None), _bed("b2", "Z"), _bed("b3", "O", "nope")))
    assert [e for e, _ in _issues(caught)] == [
        "Bundle.entry[1].resource.operationalStatus",
        "Bundle.entry[2].resource.operationalStatus",
        "Bundle.entry[3].resource.partOf",
    ]


def test_beds_of_a_refused_ward_get_no_second_error() -> None:
    with pytest.raises(AdapterError) as caught:
        _parse_bundle(_bundle(_ward(category="intensive"), _bed("b1", "O"), _bed("b2", "U")))
    [(expression, words)] = _issues(caught)
    assert expression == "Bundle.entry[0].resource.type"
    assert "unknown bed category 'intensive'" in words


@pytest.mark.parametrize(("bundle", "expression", "words"), [
    (_bundle(_ward(), _bed("b1", "O"), timestamp=None), "Bundle.timestamp", "Bundle.timestamp"),
    (_bundle(_ward(), _bed("b1", "O"), timestamp="2026-11-22T14:30:00+01:00"),
     "Bundle.timestamp", "lies in the future"),
    (_bundle(_ward(), _bed("b1", "O"), kind="searchset"), "Bundle.type", "collection or"),
    (_bundle(_ward(part_of="other-hospital"), _ward("ward-a", "ward"), _bed("b1", "O")),
     "Bundle.entry[0].resource.partOf", "Location/other-hospital"),
    (_bundle(_ward(), _ward(), _bed("b1", "O")), "Bundle.entry[1].resource.id", "already in"),
    (_bundle(_ward(), {k: v for k, v in _bed("b1", "O").items() if k != "id"}),
     "Bundle.entry[1].resource.id", "give every Location its id"),
    (_bundle(_ward(), {**_bed("b1", "O"), "id": None}), "Bundle.entry[1].resource.id",
     "null is not a value in FHIR JSON"),
    (_bundle(_ward(), _bed("b1", None, operationalStatus={"system": "urn:x", "code": "O"})),
     "Bundle.entry[1].resource.operationalStatus", "coded in"),
    (_bundle(_ward(), _bed("b1", "O", "ward-x")), "Bundle.entry[1].resource.partOf",
     "not a ward Location"),
    (_bundle(_ward(), {k: v for k, v in _bed("b1", "O").items() if k != "partOf"}),
     "Bundle.entry[1].resource.partOf.reference", "literal reference"),
    (_bundle({**_ward(), "type": []}, _bed("b1", "O")), "Bundle.entry[0].resource.type",
     "exactly one bed category"),
    ({**_bundle(_ward()), "entry": [{"resource": _ward()}, {"fullUrl": "urn:uuid:1"}]},
     "Bundle.entry[1].resource", "every entry carries a Location"),
])
def test_bad_bundles_are_refused_naming_the_element(
    bundle: dict[str, Any], expression: str, words: str,
) -> None:
    with pytest.raises(AdapterError) as caught:
        _parse_bundle(bundle)
    assert any(e == expression and words in d for e, d in _issues(caught)), _issues(caught)


def test_a_ward_that_is_the_hospital_itself_is_refused() -> None:
    with pytest.raises(AdapterError) as caught:
        _parse_bundle(_bundle(_ward(HOSPITAL, part_of=HOSPITAL), _bed("b1", "O", HOSPITAL)))
    assert _issues(caught)[0][0] == "Bundle.entry[0].resource.id"


# --- LPZ Stekker CSV ---------------------------------------------------------------------------

MAPPING = {"departments": {"IC": "ic", "A3": "ward", "CCU": "ccu"}, "ignore": ["DAGBEH"]}
HEADER = "afdeling;kamer;bed;status;tijdstip"
AT = "2026-11-22T13:40:00+01:00"


def _csv(*rows: str, location: str = HOSPITAL, header: str = HEADER) -> str:
    return "\n".join([f"#location={location}", header, *rows]) + "\n"


def _parse_csv(text: str, mapping: Any = MAPPING) -> AdapterResult:
    context = {} if mapping is None else {"mapping": mapping}
    return LPZ.parse(text, _meta(LPZ.source_format, context))


@pytest.mark.parametrize(("status", "counted"), [
    ("bezet", (1, 1, 1, 0)),
    ("vrij", (1, 1, 0, 1)),
    ("gereserveerd", (1, 1, 0, 0)),  # held for a planned admission: not available
    ("schoonmaak", (1, 1, 0, 0)),  # being cleaned: counts once ready
    ("gesloten", (1, 0, 0, 0)),
    ("BEZET", (1, 1, 1, 0)),  # statuses are compared case-insensitively
    (" Vrij ", (1, 1, 0, 1)),
])
def test_each_lpz_status_counts_as_the_definitions_say(status: str,
                                                      counted: tuple[int, ...]) -> None:
    result = _parse_csv(_csv(f"IC;Box 1;1;{status};{AT}"))
    assert _ic(result, HOSPITAL) == counted
    assert _figures(result, HOSPITAL)["hospital.beds.inpatient.total"] == 1


def test_categories_and_inpatient_totals_and_ignored_departments() -> None:
    result = _parse_csv(_csv(
        f"IC;Box 1;1;bezet;{AT}", f"IC;Box 2;1;vrij;{AT}",
        f"A3;301;1;bezet;{AT}", f"A3;301;2;gesloten;{AT}", f"A3;302;1;vrij;{AT}",
        # Ignored rows are not read: not even their status or time.
        "DAGBEH;D1;1;onbekend;gisteren",
    ))
    figures = _figures(result, HOSPITAL)
    assert [figures[f"hospital.beds.ward.{n}"] for n in ("total", "staffed", "occupied",
                                                         "available")] == [3, 2, 1, 1]
    assert [figures[f"hospital.beds.inpatient.{n}"] for n in ("total", "staffed", "occupied",
                                                              "available")] == [5, 4, 2, 2]
    # CCU is mapped but not in the file: not sent, so no figure (never 0).
    assert not any(".ccu." in code for code in figures)


def test_observed_time_is_the_latest_row_and_15_minutes_is_the_limit() -> None:
    result = _parse_csv(_csv("IC;1;1;bezet;2026-11-22T13:30:00+01:00",
                             "IC;2;1;vrij;2026-11-22T13:45:00+01:00"))
    assert {o.observed_at for o in result.observations} == {
        datetime(2026, 11, 22, 12, 45, tzinfo=UTC)}
    with pytest.raises(AdapterError) as caught:
        _parse_csv(_csv("IC;1;1;bezet;2026-11-22T13:29:59+01:00",
                        "IC;2;1;vrij;2026-11-22T13:45:00+01:00"))
    expression, words = _issues(caught)[0]
    assert expression == "column tijdstip" and "(row 3)" in words and "(row 4)" in words


def test_future_rows_are_refused_naming_the_row() -> None:
    now, future = RECEIVED.isoformat(), (RECEIVED + timedelta(minutes=10)).isoformat()
    with pytest.raises(AdapterError) as caught:
        _parse_csv(_csv(f"IC;1;1;bezet;{now}", f"IC;2;1;vrij;{future}"))
    assert _issues(caught)[0][0] == "row 4, column tijdstip"


def test_bom_crlf_padding_blank_lines_and_column_order_are_tolerated() -> None:
    text = ("\ufeff#location=rijnstate-arnhem;;;;\r\nTijdstip;Afdeling;Kamer;Bed;Status\r\n"
            f"{AT};IC;;1;bezet\r\n\r\n{AT};IC;;2;vrij\r\n")
    assert LPZ.location_of(text) == HOSPITAL
    assert _ic(_parse_csv(text), HOSPITAL) == (2, 2, 1, 1)


def test_every_problem_is_reported_at_once_by_row_and_column() -> None:
    with pytest.raises(AdapterError) as caught:
        _parse_csv(_csv(f"IC;1;1;bezet;{AT}", f"SEH;1;1;bezet;{AT}", f"IC;2;1;weg;{AT}",
                        f"IC;3;;bezet;{AT}", "IC;4;1;bezet", f"IC;1;1;vrij;{AT}"))
    assert [e for e, _ in _issues(caught)] == [
        "row 6, column bed", "row 7", "row 8, column bed", "row 4, column afdeling",
        "row 5, column status"]


@pytest.mark.parametrize(("text", "expression", "words"), [
    (HEADER + f"\nIC;1;1;bezet;{AT}\n", "row 1", "#location="),
    ("#location=\n" + HEADER, "row 1", "#location="),
    ("#location=x\n", "row 2", "no header"),
    (_csv(header="afdeling;kamer;bed;status"), "row 2", "column tijdstip is missing"),
    (_csv(header=HEADER + ";opmerking"), "row 2, column opmerking", "unknown column"),
    (_csv(header=HEADER + ";bed"), "row 2, column bed", "given twice"),
    (_csv(), "CSV", "no beds"),
    (_csv("DAGBEH;D1;1;vrij;" + AT), "CSV", "no beds"),
])
def test_bad_files_are_refused_naming_row_and_column(text: str, expression: str,
                                                     words: str) -> None:
    with pytest.raises(AdapterError) as caught:
        _parse_csv(text)
    assert any(e == expression and words in d for e, d in _issues(caught)), _issues(caught)


def test_a_file_without_mapping_table_is_refused() -> None:
    with pytest.raises(AdapterError) as caught:
        _parse_csv(_csv(f"IC;1;1;bezet;{AT}"), mapping=None)
    expression, words = _issues(caught)[0]
    assert expression == "mapping" and f"/v1/mappings/{HOSPITAL}/csv/lpz-beds" in words


@pytest.mark.parametrize(("mapping", "words"), [
    ([], "must be a JSON object"),
    ({}, "'departments' must be a non-empty object"),
    ({"departments": {}}, "'departments' must be a non-empty object"),
    ({"departments": {"IC": "icu"}}, "departments.IC: unknown bed category 'icu'"),
    ({"departments": {"IC": ["ic"]}}, "departments.IC: unknown bed category"),
    ({"departments": {" IC": "ic"}}, "without leading or trailing spaces"),
    ({"departments": {"IC": "ic"}, "afdelingen": {}}, "unknown key 'afdelingen'"),
    ({"departments": {"IC": "ic"}, "ignore": "DAGBEH"}, "'ignore' must be a list"),
    ({"departments": {"IC": "ic"}, "ignore": ["IC"]}, "also mapped in 'departments'"),
])
def test_check_mapping_names_what_is_wrong(mapping: Any, words: str) -> None:
    problems = check_mapping(mapping)
    assert any(words in p for p in problems), problems


def test_check_mapping_accepts_every_bed_category() -> None:
    mapping = {"departments": {c.upper(): c for c in bed_categories()}, "ignore": ["DAGBEH"]}
    assert LPZ.check_mapping(mapping) == []
    assert LPZ.check_mapping(MAPPING) == []
    assert "inpatient" not in bed_categories() and "ic" in bed_categories()


def _csv_refusal(text: str, mapping: Any = MAPPING) -> dict[str, tuple[str, str]]:
    with pytest.raises(AdapterError) as caught:
        _parse_csv(text, mapping)
    return {i.expression: (i.code, i.diagnostics) for i in caught.value.issues}


def test_lpz_refusals_say_what_to_do() -> None:
    issues = _csv_refusal(_csv(f"SEH;1;1;bezet;{AT}", f"IC;2;1;Weg;{AT}", "IC;3;1;vrij;gisteren",
                               "IC;4;1;vrij;", f"IC;5;vrij;{AT}"))
    assert issues["row 3, column afdeling"] == ("business-rule", (
        f"department 'SEH' is not in this hospital's mapping table; map it to a bed category "
        f"or list it under 'ignore' (PUT /v1/mappings/{HOSPITAL}/csv/lpz-beds)"))
    assert issues["row 4, column status"][0] == "value"
    assert issues["row 4, column status"][1].startswith("unknown status 'Weg'; one of bezet, vrij")
    assert issues["row 5, column tijdstip"][0] == "invalid"
    assert issues["row 6, column tijdstip"] == ("required", "give the tijdstip")
    assert issues["row 7"] == ("structure", "expected 5 values separated by ';' "
                                            "(afdeling;kamer;bed;status;tijdstip), got 4")
    assert _csv_refusal("#location=x\n") == {"row 2": (
        "required", "the file has no header; expected afdeling;kamer;bed;status;tijdstip")}


def test_lpz_status_and_header_are_read_in_any_case_and_ignored_rows_are_not_checked() -> None:
    result = _parse_csv(_csv(f"IC;1;1;BEZET;{AT}", "DAGBEH;;;;", header=HEADER.upper()))
    assert result.observations


def test_lpz_rows_more_than_15_minutes_apart_are_refused_naming_both() -> None:
    early, late = "2026-11-22T13:20:00+01:00", "2026-11-22T13:35:01+01:00"
    issues = _csv_refusal(_csv(f"IC;1;1;bezet;{late}", f"IC;1;2;vrij;{early}"))
    assert issues == {"column tijdstip": ("business-rule", (
        "the rows span from 2026-11-22T13:20:00+01:00 (row 4) to 2026-11-22T13:35:01+01:00 "
        "(row 3), more than 15 minutes: send one export, not rows of different moments"))}
    exactly = "2026-11-22T13:35:00+01:00"
    assert _parse_csv(_csv(f"IC;1;1;bezet;{exactly}", f"IC;1;2;vrij;{early}")).observations


def test_lpz_without_a_mapping_table_says_where_to_register_it() -> None:
    assert _csv_refusal(_csv(f"IC;1;1;bezet;{AT}"), mapping=None) == {"mapping": (
        "business-rule", f"no mapping table for this location; register it with PUT "
        f"/v1/mappings/{HOSPITAL}/csv/lpz-beds")}
