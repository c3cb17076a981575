"""Schemathesis hooks for fuzzing the running stack (`SCHEMATHESIS_HOOKS=tests.fuzz_hooks`).

An alert rule's `webhook_url` is called by the stream worker when the rule fires, and the
fuzzer invents hosts: every generated webhook is pointed at a closed loopback port instead, so
no fuzzed request ever makes the platform call an address outside this machine.

Some rules of the API are rules the OpenAPI document cannot state: one query parameter that
needs or excludes another (OpenAPI has no dependencies between parameters), a FHIR body's `id`
compared with its URL's, OsmAnd's unit id given one of two ways. The document says them in
words; `UNSTATABLE` declares them here, each with the element and the words the API's refusal
names. A schema-valid request the API refuses (ST202) only for such a rule is the API keeping
its rule, not a contract mismatch: that failure, and only that one, is dropped. Any other
refusal of a schema-valid request stays a failure.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import schemathesis

LOOPBACK = "127.0.0.1:9"  # the discard port: nothing listens, the delivery fails at once


@dataclass(frozen=True)
class Unstatable:
    """A rule the document cannot state: the operations it applies to, the element the refusal
    names (`id` also as `Location.id`) and the words of its rule."""

    operations: frozenset[str]
    element: str
    words: str

    def excuses(self, operation: str, issue: dict[str, Any]) -> bool:
        """True when `issue` of a refusal of `operation` is this rule."""
        named = [str(e) for e in issue.get("expression") or []]
        return (operation in self.operations and self.words in str(issue.get("diagnostics"))
                and any(e == self.element or e.endswith(f".{self.element}") for e in named))


LIVE = frozenset({"GET /v1/availability", "GET /v1/busyness", "GET /v1/units"})
SUBJECT = frozenset({"GET /v1/history", "GET /v1/forecast"})
REGIONS = LIVE | SUBJECT | {"GET /v1/busyness/regions"}
FHIR_PUT = frozenset({"PUT /fhir/Organization/{resource_id}", "PUT /fhir/Location/{resource_id}",
                      "PUT /fhir/HealthcareService/{resource_id}"})
OSMAND = frozenset({"GET /osmand", "POST /osmand"})
UNSTATABLE = (
    # One query parameter that needs or excludes another.
    Unstatable(LIVE, "radius_km", "radius_km needs near"),
    Unstatable(REGIONS, "neighbours", "neighbours=true needs a region"),
    Unstatable(SUBJECT, "location", "give location or region, not both"),
    Unstatable(frozenset({"GET /v1/forecast"}), "location", "give location=<id> or region"),
    Unstatable(frozenset({"GET /v1/history"}), "from", "a range may span at most"),
    # A limit that depends on another value: a hold's time to live on its category's.
    Unstatable(frozenset({"POST /v1/holds"}), "ttl_seconds", "this category's default"),
    # OsmAnd names the unit as `id` (or `deviceid`) in the query, or `device_id` in the JSON
    # body: one of them is needed. Its device `key` is a security scheme, which has no schema
    # (a NUL in it is refused as in any query parameter).
    Unstatable(OSMAND, "query.id", "give the unit's id"),
    Unstatable(OSMAND, "device_id", "give the unit's id"),
    Unstatable(OSMAND, "key", "holds a NUL character"),
    # A body compared with its URL, and a list that must hold exactly one item of a kind.
    Unstatable(FHIR_PUT, "id", "differs from the URL"),
    Unstatable(frozenset({"POST /fhir/Appointment"}), "Appointment.participant",
               "as exactly one participant"),
)


def loopback_webhook(body: Any) -> Any:
    """`body` with a `webhook_url` that names a host moved to the loopback address."""
    if not isinstance(body, dict) or not isinstance(body.get("webhook_url"), str):
        return body
    try:
        parts = urlsplit(body["webhook_url"])
    except ValueError:
        return body
    if not parts.netloc:
        return body
    return {**body, "webhook_url": urlunsplit(parts._replace(netloc=LOOPBACK))}


def refused_only_for_unstatable_rules(operation: str, status: int, body: bytes) -> bool:
    """True when a refusal (`status`, OperationOutcome `body`) of `operation` names nothing but
    rules of UNSTATABLE."""
    if status not in (400, 422):
        return False
    try:
        issues = json.loads(body).get("issue")
    except (ValueError, AttributeError):
        return False
    return bool(issues) and all(
        isinstance(issue, dict) and any(rule.excuses(operation, issue) for rule in UNSTATABLE)
        for issue in issues)


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """Keep generated webhooks on this machine (schemathesis re-validates an edited case)."""
    case.body = loopback_webhook(case.body)


@schemathesis.hook
def filter_failure(context: Any, failure: Any, case: Any, response: Any) -> bool:
    """Every failure, but a schema-valid request refused only for rules of UNSTATABLE."""
    if getattr(failure, "code", None) != "ST202":
        return True
    operation = f"{case.operation.method.upper()} {case.operation.path}"
    return not refused_only_for_unstatable_rules(operation, response.status_code,
                                                 response.content)
