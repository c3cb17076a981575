"""Registering mobile units and providers' mapping tables (JSON)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path
from pydantic import BaseModel, ConfigDict, Field

from adapters import adapter_for
from api.deps import ConnDep
from definitions import load_catalogue
from storage.facilities import get_location, get_organization
from storage.mappings import get_mapping, put_mapping
from storage.units import MobileUnit, get_unit, upsert_unit

router = APIRouter(prefix="/v1", tags=["Registration (provider systems)"])
UnitId = Annotated[str, Path(pattern=r"^[A-Za-z0-9\-\.]{1,64}$")]


class MobileUnitIn(BaseModel):
    """A mobile unit as registered by its operator."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["ambulance", "hap-visit-car", "district-nurse"]
    organization_id: str = Field(description="registered Organization that operates the unit")
    label: str = Field(min_length=1, description="call sign or name, e.g. 16-123")
    roaz_region: str
    veiligheidsregio: str | None = None
    capabilities: list[str] = Field(default_factory=list,
                                    description="ambulance: urgency classes it serves (A1, A2, B)")


async def _check_unit(conn: ConnDep, unit: MobileUnitIn) -> None:
    catalogue = load_catalogue()
    if unit.roaz_region not in catalogue.regions:
        raise HTTPException(422, f"unknown ROAZ region {unit.roaz_region!r}")
    if unit.veiligheidsregio and unit.veiligheidsregio not in catalogue.safety_regions:
        raise HTTPException(422, f"unknown veiligheidsregio {unit.veiligheidsregio!r}")
    if await get_organization(conn, unit.organization_id) is None:
        raise HTTPException(422, f"Organization/{unit.organization_id} is not registered")


@router.put("/mobile-units/{unit_id}", summary="Register or update a mobile unit")
async def put_unit(unit_id: UnitId, unit: MobileUnitIn, conn: ConnDep) -> dict[str, Any]:
    """An ambulance, HAP visit car or district nurse whose positions will be sent."""
    await _check_unit(conn, unit)
    created = await upsert_unit(conn, MobileUnit(id=unit_id, **unit.model_dump()))
    return {"id": unit_id, "created": created, **unit.model_dump()}


@router.get("/mobile-units/{unit_id}", summary="Read a mobile unit")
async def read_unit(unit_id: UnitId, conn: ConnDep) -> MobileUnit:
    """The registered unit."""
    unit = await get_unit(conn, unit_id)
    if unit is None:
        raise HTTPException(404, f"mobile unit {unit_id} is not registered")
    return unit


@router.put("/mappings/{location_id}/{source_format:path}",
            summary="Register a location's mapping table for a source format")
async def register_mapping(location_id: str, source_format: str, mapping: dict[str, Any],
                           conn: ConnDep) -> dict[str, Any]:
    """E.g. the LPZ CSV mapping of department codes to bed categories; see the adapter."""
    adapter = adapter_for(source_format)
    if adapter is None or not adapter.needs_mapping:
        raise HTTPException(422, f"{source_format!r} takes no mapping table")
    if await get_location(conn, location_id) is None:
        raise HTTPException(422, f"Location/{location_id} is not registered")
    check = getattr(adapter, "check_mapping", None)
    if check is not None:
        problems = check(mapping)
        if problems:
            raise HTTPException(422, problems)
    await put_mapping(conn, source_format, location_id, mapping)
    return {"location_id": location_id, "source_format": source_format, "mapping": mapping}


@router.get("/mappings/{location_id}/{source_format:path}", summary="Read a mapping table")
async def read_mapping(location_id: str, source_format: str, conn: ConnDep) -> dict[str, Any]:
    """The registered mapping table."""
    mapping = await get_mapping(conn, source_format, location_id)
    if mapping is None:
        raise HTTPException(404, f"no {source_format} mapping for Location/{location_id}")
    return mapping
