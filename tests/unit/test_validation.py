"""Values held against their definition: type, codes, range, unit, 'not reported'."""

from __future__ import annotations

import pytest

from definitions import load_catalogue
from definitions.validation import (
    DefinitionViolation,
    Value,
    as_number,
    check_observation,
    value_problem,
)

CATALOGUE = load_catalogue()


def problem(code: str, value: Value, unit: str | None = None) -> str | None:
    definition = CATALOGUE.get(code)
    assert definition is not None
    return value_problem(definition, value, unit)


@pytest.mark.parametrize(("code", "value", "rule"), [
    ("hospital.beds.ic.available", 2.5, "whole numbers"),
    ("hospital.beds.ic.available", True, "give a number"),
    ("hospital.beds.ic.available", "4", "give a number"),
    ("hospital.beds.ic.available", -1, "must lie within"),
    ("hospital.seh.status", "closed", "must be one of open, stop, time-out"),
    ("hospital.seh.status_expected_end", "22:30", "ISO 8601"),
    ("hospital.seh.status_expected_end", "2026-11-22T22:30:00", "timezone"),
    ("ggz.doctor.available", 1, "true or false"),
    ("hospital.seh.status", None, "must be reported"),
    ("ambulance.vehicle.position", "52.1,4.4", "position event"),
])
def test_a_value_that_breaks_its_definition_names_the_rule(
    code: str, value: Value, rule: str,
) -> None:
    found = problem(code, value)
    assert found is not None and rule in found and code in found


@pytest.mark.parametrize(("code", "value"), [
    ("hospital.beds.ic.available", 4), ("hospital.beds.ic.available", None),
    ("hospital.seh.status", "time-out"), ("hap.uitloop.phone.longest_wait", 42.5),
    ("hospital.seh.status_expected_end", "2026-11-22T22:30:00+01:00"),
    ("ggz.doctor.available", False),
])
def test_a_fitting_value_passes(code: str, value: Value) -> None:
    assert problem(code, value) is None


def test_a_wrong_unit_is_refused() -> None:
    found = problem("hap.uitloop.phone.longest_wait", 3, unit="min")
    assert found is not None and "'s'" in found and "'min'" in found


def test_an_observation_claiming_an_unknown_version_is_refused() -> None:
    unknown_version = "unknown definition hospital.beds.ic.available v9"
    with pytest.raises(DefinitionViolation, match=unknown_version):
        check_observation(CATALOGUE, "hospital.beds.ic.available", 9, 1, "{bed}")
    with pytest.raises(DefinitionViolation, match="unknown definition hospital.nothing"):
        check_observation(CATALOGUE, "hospital.nothing", 1, 1, "{bed}")


@pytest.mark.parametrize(("code", "value", "rule"), [
    # Each kind refused for its own reason, so that the check of that kind is what refuses it
    # (a code given a number would also fail its list of codes, a quantity given text nothing).
    ("ambulance.busyness.deployed_share", "40", "is a quantity: give a number"),
    ("ambulance.vehicle.status", 4, "is a code: give text"),
    ("hospital.seh.status_expected_end", 20261122, "is a datetime: give text"),
    ("facility.address", 12, "is a text: give text"),
])
def test_every_kind_refuses_a_value_of_another_type(code: str, value: Value,
                                                    rule: str) -> None:
    found = problem(code, value)
    assert found is not None and rule in found


def test_the_earliest_year_itself_is_accepted() -> None:
    """Times before 1900 are refused; 1900 itself is not."""
    assert problem("hospital.seh.status_expected_end", "1900-01-01T00:00:00+00:00") is None
    found = problem("hospital.seh.status_expected_end", "1899-12-31T23:59:59+00:00")
    assert found is not None and "before 1900" in found


def test_integers_beyond_any_float_lie_beyond_either_end_of_every_range() -> None:
    assert as_number(10 ** 400) == float("inf")
    assert as_number(-(10 ** 400)) == float("-inf")
    found = problem("hospital.beds.ic.available", -(10 ** 400))
    assert found is not None and "must lie within" in found


def test_an_observation_is_held_against_its_unit_and_says_why() -> None:
    with pytest.raises(DefinitionViolation, match="is expressed in 's', got unit 'min'"):
        check_observation(CATALOGUE, "hap.uitloop.phone.longest_wait", 1, 3, "min")
    with pytest.raises(DefinitionViolation, match="must lie within"):
        check_observation(CATALOGUE, "hospital.beds.ic.available", 1, -1, "{bed}")
    check_observation(CATALOGUE, "hap.uitloop.phone.longest_wait", 1, 3, "s")
