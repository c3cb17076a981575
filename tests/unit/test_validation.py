"""Values held against their definition: type, codes, range, unit, 'not reported'."""

from __future__ import annotations

import pytest

from definitions import load_catalogue
from definitions.validation import DefinitionViolation, Value, check_observation, value_problem

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
