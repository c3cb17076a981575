"""The pure parts of the live state: documents as PostgreSQL writes them, filters, zones."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from storage.availability import figure_filter
from storage.live_state import LiveFigure, decode_figures, in_zone
from storage.timestamps import EARLIEST, LATEST

# As live_location_documents writes one (json_build_array, TimeZone UTC): spaces after commas.
DOCUMENT = ('[["hospital.beds.ic.available", 2, 5, null, null, "2026-12-07T01:45:00+00:00"],'
            ' ["hospital.diagnostics.ct", 1, null, null, "temp-unknown",'
            ' "2026-12-07T01:40:00.123456+00:00"],'
            ' ["hospital.seh.status", 1, null, "stop", null, "2026-12-07T01:45:30+00:00"]]')
T0 = datetime(2026, 12, 7, 1, 45, tzinfo=UTC)


def test_a_document_decodes_to_its_figures_in_order() -> None:
    assert decode_figures(DOCUMENT) == [
        LiveFigure("hospital.beds.ic.available", 2, 5.0, None, None, T0),
        LiveFigure("hospital.diagnostics.ct", 1, None, None, "temp-unknown",
                   T0 - timedelta(minutes=5) + timedelta(microseconds=123456)),
        LiveFigure("hospital.seh.status", 1, None, "stop", None, T0 + timedelta(seconds=30)),
    ]


def test_a_count_comes_back_as_a_float_like_a_row_read_gives_it() -> None:
    value = decode_figures(DOCUMENT)[0].value
    assert isinstance(value, float)
    assert decode_figures(DOCUMENT)[0].observed_at.tzinfo is UTC


def test_numbers_json_cannot_hold_come_back_as_numbers() -> None:
    # PostgreSQL writes NaN and the infinities as text inside JSON.
    figures = decode_figures(
        '[["a.b", 1, "NaN", null, null, "2026-12-07T01:45:00+00:00"],'
        ' ["a.c", 1, "Infinity", null, null, "2026-12-07T01:45:00+00:00"],'
        ' ["a.d", 1, 3.5, null, null, "2026-12-07T01:45:00+00:00"]]')
    assert math.isnan(figures[0].value or 0.0)
    assert figures[1].value == math.inf
    assert figures[2].value == 3.5


def test_an_empty_document_has_no_figures() -> None:
    assert decode_figures("[]") == []


def test_figures_shown_in_the_sessions_zone_are_the_same_moments() -> None:
    amsterdam = ZoneInfo("Europe/Amsterdam")
    shown = in_zone(decode_figures(DOCUMENT), amsterdam)
    assert [f.observed_at for f in shown] == [f.observed_at for f in decode_figures(DOCUMENT)]
    assert shown[0].observed_at.utcoffset() == timedelta(hours=1)
    assert shown[0].observed_at.tzinfo is amsterdam
    assert in_zone([], UTC) == []


def test_figure_filter_keeps_exact_codes_and_whole_segment_prefixes() -> None:
    assert figure_filter(None, None) is None
    exact = figure_filter(["hospital.beds.ic.available"], None)
    assert exact is not None
    assert exact("hospital.beds.ic.available") and not exact("hospital.beds.ic.total")
    prefix = figure_filter(None, "hospital.beds.ic")
    assert prefix is not None
    assert prefix("hospital.beds.ic.total") and not prefix("hospital.beds.icu_x.total")
    both = figure_filter(["hospital.beds.ic.total", "hospital.seh.status"], "hospital.beds")
    assert both is not None
    assert [c for c in ("hospital.beds.ic.total", "hospital.seh.status", "hospital.beds.x")
            if both(c)] == ["hospital.beds.ic.total"]


def test_times_python_cannot_hold_come_back_as_the_nearest_it_can() -> None:
    # As live_location_documents prints them (TimeZone UTC); a row read clamps them the same way.
    figures = decode_figures(
        '[["a.b", 1, 1, null, null, "0001-12-31T23:00:00+00:00 BC"],'
        ' ["a.c", 1, 1, null, null, "infinity"],'
        ' ["a.d", 1, 1, null, null, "-infinity"],'
        ' ["a.e", 1, "NaN", null, null, "12000-01-01T00:00:00+00:00"],'
        ' ["a.f", 1, 2, null, null, "2026-12-07T01:45:00+00:00"]]')
    assert [f.observed_at for f in figures] == [EARLIEST, LATEST, EARLIEST, LATEST, T0]
    assert math.isnan(figures[3].value or 0.0)
    # Shown in a session's zone, they stay where they are rather than overflow.
    shown = in_zone(figures, ZoneInfo("Europe/Amsterdam"))
    assert [f.observed_at for f in shown[:4]] == [EARLIEST, LATEST, EARLIEST, LATEST]
    late = LiveFigure("a.g", 1, 1.0, None, None, LATEST - timedelta(minutes=5))
    assert in_zone([late], ZoneInfo("Europe/Amsterdam"))[0].observed_at == LATEST
