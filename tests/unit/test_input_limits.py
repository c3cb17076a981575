"""The form of what clients send: strict JSON, CSV rows and cells, and plausible times and
places. Pure: every refusal names the element and the rule."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from adapters import AdapterError
from adapters.base import MessageMeta, check_observed_at, nul_problem, parse_instant
from adapters.facility import (
    MAX_NAME_CHARS,
    healthcare_service_record,
    location_record,
    organization_record,
)
from core.input_limits import InputLimits, _depth, check_csv, escape_forbidden, read_json
from core.refusals import Invalid, Refusal, TooLarge
from core.retention import OBSERVATION_RETENTION, POSITION_RETENTION
from core.settings import Settings
from definitions import load_catalogue
from definitions.validation import as_number, value_problem
from stack.demo import location_resource, organization_resource
from storage.timestamps import EARLIEST, LATEST, _clamped_binary, _clamped_text

LIMITS = InputLimits()
RECEIVED = datetime(2026, 11, 22, 13, 0, tzinfo=UTC)


def refused(body: bytes | str, limits: InputLimits = LIMITS) -> Refusal:
    raw = body.encode() if isinstance(body, str) else body
    with pytest.raises(Invalid) as caught:
        read_json(raw, limits)
    return caught.value


def only(refusal: Refusal) -> tuple[int, str, str, str]:
    issue = refusal.issues[0]
    return refusal.http_status, issue.code, issue.expression, issue.diagnostics


def test_plain_json_is_read_as_json() -> None:
    body = {"a": [1, 2.5, "é", "😀", None, True], "b": {"c": "x\"y", "d": "]]}"}}
    assert read_json(json.dumps(body).encode(), LIMITS) == body
    assert read_json(b"\xef\xbb\xbf{}", LIMITS) == {}  # a UTF-8 byte order mark is no body


def test_duplicate_keys_are_refused_naming_the_key() -> None:
    status, code, where, rule = only(refused('{"location": "a", "x": {"n": 1, "n": 2}}'))
    assert (status, code, where) == (400, "structure", "body.x.n")
    assert "more than once" in rule


def test_elements_are_named_from_the_resource_type() -> None:
    body = ('{"resourceType": "MeasureReport", "group": [{"population": '
            '[{"count": 1' + "0" * 400 + "}]}]}")
    status, code, where, rule = only(refused(body))
    assert (status, code, where) == (400, "invalid",
                                     "MeasureReport.group[0].population[0].count")
    assert "401 characters" in rule


@pytest.mark.parametrize("digits", [400, 4301, 5000])
def test_huge_integers_are_refused_without_converting_them(digits: int) -> None:
    status, _, where, rule = only(refused('{"count": ' + "9" * digits + "}"))
    assert (status, where) == (400, "body.count") and f"{digits:,} characters" in rule


@pytest.mark.parametrize(("number", "words"), [("1e400", "too large"), ("-1e999", "too large"),
                                               ("NaN", "not a JSON number"),
                                               ("Infinity", "not a JSON number")])
def test_numbers_that_are_not_finite_are_refused(number: str, words: str) -> None:
    _, _, where, rule = only(refused('{"x": [' + number + "]}"))
    assert where == "body.x[0]" and words in rule


@pytest.mark.parametrize("depth", [33, 100, 10_000, 100_000])
def test_nesting_deeper_than_the_limit_is_refused(depth: int) -> None:
    status, code, where, rule = only(refused("[" * depth + "]" * depth))
    assert (status, code) == (400, "too-long") and "32 levels" in rule
    assert where.startswith("body")


def test_nesting_up_to_the_limit_is_read() -> None:
    assert read_json(b"[" * 32 + b"]" * 32, LIMITS) is not None


@pytest.mark.parametrize(("text", "depth"), [
    (r'{"a": "[[[{{{"}', 1),  # brackets in a string do not nest
    (r'{"a": "x\\"}', 1),  # an escaped backslash does not escape the closing quote
    (r'{"a": "\\"[[[', 4),  # ... so what follows it is outside the string
    (r'{"a": "\\" , "b": [[1]]}', 3),
    (r'["\\\"[[["]', 1),  # an escaped backslash, then an escaped quote: still inside
    (r'[["\"]]"]]', 2),
    ("[]", 1), ("1", 0), ('"[["', 0),
])
def test_depth_is_measured_outside_strings_as_the_parser_reads_them(text: str,
                                                                    depth: int) -> None:
    assert _depth(text) == depth


def test_nesting_inside_a_string_is_no_nesting() -> None:
    assert read_json(('{"note": "' + "[" * 10_000 + '"}').encode(), LIMITS) == {
        "note": "[" * 10_000}


@pytest.mark.parametrize(("body", "where", "words"), [
    ('{"name": "a\\u0000b"}', "body.name", "NUL"),
    ('{"a": ["x", "\\ud800"]}', "body.a[1]", "lone UTF-16 surrogate"),
    ('{"a": "\\udfff"}', "body.a", "lone UTF-16 surrogate"),
    ('{"k\\u0000": 1}', 'body["k\\u0000"]', "NUL"),
])
def test_nul_and_lone_surrogates_are_refused_anywhere(body: str, where: str, words: str) -> None:
    status, code, named, rule = only(refused(body))
    assert (status, code, named) == (400, "invalid", where) and words in rule
    assert "\x00" not in named  # the element is named, never echoed raw


def test_text_longer_than_the_limit_is_refused() -> None:
    status, code, where, rule = only(refused('{"name": "' + "a" * 10_001 + '"}'))
    assert (status, code, where) == (400, "too-long", "body.name") and "10,001" in rule
    assert read_json(('{"name": "' + "a" * 10_000 + '"}').encode(), LIMITS)


def test_bodies_that_are_not_utf8_json_are_refused() -> None:
    for body in (b"\xed\xa0\x80", b"\xff{}", b"", b"{not json"):
        assert refused(body).http_status == 400


def test_csv_rows_beyond_the_limit_are_too_large() -> None:
    text = "#location=x\nafdeling;kamer;bed;status;tijdstip\n" + "IC;1;1;vrij;t\n" * 9_998
    check_csv(text, LIMITS)  # 10,000 rows: the limit
    with pytest.raises(TooLarge) as caught:
        check_csv(text + "IC;1;2;vrij;t\n", LIMITS)
    assert caught.value.http_status == 413
    assert caught.value.issues[0].expression == "row 10001"


def test_a_csv_cell_over_the_limit_is_named_by_row_and_column() -> None:
    with pytest.raises(Invalid) as caught:
        check_csv("locatie;zorgsoort\nx;" + "y" * 1_025 + "\n", LIMITS)
    assert only(caught.value)[:3] == (400, "too-long", "row 2, column zorgsoort")
    with pytest.raises(Invalid) as caught:  # beyond the csv module's own 128 KiB field cap
        check_csv('a;b\n1;"' + "x" * 200_000 + '"\n', LIMITS)
    assert only(caught.value)[:3] == (400, "too-long", "row 2")


def test_a_nul_in_csv_is_refused_naming_its_row() -> None:
    with pytest.raises(Invalid) as caught:
        check_csv("a;b\n1;2\n3;\x00\n", LIMITS)
    assert only(caught.value)[:3] == (400, "invalid", "row 3")


def test_text_that_quotes_a_client_is_escaped_before_it_is_stored_or_answered() -> None:
    assert escape_forbidden("a\x00b\ud800") == "a\\u0000b\\ud800"
    assert escape_forbidden("plain") == "plain"


def _meta() -> MessageMeta:
    return MessageMeta(uuid.uuid4(), "org", "loc", RECEIVED, "json/test")


def test_times_before_1900_or_beyond_9999_are_refused() -> None:
    for text in ("0001-01-01T00:00:00+01:00", "1899-12-31T23:00:00Z"):
        with pytest.raises(AdapterError) as caught:
            parse_instant(text, "body.observed_at")
        assert caught.value.issues[0].expression == "body.observed_at"
        assert "before 1900" in caught.value.issues[0].diagnostics
    with pytest.raises(AdapterError):
        parse_instant("9999-12-31T23:00:00-05:00", "at")
    assert parse_instant("1900-01-01T12:00:00Z", "at").year == 1900


def test_observed_times_older_than_the_history_kept_are_refused() -> None:
    oldest = RECEIVED - OBSERVATION_RETENTION
    assert check_observed_at(oldest, _meta(), "at") is None
    problem = check_observed_at(oldest - timedelta(seconds=1), _meta(), "body.observed_at")
    assert problem is not None and problem.expression == "body.observed_at"
    assert "90 days" in problem.diagnostics
    positions = check_observed_at(RECEIVED - POSITION_RETENTION - timedelta(minutes=1), _meta(),
                                  "location.timestamp", POSITION_RETENTION)
    assert positions is not None and "30 days" in positions.diagnostics
    ancient = check_observed_at(datetime(1, 1, 1, tzinfo=UTC), _meta(), "at")
    assert ancient is not None and "before 1900" in ancient.diagnostics


def test_datetime_values_before_1900_break_their_definition() -> None:
    definition = next(d for d in load_catalogue().current_all() if d.value_type == "datetime")
    assert "before 1900" in str(value_problem(definition, "0001-01-01T00:00:00+01:00"))
    assert value_problem(definition, "2026-11-22T13:00:00+01:00") is None
    assert as_number(10 ** 400) == float("inf")


def _location(latitude: float, longitude: float, name: str = "LUMC") -> dict[str, object]:
    return location_resource("l1", "o1", name, "west", latitude, longitude)


@pytest.mark.parametrize(("latitude", "longitude", "where"), [
    (999, 4.48, "Location.position.latitude"), (-52.17, 4.48, "Location.position.latitude"),
    (4.48, 52.17, "Location.position.latitude"),  # swapped
    (52.17, 44.8, "Location.position.longitude"), (52.17, -4.48, "Location.position.longitude"),
])
def test_a_location_must_lie_in_or_near_the_netherlands(latitude: float, longitude: float,
                                                        where: str) -> None:
    with pytest.raises(AdapterError) as caught:
        location_record(_location(latitude, longitude), "l1")
    assert where in {i.expression for i in caught.value.issues}
    assert caught.value.http_status == 422


def test_border_hospitals_and_the_wadden_islands_are_in_the_service_area() -> None:
    for latitude, longitude in ((50.78, 6.09), (53.48, 6.16), (51.22, 4.40), (51.33, 3.38)):
        assert location_record(_location(latitude, longitude), "l1").latitude == latitude


def test_names_longer_than_the_limit_are_refused() -> None:
    long_name = "x" * (MAX_NAME_CHARS + 1)
    with pytest.raises(AdapterError) as caught:
        location_record(_location(52.17, 4.48, long_name), "l1")
    assert [i.expression for i in caught.value.issues] == ["Location.name"]
    with pytest.raises(AdapterError) as caught:
        organization_record(organization_resource("o1", long_name, "00000101"), "o1")
    assert [i.expression for i in caught.value.issues] == ["Organization.name"]
    service = {"resourceType": "HealthcareService", "name": long_name,
               "providedBy": {"reference": "Organization/o1"},
               "location": [{"reference": "Location/l1"}]}
    with pytest.raises(AdapterError) as caught:
        healthcare_service_record(service, "s1")
    assert [i.expression for i in caught.value.issues] == ["HealthcareService.name"]


def test_the_largest_ingest_message_fits_the_broker_by_the_settings() -> None:
    Settings()  # the defaults fit
    with pytest.raises(ValueError, match="does not fit the broker"):
        Settings(ingest_message_max_bytes=900_000)
    with pytest.raises(ValueError, match="BODY_LIMIT_CSV_BYTES exceeds"):
        Settings(body_limit_csv_bytes=800_000)


def test_stored_times_python_cannot_hold_are_read_as_the_nearest_it_can() -> None:
    assert _clamped_text(b"0001-12-31 23:00:00+00 BC") == EARLIEST
    assert _clamped_text(b"-infinity") == EARLIEST
    assert _clamped_text(b"infinity") == LATEST
    assert _clamped_text(b"12000-01-01 00:00:00+00") == LATEST
    assert _clamped_binary((-(2**62)).to_bytes(8, "big", signed=True)) == EARLIEST
    assert _clamped_binary((2**62).to_bytes(8, "big", signed=True)) == LATEST


@pytest.mark.parametrize(("payload", "where"), [
    ("Bed\x00", "body"),
    ({"name": "IC\x00"}, "body.name"),
    ({"a\x00": 1}, "body"),  # a key: named by the object holding it
    ({"group": [{"code": "x"}, {"code": {"text": "\x00"}}]}, "body.group[1].code.text"),
    ([["ok", "\x00"]], "body[0][1]"),
])
def test_nul_problem_names_the_first_text_holding_a_nul(payload: object, where: str) -> None:
    problem = nul_problem(payload)
    assert problem is not None and problem.expression == where and problem.severity == "error"
    assert "NUL" in problem.diagnostics


@pytest.mark.parametrize("payload", ["Bed", {"name": "IC", "n": 3, "x": None}, [1, "a", []], 0])
def test_nul_problem_is_none_without_a_nul(payload: object) -> None:
    assert nul_problem(payload) is None


def test_nul_problem_names_the_first_of_several() -> None:
    problem = nul_problem({"a": "ok", "b": "\x00", "c": "\x00"}, where="MeasureReport")
    assert problem is not None and problem.expression == "MeasureReport.b"


@pytest.mark.parametrize(("header", "column"), [
    ("locatie;zorgsoort", "zorgsoort"),
    ("locatie; zorgsoort ", "zorgsoort"),  # named as written, without the spaces
    ("locatie", "2"),  # no header cell for it: its number
    ("locatie;" + "z" * 41, "2"),  # a name too long to echo: its number
    ("locatie;" + "z" * 40, "z" * 40),
    ("locatie;", "2"),
])
def test_a_long_cell_is_named_by_its_header_or_its_number(header: str, column: str) -> None:
    with pytest.raises(Invalid) as caught:
        check_csv(f"#location=x\n{header}\nx;{'y' * 1_025}\n", LIMITS)
    [issue] = caught.value.issues
    assert issue.expression == f"row 3, column {column}"
    assert issue.diagnostics == "a cell of 1,025 characters; at most 1,024 are taken"


def test_a_cell_at_the_limit_is_taken_and_many_long_cells_are_named_up_to_the_cap() -> None:
    check_csv("a;b\nx;" + "y" * 1_024 + "\n", LIMITS)
    with pytest.raises(Invalid) as caught:
        check_csv("a;b\n" + ("x;" + "y" * 1_025 + "\n") * 30, LIMITS)
    assert len(caught.value.issues) == 10
    assert caught.value.issues[0].expression == "row 2, column b"
