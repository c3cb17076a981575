"""The pure parts of the live queries: distance, item prefixes, region roll-ups, ranges."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.admin_routes import rejections_by_provider
from api.availability_routes import regions_in_scope
from core.busyness import LocationFigure, roll_up, roll_up_all
from core.figures import item_filters, item_matches
from core.geo import POINT_PATTERN, Point, haversine_km, parse_point
from core.refusals import Invalid
from definitions.catalogue import Rollup
from storage.history import range_problem
from storage.providers import RejectionCount

LEIDEN = Point(52.1601, 4.4970)  # Leiden Centraal
UTRECHT = Point(52.0894, 5.1100)  # Utrecht Centraal
T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def test_leiden_to_utrecht_is_about_43_km_as_the_crow_flies() -> None:
    # Leiden Centraal to Utrecht Centraal, great-circle; within 1 km.
    assert haversine_km(LEIDEN, UTRECHT) == pytest.approx(42.6, abs=1.0)
    assert haversine_km(LEIDEN, UTRECHT) == pytest.approx(haversine_km(UTRECHT, LEIDEN))
    assert haversine_km(LEIDEN, LEIDEN) == 0


def test_a_quarter_of_the_equator() -> None:
    assert haversine_km(Point(0, 0), Point(0, 90)) == pytest.approx(10_007.5, abs=1)


def test_parse_point() -> None:
    assert parse_point("52.1601, 4.4970") == LEIDEN
    assert parse_point("-90,180") == Point(-90, 180)
    for bad in ("52.1", "north,east", "91,4", "52,181", "1,2,3", "5.2e1,4", "nan,4", "\t52,4",
                "90.5,4", "52,4_0", ""):
        with pytest.raises(ValueError):
            parse_point(bad)


@given(st.from_regex(POINT_PATTERN, fullmatch=True))
def test_every_point_the_document_allows_is_taken(text: str) -> None:
    """The OpenAPI document gives `near` the pattern parse_point applies (no ST202)."""
    parse_point(text)


@given(st.text(alphabet="0123456789.,-+ eE_n\t", max_size=14))
def test_a_point_taken_matches_the_document(text: str) -> None:
    try:
        parse_point(text)
    except ValueError:
        return
    assert re.fullmatch(POINT_PATTERN, text)


def test_item_filters_are_each_code_and_its_whole_segment_prefixes() -> None:
    assert item_filters(["hospital.beds.ic.available", "hospital.seh.status"]) == [
        "hospital", "hospital.beds", "hospital.beds.ic", "hospital.beds.ic.available",
        "hospital.seh", "hospital.seh.status"]
    codes = ["vvt.beds.elv_palliative.available", "hap.uitloop.phone.queue"]
    assert all(any(item_matches(code, item) for code in codes) for item in item_filters(codes))


@pytest.mark.parametrize(("code", "item", "expected"), [
    ("hospital.beds.ic.available", "hospital.beds.ic.available", True),
    ("hospital.beds.ic.available", "hospital.beds.ic", True),
    ("hospital.beds.ic.available", "hospital", True),
    ("hospital.beds.icu.available", "hospital.beds.ic", False),
    ("hospital.beds.ic.available", "hospital.beds.i", False),
    ("vvt.beds.elv_palliative.total", "vvt.beds.elv_palliative", True),
    ("vvt.beds.elv_palliativeX.total", "vvt.beds.elv_palliative", False),
    ("hospital.beds.ic", "hospital.beds.ic.available", False),
])
def test_item_prefix_matches_whole_segments(code: str, item: str, expected: bool) -> None:
    assert item_matches(code, item) is expected


def figure(location: str, value: float | None, minutes_ago: int = 0, text: str | None = None,
           region: str = "west", definition: str = "hospital.seh.patients") -> LocationFigure:
    return LocationFigure(region, location, definition, value, text,
                          T0 - timedelta(minutes=minutes_ago))


def never_stale(_: datetime) -> bool:
    return False


def test_sum_rollup_adds_reported_values_and_never_counts_not_reported_as_zero() -> None:
    rows = [figure("a", 12), figure("b", None, 3), figure("c", 30, 20)]
    result = roll_up(rows, "sum", lambda at: T0 - at > timedelta(minutes=15))
    assert result.value == 42
    assert (result.locations_reporting, result.locations_not_reported) == (2, 1)
    assert (result.min, result.max, result.stale_locations) == (12, 30, 1)
    assert result.oldest_observed_at == T0 - timedelta(minutes=20)
    assert result.counts == {}


def test_nothing_reported_rolls_up_to_not_reported() -> None:
    result = roll_up([figure("a", None), figure("b", None)], "sum", never_stale)
    assert result.value is None
    assert result.locations_not_reported == 2


def test_latest_rollup_takes_the_value_observed_last() -> None:
    rows = [figure("a", 80.5, 10), figure("b", 120.0, 2), figure("c", None, 0)]
    assert roll_up(rows, "latest", never_stale).value == 120.0


def test_cumulative_rollup_sums() -> None:
    assert roll_up([figure("a", 3), figure("b", 4)], "cumulative", never_stale).value == 7


def test_code_items_count_per_code() -> None:
    rows = [figure("a", None, 5, "busy"), figure("b", None, 1, "overcrowded"),
            figure("c", None, 9, "busy")]
    result = roll_up(rows, "latest", never_stale)
    assert result.value == "overcrowded"
    assert result.counts == {"busy": 2, "overcrowded": 1}
    assert (result.min, result.max) == (None, None)


def test_roll_up_all_groups_by_region_and_item_with_each_items_rule() -> None:
    rows = [figure("a", 10, region="midden-nederland"), figure("b", 5, region="midden-nederland"),
            figure("c", 7, region="west"),
            figure("c", 99, 1, region="west", definition="hospital.seh.nedocs_score"),
            figure("d", 50, 0, region="west", definition="hospital.seh.nedocs_score")]
    rules: dict[str, Rollup] = {"hospital.seh.patients": "sum",
                                "hospital.seh.nedocs_score": "latest"}
    result = roll_up_all(rows, lambda code: rules[code],
                         lambda code, at: False)
    assert [(r.roaz_region, r.definition, r.value) for r in result] == [
        ("midden-nederland", "hospital.seh.patients", 15),
        ("west", "hospital.seh.patients", 7),
        ("west", "hospital.seh.nedocs_score", 50),
    ]


def test_regions_in_scope() -> None:
    assert regions_in_scope(None, False) is None
    assert regions_in_scope("west", False) == ["west"]
    assert regions_in_scope("west", True) == [
        "west", "noord-holland-flevoland", "midden-nederland", "zuidwest"]
    with pytest.raises(Invalid):
        regions_in_scope("nowhere", False)
    with pytest.raises(Invalid):
        regions_in_scope(None, True)


def test_history_range_limits() -> None:
    assert range_problem(T0, T0 + timedelta(days=31), "raw") is None
    assert "31 days" in str(range_problem(T0, T0 + timedelta(days=32), "raw"))
    assert range_problem(T0, T0 + timedelta(days=400), "1d") is None
    assert "400 days" in str(range_problem(T0, T0 + timedelta(days=401), "1h"))
    assert "later" in str(range_problem(T0, T0, "5m"))


def test_rejections_are_keyed_by_provider_and_sector() -> None:
    counts = [RejectionCount("org-a", "hospital", "value", 2),
              RejectionCount("org-a", "hospital", "structure", 1),
              RejectionCount("org-b", "hap", "value", 4)]
    assert rejections_by_provider(counts) == {
        ("org-a", "hospital"): {"value": 2, "structure": 1}, ("org-b", "hap"): {"value": 4}}
