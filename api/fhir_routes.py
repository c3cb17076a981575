"""FHIR R4 endpoints where provider systems push capacity."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from adapters import adapter_for
from api.deps import ConnDep, ProducerDep, SettingsDep
from api.fhir_body import fhir_body, fhir_request_body
from api.ingest import accept

router = APIRouter(prefix="/fhir", tags=["FHIR R4 capacity (provider systems)"])


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
