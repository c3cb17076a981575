"""Reading FHIR JSON request bodies ourselves, so that every refusal is an OperationOutcome."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from adapters import AdapterError
from adapters.base import error

FHIR_JSON = "application/fhir+json"


async def fhir_body(request: Request, resource_type: str) -> dict[str, Any]:
    """The request body as a JSON object of `resource_type`, or AdapterError."""
    try:
        payload = json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise AdapterError([error("structure", resource_type, f"body is not JSON: {exc}")]) from exc
    if not isinstance(payload, dict):
        raise AdapterError([error("structure", resource_type, "body must be a JSON object")])
    return payload


def fhir_request_body(resource_type: str) -> dict[str, Any]:
    """OpenAPI for a FHIR JSON body (the handler reads the raw body itself)."""
    schema = {"type": "object", "description": f"FHIR R4 {resource_type} resource",
              "properties": {"resourceType": {"const": resource_type}}}
    return {"requestBody": {"required": True, "content": {
        FHIR_JSON: {"schema": schema}, "application/json": {"schema": schema}}}}
