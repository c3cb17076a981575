"""FHIR OperationOutcome responses: every refusal names the element and the rule."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi.responses import JSONResponse

from adapters import Issue
from api.fhir_body import FHIR_JSON


def operation_outcome(issues: Sequence[Issue]) -> dict[str, Any]:
    """An R4 OperationOutcome resource for `issues`."""
    return {
        "resourceType": "OperationOutcome",
        "issue": [
            {"severity": i.severity, "code": i.code, "diagnostics": i.diagnostics,
             "expression": [i.expression]}
            for i in issues
        ],
    }


def information(text: str) -> dict[str, Any]:
    """One informational issue, e.g. 'accepted for processing'."""
    return {"severity": "information", "code": "informational", "diagnostics": text}


def outcome_response(status: int, issues: Sequence[Issue],
                     extra: Sequence[dict[str, Any]] = ()) -> JSONResponse:
    """A FHIR JSON response carrying an OperationOutcome."""
    body = operation_outcome(issues)
    body["issue"] += list(extra)
    return JSONResponse(body, status_code=status, media_type=FHIR_JSON)
