"""Registering mobile units (with their trackers' device keys) and providers' mapping tables."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from pydantic import Field

from adapters import adapter_for, registry
from adapters.facility import MAX_NAME_CHARS
from adapters.request_schemas import mapping_schema as adapter_mapping_schema
from api.access import PROVIDER, REGISTRATION_READERS, Access, AuditDep, PrincipalDep, add_route
from api.contract import refusal
from api.deps import ConnDep
from api.fhir_body import JsonBody, json_body, json_object_body, json_request_body
from api.ownership import (
    check_may_read_registration,
    check_may_register,
    check_owns,
    read_scope,
)
from core.credentials import device_key_hash, new_secret
from core.identity import Principal, Role
from core.ids import ID_PATTERN
from core.mobile_units import MobileUnit, UnitKind
from core.refusals import Invalid, NotFound, error
from definitions import load_catalogue
from storage.clients import replace_device_key, revoke_device_keys
from storage.facilities import get_location, get_organization
from storage.mappings import get_mapping, put_mapping
from storage.units import get_unit, upsert_unit

MAPPING_READERS: tuple[Role, ...] = ("provider", "admin")
UnitId = Annotated[str, Path(pattern=ID_PATTERN)]
LocationId = Annotated[str, Path(pattern=ID_PATTERN)]
# The source formats that take a mapping table (by their adapter): what register_mapping takes.
MAPPED_FORMATS = sorted(a.source_format for a in registry().values() if a.needs_mapping)
SourceFormat = Annotated[str, Path(json_schema_extra={"enum": MAPPED_FORMATS})]


class MobileUnitIn(JsonBody):
    """A mobile unit as registered by its operator."""

    kind: UnitKind
    organization_id: str = Field(max_length=64,
                                 description="registered Organization that operates the unit")
    label: str = Field(min_length=1, max_length=MAX_NAME_CHARS,
                       description="call sign or name, e.g. 16-123")
    roaz_region: str = Field(max_length=64)
    veiligheidsregio: str | None = Field(None, max_length=64)
    capabilities: list[str] = Field(default_factory=list, max_length=20,
                                    description="ambulance: urgency classes it serves (A1, A2, B)")


async def _check_unit(conn: ConnDep, unit: MobileUnitIn) -> None:
    catalogue = load_catalogue()
    if unit.roaz_region not in catalogue.regions:
        raise Invalid(f"unknown ROAZ region {unit.roaz_region!r}", "roaz_region")
    if unit.veiligheidsregio and unit.veiligheidsregio not in catalogue.safety_regions:
        raise Invalid(f"unknown veiligheidsregio {unit.veiligheidsregio!r}", "veiligheidsregio")
    if await get_organization(conn, unit.organization_id) is None:
        raise NotFound(f"Organization/{unit.organization_id} is not registered",
                           "organization_id")


async def _new_device_key(conn: ConnDep, unit_id: str) -> str:
    key = new_secret()
    await replace_device_key(conn, unit_id=unit_id, key_hash=device_key_hash(key))
    return key


async def put_unit(unit_id: UnitId, request: Request, conn: ConnDep, principal: PrincipalDep,
                   audit: AuditDep) -> JSONResponse:
    """An ambulance, HAP visit car or district nurse whose positions will be sent. A new unit
    gets its tracker's `device_key` in the answer, shown this once (GET /osmand?key=...)."""
    audit.target = f"MobileUnit/{unit_id}"
    unit = await json_body(request, MobileUnitIn)
    await check_may_register(conn, principal, "MobileUnit", unit_id, unit.organization_id)
    await _check_unit(conn, unit)
    created = await upsert_unit(conn, MobileUnit(id=unit_id, **unit.model_dump()))
    answer: dict[str, Any] = {"id": unit_id, "created": created, **unit.model_dump()}
    if created:
        answer["device_key"] = await _new_device_key(conn, unit_id)
    return JSONResponse(answer, status_code=201 if created else 200,
                        headers={"Cache-Control": "no-store"})


async def read_unit(unit_id: UnitId, conn: ConnDep, principal: PrincipalDep) -> MobileUnit:
    """The registered unit (providers: their own; ZCVs: in their regions)."""
    await check_may_read_registration(conn, principal, "MobileUnit", unit_id)
    unit = await get_unit(conn, unit_id)
    if unit is None:
        raise NotFound(f"mobile unit {unit_id} is not registered", "unit_id")
    if principal.role == "zcv":
        read_scope(principal, [unit.roaz_region])
    return unit


async def renew_device_key(unit_id: UnitId, conn: ConnDep, principal: PrincipalDep,
                           audit: AuditDep) -> JSONResponse:
    """Issue a new device key for the unit's tracker; the old key stops working at once."""
    audit.target = f"MobileUnit/{unit_id}"
    await check_owns(conn, principal, "MobileUnit", unit_id)
    key = await _new_device_key(conn, unit_id)
    return JSONResponse({"id": unit_id, "device_key": key}, status_code=201,
                        headers={"Cache-Control": "no-store"})


async def revoke_device_key(unit_id: UnitId, conn: ConnDep, principal: PrincipalDep,
                            audit: AuditDep) -> dict[str, Any]:
    """Revoke the unit's device key (a lost or stolen tracker): refused from its next report."""
    audit.target = f"MobileUnit/{unit_id}"
    await check_owns(conn, principal, "MobileUnit", unit_id)
    return {"id": unit_id, "revoked": await revoke_device_keys(conn, unit_id=unit_id)}


async def _mapped_location(conn: ConnDep, principal: Principal, location_id: str) -> None:
    """A mapping table belongs to a registered location: its provider's (admins read all)."""
    if await get_location(conn, location_id) is None:
        raise NotFound(f"Location/{location_id} is not registered", "location_id")
    await check_may_read_registration(conn, principal, "Location", location_id)


async def register_mapping(location_id: LocationId, source_format: SourceFormat, request: Request,
                           conn: ConnDep, principal: PrincipalDep,
                           audit: AuditDep) -> dict[str, Any]:
    """E.g. the LPZ CSV mapping of department codes to bed categories; see the adapter."""
    audit.target = f"Location/{location_id} {source_format}"
    adapter = adapter_for(source_format)
    if adapter is None or not adapter.needs_mapping:
        raise Invalid(f"{source_format!r} takes no mapping table", "source_format")
    await _mapped_location(conn, principal, location_id)
    mapping = await json_object_body(request, "mapping")
    check = getattr(adapter, "check_mapping", None)
    problems = check(mapping) if check is not None else None
    if problems:
        raise Invalid([error("value", "mapping", str(p)) for p in problems])
    await put_mapping(conn, source_format, location_id, mapping)
    return {"location_id": location_id, "source_format": source_format, "mapping": mapping}


async def read_mapping(location_id: LocationId, source_format: SourceFormat, conn: ConnDep,
                       principal: PrincipalDep) -> dict[str, Any]:
    """The registered mapping table."""
    await _mapped_location(conn, principal, location_id)
    mapping = await get_mapping(conn, source_format, location_id)
    if mapping is None:
        raise NotFound(f"no {source_format} mapping for Location/{location_id}", "mapping")
    return mapping


def mapping_schema() -> dict[str, Any]:
    """The mapping tables of every source format that takes one (by its adapter)."""
    schemas = [adapter_mapping_schema(adapter) for adapter in registry().values()
               if adapter.needs_mapping]
    return schemas[0] if len(schemas) == 1 else {"anyOf": schemas}


def router() -> APIRouter:
    """Units and mappings: written by their provider, units read by ZCVs too."""
    built = APIRouter(prefix="/v1", tags=["Registration (provider systems)"])
    unit_path = "/mobile-units/{unit_id}"
    mapping_path = "/mappings/{location_id}/{source_format:path}"
    own = PROVIDER
    unit_missing = {404: refusal(404, "no mobile unit with this id is registered")}
    add_route(built, unit_path, put_unit, methods=["PUT"],
              summary="Register or update a mobile unit",
              openapi_extra=json_request_body(MobileUnitIn),
              responses={200: {"description": "updated"},
                         404: refusal(404, "the unit's organisation is not registered"),
                         201: {"description": "registered, with the tracker's `device_key` "
                                              "(shown this once)"}},
              rule=Access(own, "register mobile unit", "write"))
    add_route(built, unit_path, read_unit, methods=["GET"], summary="Read a mobile unit",
              responses=unit_missing,
              rule=Access(REGISTRATION_READERS, "read mobile unit", "read"))
    add_route(built, f"{unit_path}/device-key", renew_device_key, methods=["POST"],
              summary="Issue a new device key (the old one stops working)", status_code=201,
              responses=unit_missing, rule=Access(own, "issue device key", "write"))
    add_route(built, f"{unit_path}/device-key", revoke_device_key, methods=["DELETE"],
              summary="Revoke the unit's device key", responses=unit_missing,
              rule=Access(own, "revoke device key", "write"))
    add_route(built, mapping_path, register_mapping, methods=["PUT"],
              summary="Register a location's mapping table for a source format",
              responses={404: refusal(404, "the location is not registered")},
              openapi_extra={"requestBody": {"required": True, "content": {
                  "application/json": {"schema": mapping_schema()}}}},
              rule=Access(own, "register mapping", "write"))
    add_route(built, mapping_path, read_mapping, methods=["GET"], summary="Read a mapping table",
              responses={404: refusal(404, "the location is not registered or has no mapping "
                                           "table for this source format")},
              rule=Access(MAPPING_READERS, "read mapping", "read"))
    return built
