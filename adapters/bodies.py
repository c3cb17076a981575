"""The JSON bodies the status endpoints read, as pydantic models built from the declarations.

A JSON status adapter declares which field reports which definition (`figures`, `part_fields`);
the type, range, allowed codes and whether null ("not reported") is allowed come from that
definition. So the model, and the JSON Schema the OpenAPI document shows, say exactly what the
adapter takes, and change with the definitions. The models document the bodies; the adapters
still read them (they name each element and rule in a refusal). `tests/unit/test_bodies.py`
checks every example message against its model.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, create_model

from definitions import Definition, load_catalogue

FORBID = ConfigDict(extra="forbid")
LOCATION_FIELD = (str, Field(min_length=1, max_length=64,
                             description="id of the registered Location the figures are about"))
OBSERVED_AT_FIELD = (AwareDatetime, Field(
    description="when the figures were true: ISO 8601 with timezone, not in the future"))


def _value_type(definition: Definition) -> Any:
    bounds = definition.range
    low, high = (bounds.min, bounds.max) if bounds else (None, None)
    if definition.value_type == "count":
        return Annotated[int, Field(ge=None if low is None else int(low),
                                    le=None if high is None else int(high))]
    if definition.value_type == "quantity":
        return Annotated[float, Field(ge=low, le=high)]
    if definition.value_type == "boolean":
        return bool
    if definition.value_type == "code":
        return Literal[tuple(sorted(definition.allowed_codes()))]
    if definition.value_type == "datetime":
        return AwareDatetime
    return str


def figure_type(code: str) -> Any:
    """The type of a field that reports definition `code`: its value type, within its range
    or codes, or null (not reported) where the definition allows that."""
    definition = load_catalogue().get(code)
    if definition is None:
        raise LookupError(f"a body field refers to unknown definition {code}")
    kind = _value_type(definition)
    return kind | None if definition.not_reported_allowed else kind


def figure_field(code: str) -> tuple[Any, Any]:
    """A `create_model` field reporting `code`: optional (absent: not sent), described by its
    definition."""
    definition = load_catalogue().get(code)
    assert definition is not None
    unit = f" ({definition.unit})" if definition.unit not in ("", "1") else ""
    null = "; null: not reported" if definition.not_reported_allowed else ""
    return figure_type(code), Field(None, description=f"{definition.label.en}{unit}: "
                                                      f"`{code}`{null}")


def figures_model(name: str, fields: dict[str, str], doc: str) -> type[BaseModel]:
    """A closed object whose fields each report a definition (`fields`: name → code)."""
    definitions: dict[str, Any] = {field: figure_field(code) for field, code in fields.items()}
    made: type[BaseModel] = create_model(name, __config__=FORBID, __doc__=doc, **definitions)
    return made


def status_body(name: str, doc: str, **fields: Any) -> type[BaseModel]:
    """A status message: `location`, `observed_at` and `fields`; no other field is taken."""
    made: type[BaseModel] = create_model(name, __config__=FORBID, __doc__=doc,
                                         location=LOCATION_FIELD, observed_at=OBSERVED_AT_FIELD,
                                         **fields)
    return made


def schema_of(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON Schema of a body model (nested models in `$defs`)."""
    return model.model_json_schema()


def figure_codes(code: str) -> frozenset[str]:
    """The allowed codes of a code item."""
    definition = load_catalogue().get(code)
    assert definition is not None
    return definition.allowed_codes()
