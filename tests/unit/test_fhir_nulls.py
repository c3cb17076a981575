"""FHIR JSON has no null values, but for the one place R4 puts them (primitive arrays beside
their `_name` array): the first one not allowed is named."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.fhir import holds_null, null_problem

REPORT: dict[str, Any] = {"resourceType": "MeasureReport", "status": "complete",
                          "group": [{"population": [{"count": 3}, {"count": 4}]}]}


@pytest.mark.parametrize(("value", "expression"), [
    ({**REPORT, "status": None}, "MeasureReport.status"),
    ({**REPORT, "group": [{"population": [{"count": 3}, {"count": None}]}]},
     "MeasureReport.group[0].population[1].count"),
    ({**REPORT, "group": [None]}, "MeasureReport.group[0]"),
    ({**REPORT, "name": {"given": ["a", None]}}, "MeasureReport.name.given[1]"),
    ([{"a": 1}, {"b": [1, {"c": None}]}], "MeasureReport[1].b[1].c"),
])
def test_a_null_is_named_where_it_is(value: Any, expression: str) -> None:
    assert holds_null(value)
    problem = null_problem(value, "MeasureReport")
    assert problem is not None
    assert problem.expression == expression
    assert "null is not a value in FHIR JSON" in problem.diagnostics


@pytest.mark.parametrize("value", [
    REPORT, [], {}, "text", 0, False,
    # R4's one null: a primitive array beside its `_` array of extensions.
    {**REPORT, "name": {"given": ["a", None], "_given": [None, {"id": "x"}]}},
])
def test_no_null_or_only_an_allowed_one_is_no_problem(value: Any) -> None:
    assert null_problem(value, "MeasureReport") is None


def test_the_quick_look_finds_every_null_and_only_nulls() -> None:
    assert not holds_null(REPORT)
    assert not holds_null({"a": [0, "", False, {}, []]})
    assert holds_null({"a": [[[{"b": None}]]]})
