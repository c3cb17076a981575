"""FHIR R4 endpoints where provider systems register facilities and push capacity."""

from __future__ import annotations

import json
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse

from adapters import AdapterError, adapter_for
from adapters.base import error
from adapters.facility import location_record, organization_record
from api.deps import ConnDep, ProducerDep, SettingsDep
from api.ingest import accept
from api.outcome import FHIR_JSON
from storage.facilities import get_organization, upsert_location, upsert_organization

router = APIRouter(prefix="/fhir", tags=["FHIR R4 (provider systems)"])
log = structlog.get_logger()
FhirId = Annotated[str, Path(pattern=r"^[A-Za-z0-9\-\.]{1,64}$", description="FHIR logical id")]


def fhir_request_body(resource_type: str) -> dict[str, Any]:
    """OpenAPI for a FHIR JSON body. Handlers read the raw body themselves, so that every
    refusal, malformed JSON included, is an OperationOutcome rather than a framework error."""
    schema = {"type": "object", "description": f"FHIR R4 {resource_type} resource",
              "properties": {"resourceType": {"const": resource_type}}}
    return {"requestBody": {"required": True, "content": {
        FHIR_JSON: {"schema": schema}, "application/json": {"schema": schema}}}}


async def fhir_body(request: Request, resource_type: str) -> dict[str, Any]:
    """The request body as a JSON object of `resource_type`, or AdapterError."""
    try:
        payload = json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise AdapterError([error("structure", resource_type, f"body is not JSON: {exc}")]) from exc
    if not isinstance(payload, dict):
        raise AdapterError([error("structure", resource_type, "body must be a JSON object")])
    return payload


def _check_id(payload: dict[str, Any], resource_id: str, resource_type: str) -> None:
    if payload.get("id", resource_id) != resource_id:
        raise AdapterError([error("invalid", f"{resource_type}.id",
                                  f"id in the body ({payload['id']!r}) differs from the URL")])


def _stored(resource: dict[str, Any], created: bool) -> JSONResponse:
    kind, rid = resource["resourceType"], resource["id"]
    return JSONResponse(resource, status_code=201 if created else 200, media_type=FHIR_JSON,
                        headers={"Location": f"/fhir/{kind}/{rid}"})


@router.put("/Organization/{resource_id}", summary="Register or update an organisation",
            openapi_extra=fhir_request_body("Organization"))
async def put_organization(
    resource_id: FhirId, request: Request, conn: ConnDep,
) -> JSONResponse:
    """Organization (nl-core-HealthcareProvider-Organization) with a URA or AGB-Z identifier."""
    payload = await fhir_body(request, "Organization")
    _check_id(payload, resource_id, "Organization")
    record = organization_record(payload, resource_id)
    created = await upsert_organization(conn, record)
    log.info("organization_registered", provider=resource_id, created=created)
    return _stored(record.resource, created)


@router.put("/Location/{resource_id}", summary="Register or update a location",
            openapi_extra=fhir_request_body("Location"))
async def put_location(
    resource_id: FhirId, request: Request, conn: ConnDep,
) -> JSONResponse:
    """Location (nl-core-HealthcareProvider) with position, ROAZ region, sector, organisation."""
    payload = await fhir_body(request, "Location")
    _check_id(payload, resource_id, "Location")
    record = location_record(payload, resource_id)
    if await get_organization(conn, record.organization_id) is None:
        raise AdapterError([error(
            "not-found", "Location.managingOrganization",
            f"Organization/{record.organization_id} is not registered; register it first",
        )])
    created = await upsert_location(conn, record)
    log.info("location_registered", provider=record.organization_id, location=resource_id,
             created=created)
    return _stored(record.resource, created)


@router.post("/MeasureReport", status_code=202, summary="Push capacity as a MeasureReport",
             openapi_extra=fhir_request_body("MeasureReport"))
async def post_measure_report(
    request: Request, conn: ConnDep, producer: ProducerDep, settings: SettingsDep,
) -> JSONResponse:
    """HL7 SANER-style MeasureReport whose subject is a registered Location.

    Answers 202 once the report is safely on the broker, with warnings for populations that have
    no shared definition; 400/422 with an OperationOutcome naming the element and the rule.
    """
    payload = await fhir_body(request, "MeasureReport")
    adapter = adapter_for("fhir-r4/MeasureReport")
    assert adapter is not None
    return await accept(payload, adapter, conn=conn, producer=producer, settings=settings)
