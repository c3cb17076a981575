"""FHIR OperationOutcome responses: every refusal names the element and the rule."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi.responses import JSONResponse

from adapters import Issue
from core.input_limits import escape_forbidden
from core.refusals import RULE_SYSTEM

FHIR_JSON = "application/fhir+json"


def _issue(issue: Issue) -> dict[str, Any]:
    # A diagnostic may quote what the client sent: never answer a NUL or a lone surrogate
    # (the latter cannot even be encoded as UTF-8).
    found: dict[str, Any] = {"severity": issue.severity, "code": issue.code,
                             "diagnostics": escape_forbidden(issue.diagnostics),
                             "expression": [escape_forbidden(e) for e in issue.expressions]}
    if issue.rule is not None:
        # A declared rule is named as a coded detail, so a system can act on its id.
        found["details"] = {
            "coding": [{"system": RULE_SYSTEM, "code": issue.rule.id,
                        "version": str(issue.rule.version)}],
            "text": issue.rule.statement}
    return found


def operation_outcome(issues: Sequence[Issue]) -> dict[str, Any]:
    """An R4 OperationOutcome resource for `issues`: each names its elements (`expression`)
    and, when it breaks a declared consistency rule, that rule (`details`)."""
    return {"resourceType": "OperationOutcome", "issue": [_issue(i) for i in issues]}


def information(text: str) -> dict[str, Any]:
    """One informational issue, e.g. 'accepted for processing'."""
    return {"severity": "information", "code": "informational", "diagnostics": text}


def outcome_response(status: int, issues: Sequence[Issue],
                     extra: Sequence[dict[str, Any]] = ()) -> JSONResponse:
    """A FHIR JSON response carrying an OperationOutcome."""
    body = operation_outcome(issues)
    body["issue"] += list(extra)
    return JSONResponse(body, status_code=status, media_type=FHIR_JSON)
