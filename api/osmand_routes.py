"""`/osmand`: positions of mobile units from trackers that speak Traccar's OsmAnd protocol.

Trackers send `GET` or `POST /osmand?id=...&lat=...&lon=...` (a form body when the URL has no
query), or the Traccar Client apps `POST` JSON (Content-Type application/json). The route wraps
what was sent as `{"query": {...}}` or `{"body": {...}}`, so the raw message keeps it exactly,
and the OsmAnd adapter maps it (`adapters/mobile/osmand.py`).

Trackers resend a report until it is taken, and keep the ones behind it waiting meanwhile, so
the answers are Traccar's: accepted is 200 (not the 202 of the other push endpoints), an unknown
device 404, anything else refused 400 with the reason (an OperationOutcome, counted in
`zc_messages_rejected_total`). A report stamped in the future is filtered, not refused:
answered 200 with a warning, not stored, counted in `zc_message_warnings_total`. A repeat of an
accepted report is answered 200 again and stored once (one row per unit and moment;
`zc_position_duplicates_total` counts the repeats).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from adapters import AdapterError
from adapters.base import error
from adapters.mobile.osmand import ADAPTER
from api.access import AuditDep, DeviceAccess, PrincipalDep, add_route
from api.audit import AuditContext
from api.contract import OUTCOME_REF, FhirJSONResponse, fhir_content, refusal
from api.deps import ConnDep, LocationsDep, ProducerDep, SettingsDep
from api.fhir_body import json_object_body
from api.ingest import accept
from api.limits import JSON_MEDIA_TYPES, LimitsDep, RequestLimits, check_media_type
from api.location_cache import LocationCache
from api.outcome import outcome_response
from core.identity import Principal
from core.metrics import MESSAGES_REJECTED
from core.refusals import Invalid

log = structlog.get_logger()


def _parameter(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": {"type": "string"}}


QUERY_PARAMETERS = [
    _parameter("id", "the mobile unit's id (registered with PUT /v1/mobile-units/{id}); "
                     "`deviceid` is read as well"),
    _parameter("lat", "latitude, WGS84 decimal degrees"),
    _parameter("lon", "longitude, WGS84 decimal degrees (or `location=lat,lon`)"),
    _parameter("timestamp", "time of the fix: Unix seconds, or ISO 8601 with timezone"),
    _parameter("speed", "speed in knots (stored as km/h)"),
    _parameter("bearing", "heading in degrees clockwise from north (`heading` as well)"),
    _parameter("accuracy", "accuracy in metres"),
    _parameter("valid", "false: the tracker has no fix; nothing is stored"),
]
JSON_BODY = {"type": "object", "required": ["device_id", "location"], "properties": {
    "device_id": {"type": "string"},
    "location": {"description": "one report, or a list of them: {timestamp (ISO 8601), coords: "
                 "{latitude, longitude, speed (m/s), heading, accuracy, altitude}, is_moving, "
                 "battery}"}}}
OPENAPI_GET = {"parameters": QUERY_PARAMETERS}
FORM_BODY = {"type": "object", "description": "the report's parameters, as in the query",
             "properties": {p["name"]: {"type": "string"} for p in QUERY_PARAMETERS}}
MEDIA_TYPES = (*JSON_MEDIA_TYPES, "application/x-www-form-urlencoded")
OPENAPI_POST = {"parameters": QUERY_PARAMETERS, "requestBody": {"required": False, "content": {
    "application/json": {"schema": JSON_BODY},
    "application/x-www-form-urlencoded": {"schema": FORM_BODY}}}}
ANSWERS: dict[int | str, dict[str, Any]] = {
    200: fhir_content(OUTCOME_REF, "accepted (an OperationOutcome with warnings and the "
                                   "message id)"),
    400: refusal(400, "refused: an OperationOutcome naming the parameter and the rule"),
    404: refusal(404, "the device id is not a registered mobile unit"),
}


def _query(request: Request) -> dict[str, Any]:
    # A repeated parameter counts once, its last value, as Traccar reads it. The device key
    # is a credential, not part of the report: it never reaches the raw message.
    return {"query": {k: v for k, v in request.query_params.items() if k != "key"}}


async def _posted(request: Request) -> dict[str, Any]:
    """The POST as the adapter's payload: JSON body, URL query, or a form body (trackers may
    send the last two without a Content-Type)."""
    check_media_type(request, MEDIA_TYPES, missing_ok=True)
    content_type = request.headers.get("content-type", "").lower()
    if content_type.startswith("application/json"):
        return {"body": await json_object_body(request)}
    if set(request.query_params) - {"key"}:
        return _query(request)
    try:
        form = (await request.body()).decode("ascii")
    except UnicodeDecodeError as exc:
        raise AdapterError([error("structure", "body", "a form body must be URL-encoded "
                                  f"ASCII: {exc}")]) from exc
    return {"query": dict(parse_qsl(form))}


def _refused(request: Request, exc: Invalid) -> JSONResponse:
    """404 for an unknown device, 400 for everything else refused; counted like any refusal."""
    status = 404 if any(i.code == "not-found" for i in exc.issues) else 400
    audit = getattr(request.state, "audit", None)
    if isinstance(audit, AuditContext):
        audit.reason = str(exc)
    MESSAGES_REJECTED.labels(stage="api", reason=exc.reason).inc()
    log.info("message_rejected", path=request.url.path, reason=exc.reason, detail=str(exc))
    return outcome_response(status, exc.issues)


async def _take(request: Request, payload: dict[str, Any], conn: ConnDep,
                producer: ProducerDep, settings: SettingsDep, principal: Principal,
                audit: AuditContext, locations: LocationCache,
                limits: RequestLimits) -> JSONResponse:
    try:
        answer = await accept(payload, ADAPTER, conn=conn, producer=producer, settings=settings,
                              principal=principal, audit=audit, locations=locations,
                              limits=limits, size=len(await request.body()))
    except Invalid as exc:  # the adapter's refusals, and the body's form
        return _refused(request, exc)
    answer.status_code = 200
    return answer


async def osmand_get(request: Request, conn: ConnDep, producer: ProducerDep,
                     settings: SettingsDep, principal: PrincipalDep, audit: AuditDep,
                     locations: LocationsDep, limits: LimitsDep) -> JSONResponse:
    """A position report in the query string (OsmAnd app, Traccar Client, hardware trackers)."""
    return await _take(request, _query(request), conn, producer, settings, principal, audit,
                       locations, limits)


async def osmand_post(request: Request, conn: ConnDep, producer: ProducerDep,
                      settings: SettingsDep, principal: PrincipalDep, audit: AuditDep,
                      locations: LocationsDep, limits: LimitsDep) -> JSONResponse:
    """A report in the query string or a form body, or Traccar Client JSON (one or a batch)."""
    try:
        payload = await _posted(request)
    except Invalid as exc:  # the adapter's refusals, and the body's form
        return _refused(request, exc)
    return await _take(request, payload, conn, producer, settings, principal, audit,
                       locations, limits)


def router() -> APIRouter:
    """GET and POST /osmand: a tracker with its unit's device key (`?key=`), or the
    provider's own system with a bearer token."""
    built = APIRouter(tags=["Positions of mobile units (trackers)"])
    rule = DeviceAccess(("provider", "device"), "push osmand", "write")
    # Traccar's answers: every refusal of a report is a 400 (an unknown device 404), never 422.
    add_route(built, "/osmand", osmand_get, methods=["GET"], summary=ADAPTER.summary,
              responses=ANSWERS, openapi_extra=OPENAPI_GET, rule=rule,
              response_class=FhirJSONResponse, never=(422,))
    add_route(built, "/osmand", osmand_post, methods=["POST"], summary=ADAPTER.summary,
              responses=ANSWERS, openapi_extra=OPENAPI_POST, rule=rule,
              response_class=FhirJSONResponse, never=(422,))
    return built
