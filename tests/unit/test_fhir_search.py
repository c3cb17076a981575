"""FHIR search without a database: the parameter values as the spec reads them, the
MeasureReports made of stored figures (which the platform takes back as they are), and the
CapabilityStatement made of the routes."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.measurereport import MeasureReport

from adapters import MessageMeta, map_message, registry
from api.app import create_app
from api.fhir_capability import capability_statement
from core.fhir_search import (
    MAX_PAGE_SIZE,
    NEAR_DEFAULT_KM,
    SearchRefused,
    Token,
    alternatives,
    parse_count,
    parse_date,
    parse_near,
    parse_offset,
    parse_reference,
    parse_token,
)
from core.measure_reports import MEASURES, ReportRecord, measure_items, measure_report
from core.settings import Settings

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def test_tokens_take_every_form_of_the_spec() -> None:
    assert parse_token("http://x|1", "identifier") == Token("http://x", "1")
    assert parse_token("1", "identifier") == Token(None, "1")
    assert parse_token("http://x|", "identifier") == Token("http://x", None)
    assert parse_token("|1", "identifier") == Token(None, "1", no_system=True)
    with pytest.raises(SearchRefused):
        parse_token("|", "identifier")
    assert alternatives(r"a,b\,c") == ["a", "b,c"]


def test_references_name_an_id_of_the_right_type() -> None:
    assert parse_reference("Location/abc", "Location", "subject") == "abc"
    assert parse_reference("abc", "Location", "subject") == "abc"
    assert parse_reference("http://h/fhir/Location/abc", "Location", "subject") == "abc"
    for wrong in ("Organization/abc", "Location/a b", ""):
        with pytest.raises(SearchRefused) as refused:
            parse_reference(wrong, "Location", "subject")
        assert refused.value.http_status == 400
        assert refused.value.issues[0].expression == "subject"


def test_near_is_latitude_longitude_distance_units() -> None:
    near = parse_near("52.1|4.4|10|km")
    assert (near.latitude, near.longitude, near.distance_km) == (52.1, 4.4, 10.0)
    assert parse_near("52.1|4.4|500|m").distance_km == pytest.approx(0.5)
    assert parse_near("52.1|4.4|2|[mi_i]").distance_km == pytest.approx(3.218688)
    assert parse_near("52.1|4.4|10").distance_km == 10.0  # km when no unit is given
    assert parse_near("52.1|4.4").distance_km == NEAR_DEFAULT_KM
    for wrong in ("52.1", "52.1|east", "99|4.4|1", "52.1|4.4|1|furlong", "52.1|4.4|-1|km"):
        with pytest.raises(SearchRefused):
            parse_near(wrong)


def test_dates_are_ranges_by_their_precision_and_prefix() -> None:
    day = parse_date("2026-11-22", "date")
    assert day.start == datetime(2026, 11, 22, tzinfo=AMSTERDAM)
    assert day.end == datetime(2026, 11, 23, tzinfo=AMSTERDAM)
    assert day.bounds() == (day.start, day.end, False)
    month = parse_date("ge2026-12", "date")
    assert month.bounds() == (datetime(2026, 12, 1, tzinfo=AMSTERDAM), None, False)
    assert parse_date("2026", "date").end == datetime(2027, 1, 1, tzinfo=AMSTERDAM)
    moment = parse_date("lt2026-11-22T13:00:00Z", "date")
    assert moment.bounds() == (None, datetime(2026, 11, 22, 13, tzinfo=UTC), False)
    assert parse_date("gt2026-11-22T13:00Z", "date").bounds()[0] == datetime(
        2026, 11, 22, 13, 1, tzinfo=UTC)  # after the whole minute
    assert parse_date("ne2026-11-22", "date").bounds()[2] is True
    for wrong in ("2026-13-01", "2026-11-22T13:00", "ap2026-11-22", "yesterday"):
        with pytest.raises(SearchRefused):
            parse_date(wrong, "date")


def test_paging_parameters() -> None:
    assert parse_count(None) == 50 and parse_count("0") == 0
    assert parse_count("100000") == MAX_PAGE_SIZE
    assert parse_offset("20") == 20
    for wrong in ("-1", "many"):
        with pytest.raises(SearchRefused):
            parse_count(wrong)
        with pytest.raises(SearchRefused):
            parse_offset(wrong)


def _record(moment: datetime) -> ReportRecord:
    return ReportRecord(
        location_id="lumc-leiden", location_name="LUMC", organization_id="lumc",
        observed_at=moment, measure=MEASURES["available_capacity"],
        definitions=["hospital.beds.ic.available", "hospital.beds.ic.occupied",
                     "hospital.beds.ic.staffed"],
        versions=[1, 1, 1], values=[3.0, None, 12.0], reasons=[None, "asked-unknown", None],
        received_at=moment + timedelta(seconds=2))


def test_a_measure_report_of_stored_figures_is_taken_back_as_it_is() -> None:
    moment = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    report = measure_report(_record(moment))
    MeasureReport.model_validate(report)
    assert report["id"] == measure_report(_record(moment))["id"]  # the same report, always
    uuid.UUID(report["id"])
    populations = report["group"][0]["population"]
    assert populations[1]["_count"]["extension"][0]["valueCode"] == "asked-unknown"
    assert "count" not in populations[1]
    adapter = registry()["fhir-r4/MeasureReport"]
    meta = MessageMeta(uuid.uuid4(), "lumc", "lumc-leiden", moment + timedelta(minutes=1),
                       adapter.source_format, "hospital")
    figures = {o.definition: o.value for o in map_message(adapter, report, meta).observations}
    assert figures == {"hospital.beds.ic.available": 3.0, "hospital.beds.ic.occupied": None,
                       "hospital.beds.ic.staffed": 12.0}


def test_only_counts_are_in_a_measure() -> None:
    items = measure_items()
    assert "hospital.beds.ic.available" in items and "hospital.seh.patients" in items
    assert "hospital.seh.status" not in items and "hospital.seh.nedocs_score" not in items
    assert set(items.values()) == set(MEASURES.values())


def test_the_capability_statement_is_made_of_the_routes() -> None:
    app = create_app(Settings())
    statement = capability_statement(app, "http://x/fhir")
    CapabilityStatement.model_validate({**statement, "fhirVersion": "4.3.0"})
    resources = {r["type"]: r for r in statement["rest"][0]["resource"]}
    assert [i["code"] for i in resources["Organization"]["interaction"]] == [
        "read", "update", "history-instance", "search-type"]
    assert resources["Location"]["versioning"] == "versioned"
    near = next(p for p in resources["Location"]["searchParam"] if p["name"] == "near")
    assert near["type"] == "special"
    assert near["definition"] == "http://hl7.org/fhir/SearchParameter/Location-near"


@pytest.mark.parametrize(("value", "expected"), [
    ("90|180|0|km", (90.0, 180.0, 0.0)), ("-90|-180", (-90.0, -180.0, NEAR_DEFAULT_KM)),
    ("52|4||", (52.0, 4.0, NEAR_DEFAULT_KM)), ("52|4|3|", (52.0, 4.0, 3.0)),
    ("52|4|20100|km", (52.0, 4.0, 20_100.0)), ("52|4|1|mi", (52.0, 4.0, 1.609344)),
])
def test_near_takes_its_edges_and_its_defaults(value: str,
                                               expected: tuple[float, float, float]) -> None:
    near = parse_near(value)
    assert (near.latitude, near.longitude) == expected[:2]
    assert near.distance_km == pytest.approx(expected[2])


@pytest.mark.parametrize(("value", "start", "end"), [
    ("2026-12", datetime(2026, 12, 1, tzinfo=AMSTERDAM), datetime(2027, 1, 1, tzinfo=AMSTERDAM)),
    ("2026-02", datetime(2026, 2, 1, tzinfo=AMSTERDAM), datetime(2026, 3, 1, tzinfo=AMSTERDAM)),
    ("2026-12-31", datetime(2026, 12, 31, tzinfo=AMSTERDAM),
     datetime(2027, 1, 1, tzinfo=AMSTERDAM)),
    ("2026-11-22T13:00:05+01:00", datetime(2026, 11, 22, 12, 0, 5, tzinfo=UTC),
     datetime(2026, 11, 22, 12, 0, 6, tzinfo=UTC)),
    ("2026-11-22T13:00:05.250Z", datetime(2026, 11, 22, 13, 0, 5, 250_000, tzinfo=UTC),
     datetime(2026, 11, 22, 13, 0, 5, 250_001, tzinfo=UTC)),
])
def test_a_date_spans_its_precision(value: str, start: datetime, end: datetime) -> None:
    found = parse_date(value, "date")
    assert (found.prefix, found.start, found.end) == ("eq", start, end)


@pytest.mark.parametrize(("prefix", "bounds"), [
    ("le", (None, "end", False)), ("sa", ("end", None, False)), ("eb", (None, "start", False)),
    ("gt", ("end", None, False)), ("lt", (None, "start", False)), ("ge", ("start", None, False)),
])
def test_each_prefix_bounds_the_range(prefix: str, bounds: tuple[str | None, str | None, bool],
                                      ) -> None:
    found = parse_date(f"{prefix}2026-11-22", "date")
    ends = {"start": found.start, "end": found.end, None: None}
    assert found.prefix == prefix
    assert found.bounds() == (ends[bounds[0]], ends[bounds[1]], bounds[2])


REFUSALS = [
    (parse_near, "near", "52|4|1|km|x",
     "give latitude|longitude|distance|units, e.g. 52.09|5.12|25|km"),
    (parse_near, "near", "90.01|4",
     "'90.01|4' lies outside latitude -90..90 / longitude -180..180"),
    (parse_near, "near", "52|-180.5",
     "'52|-180.5' lies outside latitude -90..90 / longitude -180..180"),
    (parse_near, "near", "52|4|x",
     "'52|4|x': latitude, longitude and distance are decimal numbers"),
    (parse_near, "near", "52|4|20101|km",
     "'52|4|20101|km': the distance must lie between 0 and half the Earth"),
    (parse_near, "near", "52|4|1|yd",
     "unknown distance unit 'yd'; one of km, m, [mi_i], mi (UCUM)"),
    (parse_date, "date", "ap2026", "the prefix ap is not supported; give a range with ge and le"),
    (parse_date, "date", "2026-11-22T13:00",
     "'2026-11-22T13:00': a time needs a timezone, e.g. +01:00 or Z"),
    (parse_token, "identifier", "", "give a code, or system|code"),
    (parse_token, "identifier", "|", "give system|code, system| or |code"),
]


@pytest.mark.parametrize(("parse", "param", "value", "words"), REFUSALS)
def test_search_value_refusals_name_the_parameter_and_the_rule(
    parse: Callable[[str, str], object], param: str, value: str, words: str,
) -> None:
    with pytest.raises(SearchRefused) as refused:
        parse(value, param)
    [issue] = refused.value.issues
    assert (issue.expression, issue.diagnostics) == (param, words)
