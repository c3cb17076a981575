"""The e2e bench's CPU accounting: per part, per stored report, and the ceiling it implies."""

from __future__ import annotations

from bench.e2e import cpu_per_report


def test_cpu_is_divided_over_the_stored_reports_per_part() -> None:
    before = {"api": 10.0, "streams": 5.0}
    after = {"api": 12.0, "streams": 6.0, "broker": 0.5}  # a part seen only at the end
    assert cpu_per_report(before, after, 1000) == {
        "api": 2.0, "streams": 1.0, "broker": 0.5, "total": 3.5}


def test_no_report_stored_does_not_divide_by_zero() -> None:
    assert cpu_per_report({"api": 1.0}, {"api": 2.0}, 0) == {"api": 1000.0, "total": 1000.0}
