"""One POST route per declared adapter: adding a source format adds its endpoint by itself."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from adapters import Adapter, registry
from adapters.base import Payload
from adapters.request_schemas import body_schema
from api.access import PROVIDER, Access, AuditDep, PrincipalDep, add_route
from api.contract import OUTCOME_REF, FhirJSONResponse, refusal
from api.deps import ConnDep, LocationsDep, ProducerDep, SettingsDep
from api.fhir_body import FHIR_JSON, csv_body, fhir_body, json_object_body
from api.ingest import accept
from api.limits import BodyKind, LimitsDep, declare_body


def body_kind_of(adapter: Adapter) -> BodyKind:
    """CSV and FHIR bodies may be large (files, Bundles); JSON status messages are small."""
    kinds: dict[str, BodyKind] = {"text/csv": "csv", "application/fhir+json": "fhir"}
    return kinds.get(adapter.media_type, "json")


async def read_payload(request: Request, adapter: Adapter) -> Payload:
    """The body as the adapter's media type wants it: a JSON object or CSV text."""
    if adapter.media_type == "text/csv":
        return await csv_body(request)
    if adapter.media_type == "application/fhir+json":
        # Elements are named from the body's resourceType once it is read (else "body").
        return await fhir_body(request, "body")
    return await json_object_body(request)


def _openapi_body(adapter: Adapter) -> dict[str, object]:
    """The body the adapter reads, as its JSON Schema says (FHIR is also taken as plain JSON)."""
    schema = body_schema(adapter)
    media_types = [adapter.media_type] + (["application/json"]
                                          if adapter.media_type == FHIR_JSON else [])
    return {"requestBody": {"required": True, "content": {
        media_type: {"schema": schema} for media_type in media_types}}}


ACCEPTED: dict[int | str, dict[str, object]] = {202: {
    "description": "accepted: on the broker, to be stored; an OperationOutcome with the message "
                   "id and a warning for each part not stored",
    "content": {FHIR_JSON: {"schema": OUTCOME_REF}}},
    404: refusal(404, "the location or unit the message is about is not registered, or (a "
                      "format that needs one) has no mapping table")}


def _register(router: APIRouter, adapter: Adapter) -> None:
    async def push(request: Request, conn: ConnDep, producer: ProducerDep,
                   settings: SettingsDep, principal: PrincipalDep, audit: AuditDep,
                   locations: LocationsDep, limits: LimitsDep) -> JSONResponse:
        payload = await read_payload(request, adapter)
        return await accept(payload, adapter, conn=conn, producer=producer, settings=settings,
                            principal=principal, audit=audit, locations=locations,
                            limits=limits, size=len(await request.body()))

    assert adapter.path is not None
    declare_body(push, body_kind_of(adapter))
    push.__doc__ = (f"{adapter.summary}. Source format `{adapter.source_format}`, sector "
                    f"{adapter.sector}. Answers 202 once the message is safely on the broker; "
                    "400/422 with an OperationOutcome naming the element and the rule; 413 "
                    "past the size limits, 415 for another Content-Type.")
    add_route(router, adapter.path, push, methods=["POST"], status_code=202,
              summary=adapter.summary, openapi_extra=_openapi_body(adapter),
              response_class=FhirJSONResponse, responses=ACCEPTED,
              name=f"push {adapter.source_format}",
              rule=Access(PROVIDER, f"push {adapter.source_format}", "write"))


def router() -> APIRouter:
    """A push route for every declared adapter with a path; providers push their own figures."""
    built = APIRouter(tags=["Push capacity (provider systems)"])
    for adapter in sorted(registry().values(), key=lambda a: a.source_format):
        if adapter.path is not None:
            _register(built, adapter)
    return built
