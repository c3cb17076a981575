"""VVT and acute GGZ adapters: the rules beyond the contract test's examples."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from adapters import Adapter, AdapterError, AdapterResult, MessageMeta, adapter_for, map_message
from adapters.base import Payload
from adapters.vvt.care_types import care_type_of

RECEIVED = datetime(2026, 11, 22, 13, 0, tzinfo=UTC)
AT = "2026-11-22T12:30:00+01:00"
HEADER = "locatie;zorgsoort;beschikbaar;totaal;tijdstip"


def adapter(source_format: str) -> Adapter:
    found = adapter_for(source_format)
    assert found is not None, source_format
    return found


def parse(source_format: str, payload: Payload) -> AdapterResult:
    """Map as the API does: subject from the payload, then the adapter and the rules between
    figures."""
    chosen = adapter(source_format)
    meta = MessageMeta(uuid.UUID(int=7), "org-florence", chosen.location_of(payload), RECEIVED,
                       source_format, chosen.sector)
    return map_message(chosen, payload, meta)


def rule_issue(source_format: str, payload: Payload) -> tuple[tuple[str, ...], str]:
    """The elements and diagnostics of the one issue of a payload refused by a rule."""
    with pytest.raises(AdapterError) as caught:
        parse(source_format, payload)
    [issue] = caught.value.issues
    assert issue.rule is not None, issue
    return issue.expressions, issue.diagnostics


def refused(source_format: str, payload: Payload) -> dict[str, str]:
    """The errors of a refused payload, by expression."""
    with pytest.raises(AdapterError) as caught:
        parse(source_format, payload)
    return {i.expression: i.diagnostics for i in caught.value.issues}


def values(result: AdapterResult) -> dict[tuple[str, str], Any]:
    return {(o.location_id, o.definition): o.value for o in result.observations}


def beds(**care_types: Any) -> dict[str, Any]:
    return {"location": "vvt-a", "observed_at": AT, "beds": care_types}


def csv(*rows: str, header: str = HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


@pytest.mark.parametrize(("source_format", "path", "media_type", "sector"), [
    ("json/vvt-beds", "/v1/vvt/beds", "application/json", "vvt"),
    ("csv/vvt-beds", "/v1/vvt/beds.csv", "text/csv", "vvt"),
    ("json/vvt-status", "/v1/vvt/status", "application/json", "vvt"),
    ("json/ggz-status", "/v1/ggz/status", "application/json", "ggz"),
])
def test_adapters_are_declared_with_path_media_type_and_sector(
    source_format: str, path: str, media_type: str, sector: str,
) -> None:
    declared = adapter(source_format)
    assert (declared.path, declared.media_type, declared.sector) == (path, media_type, sector)
    assert declared.subject == "location" and declared.needs_mapping is False


# --- VVT beds, JSON ---------------------------------------------------------------------------

def test_json_beds_a_null_care_type_is_both_figures_not_reported() -> None:
    result = parse("json/vvt-beds", beds(grz=None))
    assert values(result) == {("vvt-a", "vvt.beds.grz.available"): None,
                              ("vvt-a", "vvt.beds.grz.total"): None}
    assert {o.not_reported_reason for o in result.observations} == {"unknown"}


def test_json_beds_available_equal_to_total_is_fine_and_alone_is_not_compared() -> None:
    result = parse("json/vvt-beds", beds(grz={"available": 4, "total": 4},
                                         elv_palliative={"available": 3}))
    assert values(result)[("vvt-a", "vvt.beds.grz.available")] == 4
    assert values(result)[("vvt-a", "vvt.beds.elv_palliative.available")] == 3


def test_json_beds_collects_every_problem_before_refusing() -> None:
    errors = refused("json/vvt-beds", beds(
        grz={"available": 1, "total": 3}, elv_low_complex={"avail": 1},
        elv_high_complex=4, elv_laagcomplex={"available": 1}))
    assert set(errors) == {"body.beds.elv_low_complex.avail",
                           "body.beds.elv_high_complex", "body.beds.elv_laagcomplex"}
    assert "elv_low_complex, elv_high_complex" in errors["body.beds.elv_laagcomplex"]


def test_json_beds_available_above_total_is_refused_naming_both_figures() -> None:
    # Checked by the declared rule once the message maps, after the format's own checks.
    elements, diagnostics = rule_issue("json/vvt-beds", beds(grz={"available": 5, "total": 3}))
    assert elements == ("body.beds.grz.available", "body.beds.grz.total")
    assert ("rule vvt.beds.grz.available-within-total (v1): vvt.beds.grz.available (5) is more "
            "than vvt.beds.grz.total (3)") in diagnostics
    assert values(parse("json/vvt-beds", beds(grz={"available": 5, "total": None}))) == {
        ("vvt-a", "vvt.beds.grz.available"): 5, ("vvt-a", "vvt.beds.grz.total"): None}


@pytest.mark.parametrize(("body", "expression"), [
    ({"location": "vvt-a", "observed_at": AT}, "body.beds"),
    ({"location": "vvt-a", "observed_at": AT, "beds": {}}, "body.beds"),
    ({"location": "vvt-a", "observed_at": AT, "beds": {}, "bedden": {}}, "body.bedden"),
    ({"location": "vvt-a", "beds": {"grz": {"available": 1}}}, "body.observed_at"),
    ({"observed_at": AT, "beds": {"grz": {"available": 1}}}, "body.location"),
])
def test_json_beds_refuses_incomplete_messages(body: dict[str, Any], expression: str) -> None:
    assert expression in refused("json/vvt-beds", body)


def test_json_beds_a_count_must_be_a_whole_number_not_a_boolean() -> None:
    errors = refused("json/vvt-beds", beds(grz={"available": True}, wlz_crisis={"total": 2.5}))
    assert "give a number" in errors["body.beds.grz.available"]
    assert "whole numbers only" in errors["body.beds.wlz_crisis.total"]


# --- VVT beds, CSV ----------------------------------------------------------------------------

def test_csv_reads_a_spreadsheet_export_with_bom_crlf_and_any_column_order() -> None:
    text = ("\ufeffTijdstip;Locatie;Totaal;Zorgsoort;Beschikbaar;\r\n"
            f"{AT};vvt-a;12;ELV  Laag complex;2;\r\n"
            f"{AT};vvt-a;3;WLZ crisis;0;\r\n"
            ";;;;;\r\n")
    result = parse("csv/vvt-beds", text)
    assert values(result) == {
        ("vvt-a", "vvt.beds.elv_low_complex.available"): 2,
        ("vvt-a", "vvt.beds.elv_low_complex.total"): 12,
        ("vvt-a", "vvt.beds.wlz_crisis.available"): 0,
        ("vvt-a", "vvt.beds.wlz_crisis.total"): 3,
    }
    assert result.warnings == []
    assert {o.observed_at for o in result.observations} == {datetime.fromisoformat(AT)}


@pytest.mark.parametrize(("name", "code"), [
    ("ELV laag complex", "elv_low_complex"), ("elv hoog complex", "elv_high_complex"),
    ("ELV palliatief", "elv_palliative"), ("grz", "grz"), ("Wlz-crisis", "wlz_crisis"),
    ("wlz_crisis", "wlz_crisis"), ("ELV_HIGH_COMPLEX", "elv_high_complex"),
    ("ELV", None), ("ELV laag", None), ("revalidatie", None),
])
def test_care_types_by_dutch_name_or_code(name: str, code: str | None) -> None:
    assert care_type_of(name) == code


def test_csv_may_cover_several_locations_subject_is_the_first_row() -> None:
    text = csv(f"vvt-a;GRZ;1;10;{AT}", f"vvt-b;GRZ;2;8;{AT}")
    assert adapter("csv/vvt-beds").location_of(text) == "vvt-a"
    assert {o.location_id for o in parse("csv/vvt-beds", text).observations} == {"vvt-a",
                                                                                 "vvt-b"}


def test_the_subject_is_read_from_the_first_row_alone_the_rest_when_parsed() -> None:
    """Who the file is about is known before the whole file is read (the API checks the
    caller owns it first); a bad row further down is refused by the parse, naming its row."""
    text = csv(f"vvt-a;GRZ;1;10;{AT}", f"vvt-b;GRZ;2;8;{AT};extra", f"vvt-c;GRZ;{AT}")
    assert adapter("csv/vvt-beds").location_of(text) == "vvt-a"
    with pytest.raises(AdapterError) as refused:
        parse("csv/vvt-beds", text)
    assert [i.expression for i in refused.value.issues] == ["row 3", "row 4"]


def test_csv_empty_cell_is_not_reported_never_zero() -> None:
    result = parse("csv/vvt-beds", csv(f"vvt-a;GRZ;;10;{AT}"))
    assert values(result)[("vvt-a", "vvt.beds.grz.available")] is None
    assert values(result)[("vvt-a", "vvt.beds.grz.total")] == 10


def test_csv_each_row_has_its_own_time() -> None:
    later = "2026-11-22T12:45:00+01:00"
    result = parse("csv/vvt-beds", csv(f"vvt-a;GRZ;1;10;{AT}", f"vvt-a;GRZ;2;10;{later}"))
    assert sorted({o.observed_at.isoformat() for o in result.observations}) == [AT, later]


def test_csv_local_times_are_dutch_time_with_one_warning() -> None:
    result = parse("csv/vvt-beds", csv("vvt-a;GRZ;1;10;2026-11-22 12:30",
                                       "vvt-a;ELV palliatief;0;4;2026-11-22 12:30"))
    assert {o.observed_at for o in result.observations} == {datetime.fromisoformat(AT)}
    assert len(result.warnings) == 1
    assert result.warnings[0].expression == "column tijdstip"
    assert "rows 2, 3" in result.warnings[0].diagnostics


def test_csv_refuses_the_whole_file_naming_every_bad_cell() -> None:
    errors = refused("csv/vvt-beds", csv(
        f"vvt-a;GRZ;1;10;{AT}", f"vvt-b;GRZ;11;10;{AT}", f"vvt-b;ELV;1;2;{AT}",
        f"vvt-b;GRZ;-1;;{AT}", f";GRZ;1;2;{AT}", "vvt-b;GRZ;1;2;", "vvt-b;GRZ;1;2;morgen",
        "vvt-b;GRZ;1,5;2;2026-11-22T16:00:00+01:00"))
    # Row 3 breaks a rule between its figures, checked once the file maps (next test).
    assert set(errors) == {
        "row 4, column zorgsoort", "row 5, column beschikbaar",
        "row 6, column locatie", "row 7, column tijdstip", "row 8, column tijdstip",
        "row 9, column beschikbaar", "row 9, column tijdstip"}
    assert "'ELV laag complex' (elv_low_complex)" in errors["row 4, column zorgsoort"]
    assert "must lie within" in errors["row 5, column beschikbaar"]
    assert "give the moment" in errors["row 7, column tijdstip"]
    assert "whole number" in errors["row 9, column beschikbaar"]
    assert "lies in the future" in errors["row 9, column tijdstip"]


def test_csv_available_above_total_is_refused_naming_both_cells() -> None:
    later = "2026-11-22T12:45:00+01:00"
    elements, diagnostics = rule_issue("csv/vvt-beds", csv(
        f"vvt-a;GRZ;1;10;{AT}", f"vvt-b;GRZ;2;10;{AT}", f"vvt-b;GRZ;11;10;{later}"))
    assert elements == ("row 4, column beschikbaar", "row 4, column totaal")
    assert "vvt.beds.grz.available (11) is more than vvt.beds.grz.total (10)" in diagnostics


def test_csv_rows_of_different_times_are_not_compared() -> None:
    # Available at 12:45 against the total of 12:30: not one moment, so no rule is broken.
    later = "2026-11-22T12:45:00+01:00"
    result = parse("csv/vvt-beds", csv(f"vvt-a;GRZ;;4;{AT}", f"vvt-a;GRZ;6;;{later}"))
    assert len(result.observations) == 4 and result.warnings == []


def test_csv_refuses_the_same_location_care_type_and_time_twice() -> None:
    errors = refused("csv/vvt-beds", csv(f"vvt-a;GRZ;1;10;{AT}", f"vvt-b;GRZ;1;10;{AT}",
                                         f"vvt-a;grz;2;10;{AT}"))
    assert "row 2 already gives" in errors["row 4, column zorgsoort"]


@pytest.mark.parametrize(("text", "expression", "rule"), [
    ("", "row 1", "the file is empty"),
    (csv(), "row 2", "no rows"),
    (csv(f"vvt-a;GRZ;1;{AT}"), "row 2", "4 cells, but the header has 5"),
    (csv(f"vvt-a;GRZ;1;10;{AT}", header="locatie;zorgsoort;beschikbaar;tijdstip"),
     "row 1", "missing column 'totaal'"),
    (csv(f"vvt-a;GRZ;1;10;{AT};x", header=HEADER + ";opmerking"), "row 1, column opmerking",
     "unknown column"),
    (csv(f"vvt-a;GRZ;1;10;{AT};2", header=HEADER + ";totaal"), "row 1, column totaal",
     "given twice"),
    (csv(f";GRZ;1;10;{AT}"), "row 2, column locatie", "registered location id"),
])
def test_csv_refuses_a_malformed_file(text: str, expression: str, rule: str) -> None:
    errors = refused("csv/vvt-beds", text)
    assert rule in errors[expression], errors


# --- VVT status -------------------------------------------------------------------------------

def status(**fields: Any) -> dict[str, Any]:
    return {"location": "vvt-a", "observed_at": AT, **fields}


@pytest.mark.parametrize(("level", "code"), [("3", "3"), (3, "3"), (1, "1")])
def test_vvt_busyness_level_as_code_or_whole_number(level: Any, code: str) -> None:
    result = parse("json/vvt-status", status(busyness_level=level))
    assert values(result) == {("vvt-a", "vvt.busyness.level"): code}


@pytest.mark.parametrize("level", [True, 0, "4 ", "kritiek", 2.0])
def test_vvt_busyness_level_outside_the_scale_is_refused(level: Any) -> None:
    assert "body.busyness_level" in refused("json/vvt-status", status(busyness_level=level))


def test_vvt_status_without_figures_is_refused() -> None:
    assert "contains no figures" in refused("json/vvt-status", status())["body"]


def test_vvt_status_teams_must_be_a_plausible_count() -> None:
    errors = refused("json/vvt-status", status(district_nursing_teams_available=-2))
    assert "must lie within" in errors["body.district_nursing_teams_available"]


# --- acute GGZ status -------------------------------------------------------------------------

def ggz(**fields: Any) -> dict[str, Any]:
    return {"location": "ggz-a", "observed_at": AT, **fields}


def test_ggz_booleans_stay_booleans_and_counts_stay_counts() -> None:
    result = parse("json/ggz-status", ggz(crisis_service_available=False, iht_capacity=0))
    assert values(result) == {("ggz-a", "ggz.crisis_service.available"): False,
                              ("ggz-a", "ggz.iht.capacity"): 0}
    errors = refused("json/ggz-status", ggz(crisis_service_available=1, iht_capacity=True))
    assert "true or false" in errors["body.crisis_service_available"]
    assert "give a number" in errors["body.iht_capacity"]


def test_ggz_bed_pairs_are_checked_like_vvt_beds() -> None:
    errors = refused("json/ggz-status", ggz(crisis_beds={"vrij": 1}))
    assert "unknown field 'vrij'" in errors["body.crisis_beds.vrij"]
    elements, diagnostics = rule_issue("json/ggz-status",
                                       ggz(hic_beds={"available": 3, "total": 2}))
    assert elements == ("body.hic_beds.available", "body.hic_beds.total")
    assert "rule ggz.beds.hic.available-within-total" in diagnostics


def test_ggz_unknown_field_is_refused() -> None:
    errors = refused("json/ggz-status", ggz(crisis_service_available=True, ihtcapacity=2))
    assert "unknown field" in errors["body.ihtcapacity"]


@pytest.mark.parametrize("moment", [
    "2026-11-22T12:00:00+01:00",
    "2026-11-22T11:00:00Z",  # the same moment, written in UTC
    "2026-11-22T12:00:00",  # a local time is Dutch time
])
def test_a_csv_figure_is_named_by_the_cell_of_its_location_care_type_and_moment(
    moment: str,
) -> None:
    """What a consistency rule's refusal names (`element_of`): the cell in the row of the
    figure's location, care type and moment; not the first row of that location."""
    payload = csv("vvt-a;GRZ;1;10;2026-11-22T10:00:00+01:00", f"vvt-a;GRZ;2;10;{moment}",
                  "vvt-a;ELV laag complex;3;10;2026-11-22T12:00:00+01:00")
    figure = next(o for o in parse("csv/vvt-beds", payload).observations
                  if o.definition == "vvt.beds.grz.available"
                  and o.observed_at == datetime(2026, 11, 22, 11, 0, tzinfo=UTC))
    csv_adapter = adapter("csv/vvt-beds")
    assert csv_adapter.element_of(payload, figure) == "row 3, column beschikbaar"  # type: ignore[attr-defined]
    elsewhere = figure.model_copy(update={"observed_at": datetime(2026, 11, 22, 14, 0, tzinfo=UTC)})
    assert csv_adapter.element_of(payload, elsewhere) is None  # type: ignore[attr-defined]


def _csv_issues(text: str) -> dict[str, tuple[str, str]]:
    with pytest.raises(AdapterError) as caught:
        parse("csv/vvt-beds", text)
    return {i.expression: (i.code, i.diagnostics) for i in caught.value.issues}


def test_csv_header_rules_say_what_the_header_is() -> None:
    assert _csv_issues("locatie,zorgsoort,beschikbaar,totaal,tijdstip\n") == {
        "row 1": ("structure", f"separate columns with ';', not ',': the header is {HEADER}")}
    issues = _csv_issues(csv(f"vvt-a;GRZ;1;10;{AT};x", header="locatie;zorgsoort;beschikbaar;"
                             "tijdstip;;opmerking"))
    assert issues["row 1, column 5"] == ("structure", f"unknown column ''; the header is {HEADER}")
    assert issues["row 1"] == ("required", f"missing column 'totaal'; the header is {HEADER}")
    assert issues["row 1, column opmerking"][0] == "structure"


def test_csv_header_may_end_in_separators_and_be_any_case_with_blank_lines_around() -> None:
    text = f"\n LOCATIE;Zorgsoort;beschikbaar;TOTAAL;tijdstip;;\n\nvvt-a;GRZ;1;10;{AT};;\n"
    result = parse("csv/vvt-beds", text)
    assert values(result) == {("vvt-a", "vvt.beds.grz.available"): 1,
                              ("vvt-a", "vvt.beds.grz.total"): 10}


def test_csv_rows_are_numbered_as_the_spreadsheet_numbers_its_lines() -> None:
    issues = _csv_issues(f"{HEADER}\n\nvvt-a;GRZ;x;10;{AT}\n")
    assert list(issues) == ["row 3, column beschikbaar"]
    assert _csv_issues(f'{HEADER}\nvvt-a;"GRZ;1;10;{AT}\n')["row 2"][0] == "structure"


@pytest.mark.parametrize(("sent", "code", "words"), [
    ("", "required", "give the moment the figures were true, e.g. 2026-11-22T12:00:00+01:00"),
    ("22-11-2026 12:30", "invalid", "not an ISO 8601 date-time: '22-11-2026 12:30'; write e.g. "
                                    "2026-11-22T12:00:00+01:00"),
])
def test_csv_tijdstip_refusals_say_how_to_write_it(sent: str, code: str, words: str) -> None:
    assert _csv_issues(csv(f"vvt-a;GRZ;1;10;{sent}")) == {
        "row 2, column tijdstip": (code, words)}


def test_csv_one_local_time_is_warned_about_at_its_cell() -> None:
    result = parse("csv/vvt-beds", csv("vvt-a;GRZ;1;10;2026-11-22T12:30"))
    assert [(w.expression, w.diagnostics) for w in result.warnings] == [(
        "row 2, column tijdstip", "'2026-11-22T12:30' has no timezone: read as "
        "Europe/Amsterdam local time; add +01:00, +02:00 or Z")]
    assert {o.observed_at for o in result.observations} == {datetime.fromisoformat(AT)}
    utc = parse("csv/vvt-beds", csv("vvt-a;GRZ;1;10;2026-11-22T11:30:00Z"))
    assert utc.warnings == [] and {o.observed_at for o in utc.observations} == {
        datetime.fromisoformat(AT)}
