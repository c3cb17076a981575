"""Whether a value fits its definition: type, allowed codes, range and unit.

Used by the adapters (to refuse a provider's payload with the element and rule) and by the
stream sink (to dead-letter an observation that no adapter should have produced).
"""

from __future__ import annotations

from datetime import datetime

from core.retention import EARLIEST_YEAR
from definitions.catalogue import Catalogue, Definition

Value = float | bool | str | None


def as_number(value: Value) -> float | None:
    """The value as a number, or None when it is not one (booleans are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return float(value)
    except OverflowError:  # an integer beyond any float: out of every range
        return float("inf") if value > 0 else float("-inf")


def _type_problem(definition: Definition, value: Value) -> str | None:
    kind, number = definition.value_type, as_number(value)
    if kind in ("count", "quantity") and number is None:
        return f"{definition.code} is a {kind}: give a number, got {value!r}"
    # An integer is whole however large (one beyond any float reads as infinite, not whole).
    if kind == "count" and isinstance(value, float) and not value.is_integer():
        return f"{definition.code} is a count: whole numbers only, got {value!r}"
    if kind == "boolean" and not isinstance(value, bool):
        return f"{definition.code} is true or false, got {value!r}"
    if kind in ("code", "datetime", "text") and not isinstance(value, str):
        return f"{definition.code} is a {kind}: give text, got {value!r}"
    if kind == "position":
        return f"{definition.code} is a position: send it as a position event, not a value"
    return None


def _content_problem(definition: Definition, value: Value) -> str | None:
    if definition.value_type == "code" and value not in definition.allowed_codes():
        allowed = ", ".join(sorted(definition.allowed_codes()))
        return f"{definition.code} must be one of {allowed}; got {value!r}"
    if definition.value_type == "datetime" and isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return f"{definition.code} must be an ISO 8601 date-time, got {value!r}"
        if moment.tzinfo is None:
            return f"{definition.code} needs a timezone in {value!r}"
        if moment.year < EARLIEST_YEAR:
            return f"{definition.code} lies before {EARLIEST_YEAR}: {value!r}"
    bounds, number = definition.range, as_number(value)
    if bounds is not None and number is not None and not bounds.min <= number <= bounds.max:
        return (f"{definition.code} must lie within [{bounds.min:g}, {bounds.max:g}], "
                f"got {number:g}")
    return None


def value_problem(definition: Definition, value: Value, unit: str | None = None) -> str | None:
    """Why `value` (in `unit`, when the sender gave one) breaks `definition`, or None if it fits.

    None as value means "not reported", which fits only where the definition allows it.
    """
    if value is None:
        if definition.not_reported_allowed:
            return None
        return f"{definition.code} must be reported; 'not reported' is not allowed for it"
    if unit is not None and unit != definition.unit:
        return f"{definition.code} is expressed in {definition.unit!r}, got unit {unit!r}"
    return _type_problem(definition, value) or _content_problem(definition, value)


class DefinitionViolation(ValueError):
    """An observation that does not fit the definition it claims."""


def check_observation(catalogue: Catalogue, code: str, version: int, value: Value,
                      unit: str) -> None:
    """Raise DefinitionViolation if the claimed definition version is unknown or not met."""
    definition = catalogue.version(code, version)
    if definition is None:
        known = catalogue.versions(code)
        raise DefinitionViolation(
            f"unknown definition {code} v{version}" if known else f"unknown definition {code}")
    problem = value_problem(definition, value, unit)
    if problem is not None:
        raise DefinitionViolation(problem)
