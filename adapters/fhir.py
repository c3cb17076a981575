"""FHIR R4 helpers shared by the FHIR adapters: structural validation and common elements."""

from __future__ import annotations

from typing import Any, TypeVar, cast, get_args

import pydantic
from fhir.resources.R4B.resource import Resource

from adapters.base import AdapterError, Issue, IssueType, error
from core.messages import NotReportedReason

DATA_ABSENT_REASON_URL = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"
KNOWN_ABSENT_REASONS = frozenset(get_args(NotReportedReason))
R = TypeVar("R", bound=Resource)


def expression_of(resource_type: str, loc: tuple[int | str, ...]) -> str:
    """A FHIRPath-like location: ('group', 0, 'count') -> 'MeasureReport.group[0].count'."""
    path = resource_type
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part != "resource_type":
            path += f".{part}"
    return path


def _issue_of(resource_type: str, detail: Any) -> Issue:
    kinds: dict[str, IssueType] = {"extra_forbidden": "structure", "missing": "required"}
    # fhir.resources prefixes the types of its own checks ("model_field_validation.missing").
    kind = kinds.get(str(detail["type"]).rsplit(".", 1)[-1], "invalid")
    message = " ".join(str(detail["msg"]).split())
    return error(kind, expression_of(resource_type, tuple(detail["loc"])), message)


def holds_null(value: Any) -> bool:
    """Whether any null is in `value`, allowed or not: a walk that builds no element names,
    so that a body without nulls (nearly every one) costs no more than a look at each value."""
    inner = value.values() if isinstance(value, dict) else value if isinstance(value,
                                                                               list) else ()
    return any(item is None or (isinstance(item, dict | list) and holds_null(item))
               for item in inner)


def null_problem(value: Any, where: str) -> Issue | None:
    """An error naming the first JSON null FHIR does not allow: as a property's value, or in
    an array, except an array of primitives that has its `_name` sibling (the one place R4's
    JSON format puts null). The R4 models take most nulls as "absent", but the adapters read
    the JSON itself, where a null where an object or list belongs is no such thing."""
    if not holds_null(value):
        return None
    if isinstance(value, list):
        return next(filter(None, (null_problem(item, f"{where}[{i}]")
                                  for i, item in enumerate(value))), None)
    if not isinstance(value, dict):
        return None
    for name, inner in value.items():
        at = f"{where}.{name}"
        if inner is None:
            return error("structure", at, "null is not a value in FHIR JSON: leave the "
                         "element out")
        if isinstance(inner, list) and None in inner and f"_{name.lstrip('_')}" not in value:
            return error("structure", f"{at}[{inner.index(None)}]", "null is not a value in "
                         "FHIR JSON, except in an array of primitives beside its _ array")
        if (found := null_problem(inner, at)) is not None:
            return found
    return None


def validate_resource(model: type[R], payload: dict[str, Any]) -> R:
    """Validate `payload` as an R4 resource of type `model`, or raise AdapterError."""
    resource_type = model.get_resource_type()
    if payload.get("resourceType") != resource_type:
        raise AdapterError([error(
            "invalid", "resourceType",
            f"expected resourceType {resource_type}, got {payload.get('resourceType')!r}",
        )])
    if (null := null_problem(payload, resource_type)) is not None:
        raise AdapterError([null])
    try:
        return model.model_validate(payload)
    except pydantic.ValidationError as exc:
        raise AdapterError([_issue_of(resource_type, d) for d in exc.errors()]) from exc
    except (TypeError, KeyError) as exc:  # the models' own validators trip on some shapes
        # (a contained resource of no or an unknown resourceType) instead of reporting them
        raise AdapterError([error("structure", resource_type,
                                  f"not a valid R4 {resource_type}: {exc}")]) from exc


def reference_id(reference: Any, resource_type: str, expression: str) -> str:
    """The id in a literal reference such as 'Location/abc', or raise AdapterError."""
    text = reference.get("reference") if isinstance(reference, dict) else None
    prefix = f"{resource_type}/"
    if not isinstance(text, str) or not text.startswith(prefix) or len(text) == len(prefix):
        raise AdapterError([error(
            "required", f"{expression}.reference",
            f"must be a literal reference '{resource_type}/<id>' to a registered {resource_type}",
        )])
    return text[len(prefix):].split("/_history", 1)[0]


def data_absent_reason(element: Any) -> NotReportedReason | None:
    """The data-absent-reason code on a primitive's extension element (`_count`), if any.

    Codes outside the FHIR value set become 'unknown': still not reported, never a number.
    """
    if not isinstance(element, dict):
        return None
    for extension in element.get("extension", []):
        if extension.get("url") == DATA_ABSENT_REASON_URL:
            code = extension.get("valueCode")
            return cast(NotReportedReason, code) if code in KNOWN_ABSENT_REASONS else "unknown"
    return None
