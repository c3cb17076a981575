"""Alert rules: when a rule fires and when it clears, and how a webhook body is signed.

Three kinds of rule, each over one item at one location or over a ROAZ region:
- `threshold`: a figure (at a location, or the region's roll-up following the item's roll-up
  rule) `below` or `above` a threshold. With hysteresis h a rule that fired on `below t` clears
  only at t + h or more (`above t`: at t - h or less), so a figure hovering at the threshold
  does not flap;
- `status`: the SEH status or an admission stop takes one of `statuses` (by default anything
  but open / no stop);
- `stale`: a location's figure of the item (or of an item under it) is past its freshness
  deadline: the provider whose feed fell silent. Clears when a fresh figure arrives;
- `planning`: a planning request (docs/planning.md) at the location or in the region that
  concerns the rule's owner (its provider, or the organisation that asked): fires when the
  request is made, clears when it closes (declined, cancelled, completed, expired). The
  rule's `definition` is `planning` (every request) or `planning.appointment` /
  `planning.hold` / `planning.visit`. A provider's system learns of a new booking, hold or
  visit request by webhook this way.

A rule fires once when its condition starts and clears once when it ends: the state per rule
and subject (a location, or the region) is kept, and only a change raises a notification.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Kind = Literal["threshold", "status", "stale", "planning"]
Operator = Literal["below", "above"]
SIGNATURE_HEADER = "X-Zorgcapaciteit-Signature"
# What a planning rule's `definition` may say: every request, or one kind of request.
PLANNING_SCOPES = ("planning", "planning.appointment", "planning.hold", "planning.visit")
# The states of a request (Appointment or Task) in which it is still open.
PLANNING_OPEN = frozenset({"requested", "accepted", "pending", "booked"})
# The status values that are "all is well" (no alert by default).
NORMAL_STATUSES = frozenset({"open", "0", "0.0", "false"})


@dataclass(frozen=True)
class AlertRule:
    """A stored rule (storage/alerts.py)."""

    id: int
    owner_organization_id: str
    name: str
    kind: Kind
    location_id: str | None
    roaz_region: str | None
    definition: str
    operator: Operator | None
    threshold: float | None
    hysteresis: float
    statuses: list[str] | None
    severity: str
    webhook_url: str | None
    webhook_secret: str | None


@dataclass(frozen=True)
class Transition:
    """A rule that started or stopped firing for a subject, because of one event."""

    rule: AlertRule
    subject: str
    firing: bool
    message: str
    location_id: str | None
    roaz_region: str | None
    value: float | None
    value_text: str | None
    source_event: str


@dataclass(frozen=True)
class Notification:
    """A notification as the API and webhooks show it (storage/alerts.py records a
    transition as one)."""

    id: int
    rule_id: int
    rule_name: str
    owner_organization_id: str
    kind: str
    severity: str
    state: str
    message: str
    location_id: str | None
    roaz_region: str | None
    definition: str | None
    value: float | None
    value_text: str | None
    threshold: float | None
    raised_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None


def threshold_firing(rule: AlertRule, value: float | None, firing: bool) -> bool:
    """Whether a threshold rule fires after `value` (None: not reported, no change)."""
    if value is None or rule.threshold is None:
        return firing
    limit, band = rule.threshold, rule.hysteresis
    if rule.operator == "below":
        return value < limit if not firing else value < limit + band
    return value > limit if not firing else value > limit - band


def status_firing(rule: AlertRule, value: float | str | None) -> bool:
    """Whether a status rule fires for status `value`."""
    if value is None:
        return False
    text = str(value)
    if rule.statuses:
        return text in rule.statuses
    return text not in NORMAL_STATUSES


@dataclass(frozen=True)
class PlanningRequest:
    """What a planning rule looks at in a planning event (core/events.py PlanningChanged)."""

    kind: str  # appointment, hold or visit
    status: str
    location_id: str | None  # None for a visit: it is to a unit
    roaz_region: str
    provider_organization: str
    requester_organization: str


def planning_applies(rule: AlertRule, request: PlanningRequest) -> bool:
    """Whether a planning rule is about `request`: its owner is a party to it, it is of the
    rule's kind, and at the rule's location (a visit, to a unit: any of a provider's own
    rules) or in its region."""
    if rule.kind != "planning":
        return False
    if rule.owner_organization_id not in (request.provider_organization,
                                          request.requester_organization):
        return False
    if rule.definition not in ("planning", f"planning.{request.kind}"):
        return False
    if rule.roaz_region is not None:
        return rule.roaz_region == request.roaz_region
    if request.location_id is None:
        return rule.owner_organization_id == request.provider_organization
    return rule.location_id == request.location_id


def planning_firing(status: str) -> bool:
    """A planning rule fires while its request is open."""
    return status in PLANNING_OPEN


def describe(rule: AlertRule, firing: bool, where: str, value: float | str | None) -> str:
    """The notification's message, for a person at a coordination centre."""
    shown = "not reported" if value is None else value
    if rule.kind == "planning":
        return f"{rule.name}: a request at {where} is {shown}"
    if rule.kind == "stale":
        return (f"{rule.name}: {rule.definition} at {where} is past its freshness deadline"
                if firing else f"{rule.name}: {rule.definition} at {where} is fresh again")
    if rule.kind == "status":
        return f"{rule.name}: {rule.definition} at {where} is {shown}"
    state = "is" if firing else "is no longer"
    return (f"{rule.name}: {rule.definition} at {where} {state} {rule.operator} "
            f"{rule.threshold:g} ({shown})")


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`.
    A receiver recomputes it with its secret and refuses a body whose signature differs or
    whose timestamp is old (a replay)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, header: str, body: bytes) -> bool:
    """Whether `header` is a signature of `body` with `secret` (for receivers and tests)."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    stamp = parts.get("t", "")
    if not stamp.isdigit():
        return False
    return hmac.compare_digest(signature(secret, int(stamp), body), header)


def backoff_seconds(attempts: int) -> float:
    """Wait before the next try of a webhook that failed `attempts` times: 2, 4, 8 … s,
    at most 10 minutes."""
    return float(min(2 ** attempts, 600))
