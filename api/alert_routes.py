"""Alert rules and their notifications (ZCVs for their regions, providers for their locations).

POST /v1/alert-rules defines a rule (core/alerts.py: threshold with hysteresis, status, stale
feed; at a location or over a ROAZ region), optionally with a webhook: the answer holds the
webhook's signing secret, shown once. GET lists the organisation's rules with how their
webhooks fare; DELETE retires one. GET /v1/alerts lists notifications, POST
/v1/alerts/{id}/acknowledge acknowledges one. Rules and notifications belong to the caller's
organisation: another organisation's are not found.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import AnyHttpUrl, BaseModel, Field

from api.access import CAPACITY_READERS, Access, PrincipalDep, add_route
from api.availability_routes import check_region
from api.contract import refusal
from api.deps import ConnDep
from api.fhir_body import JsonBody
from api.ownership import neighbour_map
from core.access import check_owner, check_regions
from core.alerts import PLANNING_SCOPES, Kind, Notification
from core.figures import item_matches
from core.identity import Principal
from core.refusals import Invalid, NotFound
from definitions import load_catalogue
from storage import alerts as store
from storage.alerts import NewRule

RuleId = Annotated[int, Path(ge=1, le=2**62)]


class AlertRuleIn(JsonBody):
    """A rule as its owner defines it."""

    name: str = Field(min_length=1, max_length=120)
    kind: Kind
    location_id: str | None = Field(None, max_length=64,
                                    description="the location; or give roaz_region")
    roaz_region: str | None = Field(None, description="a ROAZ region; or give location_id")
    definition: str = Field(max_length=120, description="an item code (stale: or a prefix of "
                                                         "whole segments; planning: planning, "
                                                         "planning.appointment, planning.hold "
                                                         "or planning.visit)")
    operator: Literal["below", "above"] | None = None
    threshold: float | None = None
    hysteresis: float = Field(0.0, ge=0, description="threshold: clears only this far back "
                                                     "over the threshold")
    statuses: list[str] | None = Field(None, max_length=20, description="status: the values "
                                       "that fire (default: anything but open / no stop)")
    severity: Literal["info", "warning", "critical"] = "warning"
    webhook_url: AnyHttpUrl | None = Field(None, description="POSTed each notification, "
                                                             "signed with the rule's secret")


class AlertRuleOut(BaseModel):
    """A stored rule (the webhook secret only in the answer to its creation)."""

    id: int
    name: str
    kind: str
    location_id: str | None
    roaz_region: str | None
    definition: str
    operator: str | None
    threshold: float | None
    hysteresis: float
    statuses: list[str] | None
    severity: str
    webhook_url: str | None
    webhook_secret: str | None = None
    webhooks_delivered: int = 0
    webhooks_pending: int = 0
    webhooks_failed: int = 0
    webhook_last_error: str | None = None


class AlertOut(BaseModel):
    """A notification of a rule."""

    id: int
    rule_id: int
    rule_name: str
    kind: str
    severity: str
    state: str = Field(description="firing or cleared")
    message: str
    location_id: str | None
    roaz_region: str | None
    definition: str | None
    value: float | str | None
    threshold: float | None
    raised_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None


class AlertsResponse(BaseModel):
    """Notifications, newest first."""

    alerts: list[AlertOut]


def alert_out(n: Notification) -> AlertOut:
    """The API shape of a notification."""
    data = {k: v for k, v in vars(n).items() if k not in ("owner_organization_id", "value_text")}
    data["value"] = n.value_text if n.value is None else n.value
    return AlertOut(**data)


def _check_definition(rule: AlertRuleIn) -> None:
    if rule.kind == "planning":
        if rule.definition not in PLANNING_SCOPES:
            raise Invalid(f"a planning rule is about {', '.join(PLANNING_SCOPES)}; not "
                          f"{rule.definition!r}", "definition")
        return
    catalogue = load_catalogue()
    definition = catalogue.get(rule.definition)
    if rule.kind == "stale":
        if definition is None and not any(item_matches(c, rule.definition)
                                          for c in catalogue.codes()):
            raise Invalid(f"no item is or starts with {rule.definition!r}", "definition")
        return
    if definition is None:
        raise Invalid(f"unknown item {rule.definition!r}; see GET /v1/definitions",
                      "definition")
    if rule.kind == "threshold":
        if rule.operator is None or rule.threshold is None:
            raise Invalid("a threshold rule needs operator (below / above) and threshold",
                          "threshold")
        if definition.value_type not in ("count", "quantity"):
            raise Invalid(f"{rule.definition} is a {definition.value_type}, not a number: "
                          "use a status rule", "definition")
    if rule.kind == "status" and definition.value_type not in ("code", "boolean"):
        raise Invalid(f"{rule.definition} is not a status (code or yes/no)", "definition")


async def _check_scope(conn: ConnDep, principal: Principal, rule: AlertRuleIn) -> None:
    if (rule.location_id is None) == (rule.roaz_region is None):
        raise Invalid("give either location_id or roaz_region", "location_id")
    if rule.roaz_region is not None:
        check_region(rule.roaz_region)
        if principal.role == "provider":
            raise Invalid("a provider's rules are about its own locations: give location_id",
                          "roaz_region")
        check_regions(principal, [rule.roaz_region], neighbour_map())
        return
    facts = await store.location_facts(conn, str(rule.location_id))
    if facts is None:
        raise NotFound(f"Location/{rule.location_id} is not registered", "location_id")
    organization, region = facts
    if principal.role == "provider":
        check_owner(principal, organization, f"Location/{rule.location_id}", "location_id")
    else:
        check_regions(principal, [region], neighbour_map())


async def add_rule(conn: ConnDep, principal: PrincipalDep, rule: AlertRuleIn) -> AlertRuleOut:
    """Define an alert rule for a location you own (provider) or coordinate (ZCV), or for a
    region you coordinate (ZCV). With a webhook, the answer holds its signing secret, once."""
    _check_definition(rule)
    await _check_scope(conn, principal, rule)
    secret = secrets.token_urlsafe(32) if rule.webhook_url else None
    stored = await store.add_rule(conn, NewRule(
        owner_organization_id=principal.organization, created_by=principal.subject,
        name=rule.name, kind=rule.kind, location_id=rule.location_id,
        roaz_region=rule.roaz_region, definition=rule.definition, operator=rule.operator,
        threshold=rule.threshold, hysteresis=rule.hysteresis, statuses=rule.statuses,
        severity=rule.severity, webhook_url=str(rule.webhook_url) if rule.webhook_url else None,
        webhook_secret=secret))
    return AlertRuleOut(**vars(stored))


async def list_rules(conn: ConnDep, principal: PrincipalDep) -> list[AlertRuleOut]:
    """Your organisation's rules, with their webhooks' deliveries and last error."""
    rows: list[dict[str, Any]] = await store.rules_of(conn, principal.organization)
    return [AlertRuleOut(**{k: v for k, v in row.items() if k in AlertRuleOut.model_fields})
            for row in rows]


async def delete_rule(conn: ConnDep, principal: PrincipalDep, rule_id: RuleId) -> None:
    """Retire one of your organisation's rules (its notifications stay)."""
    if not await store.delete_rule(conn, principal.organization, rule_id):
        raise NotFound(f"your organisation has no alert rule {rule_id}", "rule_id")


async def alerts(conn: ConnDep, principal: PrincipalDep,
                 state: Annotated[Literal["open", "all"], Query(
                     description="open: firing now; all: the newest notifications")] = "open",
                 ) -> AlertsResponse:
    """Your organisation's alerts, newest first."""
    found = await store.notifications(conn, organization=principal.organization,
                                      open_only=state == "open")
    return AlertsResponse(alerts=[alert_out(n) for n in found])


async def acknowledge(conn: ConnDep, principal: PrincipalDep, alert_id: RuleId) -> AlertOut:
    """Acknowledge one of your organisation's alerts (the first acknowledgement stands)."""
    found = await store.acknowledge(conn, principal.organization, alert_id, principal.subject)
    if found is None:
        raise NotFound(f"your organisation has no alert {alert_id}", "alert_id")
    return alert_out(found)


def router() -> APIRouter:
    """Alert rules and alerts (ZCVs and providers, each their organisation's)."""
    built = APIRouter(prefix="/v1", tags=["Alerts"])
    add_route(built, "/alert-rules", add_rule, methods=["POST"], status_code=201,
              response_model=AlertRuleOut,
              responses={404: refusal(404, "the rule's location is not registered")},
              rule=Access(CAPACITY_READERS, "define alert rules", "write"))
    add_route(built, "/alert-rules", list_rules, methods=["GET"],
              response_model=list[AlertRuleOut],
              rule=Access(CAPACITY_READERS, "read alert rules", "read"))
    add_route(built, "/alert-rules/{rule_id}", delete_rule, methods=["DELETE"],
              status_code=204,
              responses={404: refusal(404, "your organisation has no such rule")},
              rule=Access(CAPACITY_READERS, "retire alert rules", "write"))
    add_route(built, "/alerts", alerts, methods=["GET"], response_model=AlertsResponse,
              rule=Access(CAPACITY_READERS, "read alerts", "read"))
    add_route(built, "/alerts/{alert_id}/acknowledge", acknowledge, methods=["POST"],
              response_model=AlertOut,
              responses={404: refusal(404, "your organisation has no such alert")},
              rule=Access(CAPACITY_READERS, "acknowledge alerts", "write"))
    return built
