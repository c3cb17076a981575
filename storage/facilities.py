"""Facility information: organisations and their locations, as registered over FHIR."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import class_row

from core.facilities import HealthcareServiceRecord, LocationRecord, OrganizationRecord
from storage.jsonb import jsonb


@dataclass(frozen=True)
class FacilityVersion:
    """One version of a facility resource and the period in which it was valid."""

    version: int
    valid_from: datetime
    valid_to: datetime | None
    resource: dict[str, Any]


async def upsert_organization(
    conn: psycopg.AsyncConnection[Any], org: OrganizationRecord,
) -> bool:
    """Create or replace an organisation, keeping the old version; True when it was new."""
    await record_version(conn, "Organization", org.id, org.resource)
    cur = await conn.execute(
        "INSERT INTO organization (id, name, ura, agb, resource) VALUES (%s, %s, %s, %s, %s)"
        " ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, ura = EXCLUDED.ura,"
        " agb = EXCLUDED.agb, resource = EXCLUDED.resource, updated_at = now()"
        " RETURNING (xmax = 0)",
        (org.id, org.name, org.ura, org.agb, jsonb(org.resource)),
    )
    row = await cur.fetchone()
    return bool(row and row[0])


async def upsert_location(conn: psycopg.AsyncConnection[Any], loc: LocationRecord) -> bool:
    """Create or replace a location, keeping the old version; True when it was new."""
    await record_version(conn, "Location", loc.id, loc.resource)
    cur = await conn.execute(
        "INSERT INTO location (id, organization_id, name, sector, roaz_region, latitude,"
        " longitude, veiligheidsregio, resource) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (id) DO UPDATE SET organization_id = EXCLUDED.organization_id,"
        " name = EXCLUDED.name, sector = EXCLUDED.sector, roaz_region = EXCLUDED.roaz_region,"
        " latitude = EXCLUDED.latitude, longitude = EXCLUDED.longitude,"
        " veiligheidsregio = EXCLUDED.veiligheidsregio,"
        " resource = EXCLUDED.resource, updated_at = now()"
        " RETURNING (xmax = 0)",
        (loc.id, loc.organization_id, loc.name, loc.sector, loc.roaz_region, loc.latitude,
         loc.longitude, loc.veiligheidsregio, jsonb(loc.resource)),
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


LOCATION_COLUMNS = ("id, organization_id, name, sector, roaz_region, latitude, longitude,"
                    " resource, veiligheidsregio")


async def get_location(
    conn: psycopg.AsyncConnection[Any], location_id: str,
) -> LocationRecord | None:
    """The location with this id, or None."""
    async with conn.cursor(row_factory=class_row(LocationRecord)) as cur:
        await cur.execute(f"SELECT {LOCATION_COLUMNS} FROM location WHERE id = %s",
                          (location_id,))
        return await cur.fetchone()


async def get_locations(
    conn: psycopg.AsyncConnection[Any], location_ids: list[str],
) -> dict[str, LocationRecord]:
    """The registered ones among `location_ids`, by id, in one query."""
    async with conn.cursor(row_factory=class_row(LocationRecord)) as cur:
        await cur.execute(f"SELECT {LOCATION_COLUMNS} FROM location WHERE id = ANY(%s)",
                          (location_ids,))
        return {loc.id: loc for loc in await cur.fetchall()}


async def upsert_healthcare_service(
    conn: psycopg.AsyncConnection[Any], service: HealthcareServiceRecord,
) -> bool:
    """Create or replace a service, keeping the old version; True when it was new."""
    await record_version(conn, "HealthcareService", service.id, service.resource)
    cur = await conn.execute(
        "INSERT INTO healthcare_service (id, organization_id, location_ids, name, resource)"
        " VALUES (%s, %s, %s, %s, %s)"
        " ON CONFLICT (id) DO UPDATE SET organization_id = EXCLUDED.organization_id,"
        " location_ids = EXCLUDED.location_ids, name = EXCLUDED.name,"
        " resource = EXCLUDED.resource, updated_at = now()"
        " RETURNING (xmax = 0)",
        (service.id, service.organization_id, service.location_ids, service.name,
         jsonb(service.resource)),
    )
    row = await cur.fetchone()
    return bool(row and row[0])


async def record_version(
    conn: psycopg.AsyncConnection[Any], resource_type: str, resource_id: str,
    resource: dict[str, Any],
) -> None:
    """Close the current version and open a new one, unless the content is unchanged.

    Runs in the caller's transaction; a transaction-scoped advisory lock per resource keeps two
    concurrent updates from both opening a version.
    """
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))",
                       (f"{resource_type}/{resource_id}",))
    cur = await conn.execute(
        "SELECT version, resource FROM facility_version WHERE resource_type = %s"
        " AND resource_id = %s AND valid_to IS NULL", (resource_type, resource_id),
    )
    current = await cur.fetchone()
    if current is not None and current[1] == resource:
        return
    await conn.execute(
        "UPDATE facility_version SET valid_to = now() WHERE resource_type = %s"
        " AND resource_id = %s AND valid_to IS NULL", (resource_type, resource_id),
    )
    await conn.execute(
        "INSERT INTO facility_version (resource_type, resource_id, version, valid_from,"
        " resource) VALUES (%s, %s, %s, now(), %s)",
        (resource_type, resource_id, (current[0] if current else 0) + 1, jsonb(resource)),
    )


async def facility_history(
    conn: psycopg.AsyncConnection[Any], resource_type: str, resource_id: str,
) -> list[FacilityVersion]:
    """Every version of a facility resource, newest first."""
    async with conn.cursor(row_factory=class_row(FacilityVersion)) as cur:
        await cur.execute(
            "SELECT version, valid_from, valid_to, resource FROM facility_version"
            " WHERE resource_type = %s AND resource_id = %s ORDER BY version DESC",
            (resource_type, resource_id),
        )
        return await cur.fetchall()


async def facility_as_of(
    conn: psycopg.AsyncConnection[Any], resource_type: str, resource_id: str, moment: datetime,
) -> FacilityVersion | None:
    """The version that was valid at `moment`, or None."""
    async with conn.cursor(row_factory=class_row(FacilityVersion)) as cur:
        await cur.execute(
            "SELECT version, valid_from, valid_to, resource FROM facility_version"
            " WHERE resource_type = %s AND resource_id = %s AND valid_from <= %s"
            " AND (valid_to IS NULL OR valid_to > %s)",
            (resource_type, resource_id, moment, moment),
        )
        return await cur.fetchone()


# The table that says who owns each kind of registered thing (an organisation owns itself).
OWNER_QUERIES = {
    "Organization": "SELECT id FROM organization WHERE id = %s",
    "Location": "SELECT organization_id FROM location WHERE id = %s",
    "HealthcareService": "SELECT organization_id FROM healthcare_service WHERE id = %s",
    "MobileUnit": "SELECT organization_id FROM mobile_unit WHERE id = %s",
}


async def owner_of(conn: psycopg.AsyncConnection[Any], kind: str, resource_id: str) -> str | None:
    """The organisation that registered `kind/resource_id`; None when it is not registered."""
    cur = await conn.execute(OWNER_QUERIES[kind], (resource_id,))
    row = await cur.fetchone()
    return None if row is None else str(row[0])


async def owners_of(conn: psycopg.AsyncConnection[Any], location_ids: list[str],
                    ) -> dict[str, str]:
    """The owning organisation of each registered location among `location_ids`."""
    cur = await conn.execute("SELECT id, organization_id FROM location WHERE id = ANY(%s)",
                             (location_ids,))
    return {str(row[0]): str(row[1]) for row in await cur.fetchall()}
