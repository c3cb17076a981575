"""Facility information: organisations and their locations, as registered over FHIR."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import class_row
from psycopg.types.json import Jsonb


@dataclass(frozen=True)
class OrganizationRecord:
    """A care provider organisation (URA / AGB-Z identified)."""

    id: str
    name: str
    ura: str | None
    agb: str | None
    resource: dict[str, Any]


@dataclass(frozen=True)
class LocationRecord:
    """A place where care is given, with its region and position."""

    id: str
    organization_id: str
    name: str
    sector: str
    roaz_region: str
    latitude: float
    longitude: float
    resource: dict[str, Any]


async def upsert_organization(
    conn: psycopg.AsyncConnection[Any], org: OrganizationRecord,
) -> bool:
    """Create or replace an organisation; True when it was new."""
    cur = await conn.execute(
        "INSERT INTO organization (id, name, ura, agb, resource) VALUES (%s, %s, %s, %s, %s)"
        " ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, ura = EXCLUDED.ura,"
        " agb = EXCLUDED.agb, resource = EXCLUDED.resource, updated_at = now()"
        " RETURNING (xmax = 0)",
        (org.id, org.name, org.ura, org.agb, Jsonb(org.resource)),
    )
    row = await cur.fetchone()
    return bool(row and row[0])


async def upsert_location(conn: psycopg.AsyncConnection[Any], loc: LocationRecord) -> bool:
    """Create or replace a location; True when it was new."""
    cur = await conn.execute(
        "INSERT INTO location (id, organization_id, name, sector, roaz_region, latitude,"
        " longitude, resource) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (id) DO UPDATE SET organization_id = EXCLUDED.organization_id,"
        " name = EXCLUDED.name, sector = EXCLUDED.sector, roaz_region = EXCLUDED.roaz_region,"
        " latitude = EXCLUDED.latitude, longitude = EXCLUDED.longitude,"
        " resource = EXCLUDED.resource, updated_at = now()"
        " RETURNING (xmax = 0)",
        (loc.id, loc.organization_id, loc.name, loc.sector, loc.roaz_region, loc.latitude,
         loc.longitude, Jsonb(loc.resource)),
    )
    row = await cur.fetchone()
    return bool(row and row[0])


async def get_organization(
    conn: psycopg.AsyncConnection[Any], organization_id: str,
) -> OrganizationRecord | None:
    """The organisation with this id, or None."""
    async with conn.cursor(row_factory=class_row(OrganizationRecord)) as cur:
        await cur.execute(
            "SELECT id, name, ura, agb, resource FROM organization WHERE id = %s",
            (organization_id,),
        )
        return await cur.fetchone()


async def get_location(
    conn: psycopg.AsyncConnection[Any], location_id: str,
) -> LocationRecord | None:
    """The location with this id, or None."""
    async with conn.cursor(row_factory=class_row(LocationRecord)) as cur:
        await cur.execute(
            "SELECT id, organization_id, name, sector, roaz_region, latitude, longitude,"
            " resource FROM location WHERE id = %s",
            (location_id,),
        )
        return await cur.fetchone()
