"""The one family of refusals: every "no" the platform gives, with the element and the rule.

Raised anywhere (adapters, ownership rules, routes, storage edges) and mapped to HTTP once, in
`api/errors.py`, as a FHIR OperationOutcome. Each class fixes its status; an `Issue` names where
(`expression`) and which rule (`diagnostics`), in words a provider's or a ZCV's engineer can act on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

# FHIR R4 issue-type codes (http://hl7.org/fhir/issue-type) the platform uses.
IssueType = Literal[
    "invalid", "structure", "required", "value", "not-found", "not-supported", "business-rule",
    "login", "forbidden", "security", "throttled", "transient", "too-costly", "too-long",
    "conflict", "exception", "informational",
]
# Issue types of a request that is not what the endpoint reads at all: answered 400.
FORM_ISSUES = frozenset({"structure", "invalid", "too-long"})


# The code system of the consistency rules between items (definitions/rules/*.yaml), as named
# in an issue's `details`.
RULE_SYSTEM = "https://zorgcapaciteit.nl/fhir/CodeSystem/consistency-rule"


@dataclass(frozen=True)
class RuleRef:
    """The declared rule an issue is about: its id, version and statement."""

    id: str
    version: int
    statement: str


@dataclass(frozen=True)
class Issue:
    """One finding about a request: where (`expression`, and `also` when it relates several
    elements), which rule (`diagnostics`, and `rule` when it is a declared one), how bad."""

    severity: Literal["error", "warning"]
    code: IssueType
    expression: str
    diagnostics: str
    also: tuple[str, ...] = ()
    rule: RuleRef | None = None

    @property
    def expressions(self) -> tuple[str, ...]:
        """Every element the issue names, `expression` first."""
        return (self.expression, *self.also)


def error(code: IssueType, expression: str, diagnostics: str) -> Issue:
    """An issue that refuses the request."""
    return Issue("error", code, expression, diagnostics)


def warning(code: IssueType, expression: str, diagnostics: str) -> Issue:
    """An issue that is reported back but does not refuse the request."""
    return Issue("warning", code, expression, diagnostics)


class Refusal(Exception):
    """A request the platform refuses; `status` is its HTTP status, `issues` say why."""

    status: ClassVar[int] = 422
    default_code: ClassVar[IssueType] = "business-rule"

    def __init__(self, issues: list[Issue] | str, expression: str = "") -> None:
        if isinstance(issues, str):
            issues = [error(self.default_code, expression, issues)]
        super().__init__("; ".join(f"{i.expression}: {i.diagnostics}" for i in issues))
        self.issues = issues

    @property
    def reason(self) -> str:
        """A short, bounded reason for metrics and the audit: the first issue's type."""
        return self.issues[0].code if self.issues else self.default_code

    @property
    def http_status(self) -> int:
        """The HTTP status this refusal is answered with."""
        return self.status


class Unauthenticated(Refusal):
    """No valid credentials: missing, expired, badly signed or revoked (401)."""

    status = 401
    default_code = "login"


class Forbidden(Refusal):
    """Valid credentials, but this caller may not do this (403)."""

    status = 403
    default_code = "forbidden"


class NotFound(Refusal):
    """What the request reads does not exist (404)."""

    status = 404
    default_code = "not-found"


class Invalid(Refusal):
    """The request breaks a rule of form (400) or of content (422).

    400 when it is not what the endpoint reads at all (`structure`, `invalid`, `too-long`: a
    limit on the form such as nesting depth or a cell's length); 422 when it is well-formed but
    a value or reference breaks a platform rule.
    """

    default_code = "value"

    @property
    def http_status(self) -> int:
        """400 for form, 422 for content; 404 when all it says is that what the request names
        (a body's subject or reference, a mapping table) is not registered."""
        codes = {i.code for i in self.issues}
        if codes == {"not-found"}:
            return 404
        return 400 if codes & FORM_ISSUES else 422


class TooLarge(Refusal):
    """The request is larger than the endpoint takes (413): refused before it is parsed, or,
    for a message that would not fit the broker, before anything is kept."""

    status = 413
    default_code = "too-long"


class UnsupportedMediaType(Refusal):
    """The request's Content-Type is not one the endpoint reads (415)."""

    status = 415
    default_code = "not-supported"


class BusinessRule(Refusal):
    """Well-formed, but against a rule of the platform (422)."""

    status = 422
    default_code = "business-rule"


class Conflict(Refusal):
    """The request collides with the current state, e.g. a place already taken (409)."""

    status = 409
    default_code = "conflict"


class Throttled(Refusal):
    """The caller sends faster than its rate limit allows (429); retry after `retry_after`."""

    status = 429
    default_code = "throttled"

    def __init__(self, issues: list[Issue] | str, retry_after: float, expression: str = "") -> None:
        super().__init__(issues, expression)
        self.retry_after = retry_after


class Unavailable(Refusal):
    """A part the platform needs (database, broker) is away; nothing was done (503)."""

    status = 503
    default_code = "transient"

    def __init__(self, issues: list[Issue] | str, retry_after: float = 5.0,
                 expression: str = "") -> None:
        super().__init__(issues, expression)
        self.retry_after = retry_after
