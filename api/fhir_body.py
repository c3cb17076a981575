"""Reading request bodies ourselves (FHIR and JSON): every refusal is an OperationOutcome."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError

from adapters import AdapterError
from adapters.base import error

FHIR_JSON = "application/fhir+json"
M = TypeVar("M", bound=BaseModel)


async def fhir_body(request: Request, resource_type: str) -> dict[str, Any]:
    """The request body as a JSON object of `resource_type`, or AdapterError."""
    try:
        payload = json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise AdapterError([error("structure", resource_type, f"body is not JSON: {exc}")]) from exc
    if not isinstance(payload, dict):
        raise AdapterError([error("structure", resource_type, "body must be a JSON object")])
    return payload


def fhir_request_body(schema: dict[str, Any]) -> dict[str, Any]:
    """OpenAPI for a FHIR JSON body of `schema` (the handler reads the raw body itself)."""
    return {"requestBody": {"required": True, "content": {
        FHIR_JSON: {"schema": schema}, "application/json": {"schema": schema}}}}


def _location(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "body"


async def json_body(request: Request, model: type[M]) -> M:
    """The request body as JSON validated by `model`; Invalid naming each bad element.

    Read by the handler itself, after the route's access rule, so that a caller without a token
    learns nothing about the body's shape, and a missing Content-Type is no error."""
    try:
        payload = json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise AdapterError([error("structure", "body", f"body is not JSON: {exc}")]) from exc
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise AdapterError([error("value", _location(e["loc"]), e["msg"])
                            for e in exc.errors()]) from None


def json_request_body(model: type[BaseModel]) -> dict[str, Any]:
    """OpenAPI for a JSON body the handler reads itself with `json_body`."""
    return {"requestBody": {"required": True, "content": {
        "application/json": {"schema": model.model_json_schema()}}}}
