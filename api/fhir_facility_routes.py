"""FHIR R4 facility information: Organization, Location, HealthcareService.

PUT creates or replaces (update-as-create); every change is kept as a version with its validity
period, readable with GET .../{id} and GET .../{id}/_history.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

import psycopg
import structlog
from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse

from adapters import AdapterError
from adapters.base import error
from adapters.facility import (
    healthcare_service_record,
    healthcare_service_schema,
    location_record,
    location_schema,
    organization_record,
    organization_schema,
)
from api.access import Access, AuditDep, PrincipalDep, add_route
from api.contract import FhirJSONResponse, fhir_content, named, refusal
from api.deps import ConnDep, LocationsDep
from api.fhir_body import FHIR_JSON, fhir_body, fhir_request_body
from api.limits import declare_body, limits_of, offload
from api.ownership import check_may_read_registration, check_may_register
from core.identity import Principal, Role
from core.ids import ID_PATTERN
from core.refusals import NotFound
from storage.facilities import (
    FacilityVersion,
    facility_history,
    get_location,
    get_organization,
    upsert_healthcare_service,
    upsert_location,
    upsert_organization,
)

log = structlog.get_logger()
FhirId = Annotated[str, Path(pattern=ID_PATTERN, description="FHIR logical id")]
Conn = psycopg.AsyncConnection[Any]
VALID_PERIOD_URL = "https://zorgcapaciteit.nl/fhir/StructureDefinition/valid-period"


@dataclass(frozen=True)
class FacilityKind:
    """How one facility resource type is validated, checked against the registry, and stored."""

    parse: Callable[[dict[str, Any], str], Any]
    store: Callable[[Conn, Any], Awaitable[bool]]
    references: Callable[[Any], list[tuple[str, str, str]]]  # (type, id, element)
    writers: tuple[Role, ...]  # who may register one (providers only their own)
    schema: Callable[[], dict[str, Any]]  # the resource as taken (adapters/fhir_schema.py)


KINDS = {
    "Organization": FacilityKind(organization_record, upsert_organization, lambda r: [],
                                 ("admin", "provider"), organization_schema),
    "Location": FacilityKind(location_record, upsert_location, lambda r: [
        ("Organization", r.organization_id, "Location.managingOrganization")], ("provider",),
        location_schema),
    "HealthcareService": FacilityKind(healthcare_service_record, upsert_healthcare_service,
                                      lambda r: [("Organization", r.organization_id,
                                                  "HealthcareService.providedBy")] + [
        ("Location", loc, f"HealthcareService.location[{i}]")
        for i, loc in enumerate(r.location_ids)], ("provider",), healthcare_service_schema),
}
HISTORY_BUNDLE = {"type": "object", "required": ["resourceType", "type", "entry"],
                  "properties": {"resourceType": {"const": "Bundle"}, "type": {"const": "history"},
                                 "total": {"type": "integer"},
                                 "entry": {"type": "array", "items": {"type": "object"}}}}
READERS: tuple[Role, ...] = ("provider", "zcv", "admin")


async def _check_references(conn: Conn, references: list[tuple[str, str, str]]) -> None:
    lookups = {"Organization": get_organization, "Location": get_location}
    missing = [
        error("not-found", element, f"{kind}/{rid} is not registered; register it first")
        for kind, rid, element in references if await lookups[kind](conn, rid) is None
    ]
    if missing:
        raise AdapterError(missing)


def with_meta(version: FacilityVersion) -> dict[str, Any]:
    """The stored resource with `meta`: its version id, last update and validity period."""
    period = {"start": version.valid_from.isoformat()}
    if version.valid_to is not None:
        period["end"] = version.valid_to.isoformat()
    meta = {"versionId": str(version.version), "lastUpdated": version.valid_from.isoformat(),
            "extension": [{"url": VALID_PERIOD_URL, "valuePeriod": period}]}
    return {**version.resource, "meta": meta}


def _not_found(kind: str, resource_id: str) -> NotFound:
    return NotFound(f"{kind}/{resource_id} is not registered", kind)


async def put_facility(kind: str, resource_id: str, request: Request, conn: Conn,
                       principal: Principal) -> JSONResponse:
    """Validate, check ownership and references, store with a new version; 201 when new,
    else 200."""
    payload = await fhir_body(request, kind)
    if payload.get("id", resource_id) != resource_id:
        raise AdapterError([error("invalid", f"{kind}.id",
                                  f"id in the body ({payload['id']!r}) differs from the URL")])
    spec = KINDS[kind]
    # FHIR validation of a large resource takes a while: off the event loop.
    record = await offload(limits_of(request), spec.parse, payload, resource_id)
    await check_may_register(conn, principal, kind, resource_id,
                             getattr(record, "organization_id", resource_id),
                             getattr(record, "location_ids", ()))
    await _check_references(conn, spec.references(record))
    created = await spec.store(conn, record)
    log.info("facility_registered", kind=kind, id=resource_id, created=created,
             provider=getattr(record, "organization_id", resource_id))
    current = (await facility_history(conn, kind, resource_id))[0]
    return JSONResponse(with_meta(current), status_code=201 if created else 200,
                        media_type=FHIR_JSON, headers={"Location": f"/fhir/{kind}/{resource_id}"})


async def read_facility(kind: str, resource_id: str, conn: Conn) -> JSONResponse:
    """The current version."""
    versions = await facility_history(conn, kind, resource_id)
    if not versions or versions[0].valid_to is not None:
        raise _not_found(kind, resource_id)
    return JSONResponse(with_meta(versions[0]), media_type=FHIR_JSON)


async def history(kind: str, resource_id: str, conn: Conn) -> JSONResponse:
    """A FHIR history Bundle, newest first, each version with its validity period."""
    versions = await facility_history(conn, kind, resource_id)
    if not versions:
        raise _not_found(kind, resource_id)
    entries = [{"fullUrl": f"{kind}/{resource_id}/_history/{v.version}",
                "resource": with_meta(v),
                "response": {"status": "201" if v.version == 1 else "200",
                             "lastModified": v.valid_from.isoformat()}} for v in versions]
    bundle = {"resourceType": "Bundle", "type": "history", "total": len(entries),
              "entry": entries}
    return JSONResponse(bundle, media_type=FHIR_JSON)


def _register(router: APIRouter, kind: str) -> None:
    async def put(resource_id: FhirId, request: Request, conn: ConnDep,
                  principal: PrincipalDep, audit: AuditDep,
                  locations: LocationsDep) -> JSONResponse:
        audit.target = f"{kind}/{resource_id}"
        answer = await put_facility(kind, resource_id, request, conn, principal)
        locations.forget(resource_id)
        return answer

    async def get(resource_id: FhirId, conn: ConnDep, principal: PrincipalDep) -> JSONResponse:
        await check_may_read_registration(conn, principal, kind, resource_id)
        return await read_facility(kind, resource_id, conn)

    async def get_history(resource_id: FhirId, conn: ConnDep,
                          principal: PrincipalDep) -> JSONResponse:
        await check_may_read_registration(conn, principal, kind, resource_id)
        return await history(kind, resource_id, conn)

    path = f"/{kind}/{{resource_id}}"
    shape = named(kind, KINDS[kind].schema())
    missing = {404: refusal(404, f"no {kind} with this id is registered")}
    declare_body(put, "fhir")
    add_route(router, path, put, methods=["PUT"], summary=f"Register or update a {kind}",
              openapi_extra=fhir_request_body(shape), name=f"put_{kind}",
              response_class=FhirJSONResponse,
              responses={200: fhir_content(shape, "updated: the current version"),
                         201: fhir_content(shape, "created: the first version"),
                         404: refusal(404, "an organisation or location it refers to is not "
                                           "registered")},
              rule=Access(KINDS[kind].writers, f"register {kind}", "write"))
    add_route(router, path, get, methods=["GET"], summary=f"Read the current {kind}",
              name=f"read_{kind}", response_class=FhirJSONResponse,
              responses={200: fhir_content(shape, f"the current {kind}"), **missing},
              rule=Access(READERS, f"read {kind}", "read"))
    add_route(router, f"{path}/_history", get_history, methods=["GET"],
              summary=f"Every version of a {kind} with its validity period",
              name=f"history_{kind}", response_class=FhirJSONResponse,
              responses={200: fhir_content(HISTORY_BUNDLE, "a history Bundle, newest first"),
                         **missing},
              rule=Access(READERS, f"read {kind} history", "read"))


def router() -> APIRouter:
    """PUT, GET and _history for each facility resource type."""
    built = APIRouter(prefix="/fhir", tags=["FHIR R4 facility information (provider systems)"])
    for kind in KINDS:
        _register(built, kind)
    return built
