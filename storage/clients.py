"""API clients (OAuth 2.0 client credentials) and the device keys of mobile units."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import class_row

Conn = psycopg.AsyncConnection[Any]


@dataclass(frozen=True)
class ApiClient:
    """A registered client: whom it acts for, in which role and regions, and if revoked."""

    client_id: str
    organization: str
    role: str
    regions: list[str]
    national: bool
    created_at: datetime
    revoked_at: datetime | None

    @property
    def revoked(self) -> bool:
        """True once revoked: its tokens are refused from the next request on."""
        return self.revoked_at is not None


CLIENT_COLUMNS = "client_id, organization, role, regions, national, created_at, revoked_at"
# Every API process listens here for revocations (api/revocations.py).
REVOCATION_CHANNEL = "zc_client_revoked"


async def create_client(conn: Conn, *, client_id: str, secret_hash: str, organization: str,
                        role: str, regions: list[str], national: bool) -> ApiClient:
    """Register a client with the hash of its secret."""
    async with conn.cursor(row_factory=class_row(ApiClient)) as cur:
        await cur.execute(
            "INSERT INTO api_client (client_id, secret_hash, organization, role, regions,"
            f" national) VALUES (%s, %s, %s, %s, %s, %s) RETURNING {CLIENT_COLUMNS}",
            (client_id, secret_hash, organization, role, regions, national))
        created = await cur.fetchone()
    assert created is not None
    return created


async def get_client(conn: Conn, *, client_id: str) -> ApiClient | None:
    """The client, revoked or not; None if it never existed."""
    async with conn.cursor(row_factory=class_row(ApiClient)) as cur:
        await cur.execute(f"SELECT {CLIENT_COLUMNS} FROM api_client WHERE client_id = %s",
                          (client_id,))
        return await cur.fetchone()


async def secret_hash_of(conn: Conn, *, client_id: str) -> str | None:
    """The stored hash of an active client's secret; None when unknown or revoked."""
    cur = await conn.execute(
        "SELECT secret_hash FROM api_client WHERE client_id = %s AND revoked_at IS NULL",
        (client_id,))
    row = await cur.fetchone()
    return None if row is None else str(row[0])


async def is_revoked(conn: Conn, *, client_id: str) -> bool | None:
    """The cheap check on every request: True revoked, False active, None not a client here
    (e.g. a person from a region's own identity provider)."""
    cur = await conn.execute(
        "SELECT revoked_at IS NOT NULL FROM api_client WHERE client_id = %s", (client_id,))
    row = await cur.fetchone()
    return None if row is None else bool(row[0])


async def list_clients(conn: Conn, *, organization: str | None = None) -> list[ApiClient]:
    """Every client (of one organisation), oldest first."""
    async with conn.cursor(row_factory=class_row(ApiClient)) as cur:
        await cur.execute(
            f"SELECT {CLIENT_COLUMNS} FROM api_client"
            " WHERE %(org)s::text IS NULL OR organization = %(org)s ORDER BY created_at, client_id",
            {"org": organization})
        return await cur.fetchall()


async def revoke_client(conn: Conn, *, client_id: str) -> ApiClient | None:
    """Revoke a client (idempotent: the first revocation time stays); None if unknown. Every
    API process is told when the caller's transaction commits."""
    async with conn.cursor(row_factory=class_row(ApiClient)) as cur:
        await cur.execute(
            "UPDATE api_client SET revoked_at = coalesce(revoked_at, now())"
            f" WHERE client_id = %s RETURNING {CLIENT_COLUMNS}", (client_id,))
        revoked = await cur.fetchone()
    if revoked is not None:
        await conn.execute("SELECT pg_notify(%s, %s)", (REVOCATION_CHANNEL, client_id))
    return revoked


async def revoked_clients(conn: Conn) -> list[str]:
    """Every revoked client's id."""
    cur = await conn.execute("SELECT client_id FROM api_client WHERE revoked_at IS NOT NULL")
    return [str(row[0]) for row in await cur.fetchall()]


async def replace_device_key(conn: Conn, *, unit_id: str, key_hash: bytes) -> None:
    """Make `key_hash` the unit's only valid device key; earlier keys are revoked."""
    await revoke_device_keys(conn, unit_id=unit_id)
    await conn.execute("INSERT INTO device_key (key_hash, unit_id) VALUES (%s, %s)",
                       (key_hash, unit_id))


async def revoke_device_keys(conn: Conn, *, unit_id: str) -> int:
    """Revoke every valid key of the unit; returns how many."""
    cur = await conn.execute(
        "UPDATE device_key SET revoked_at = now() WHERE unit_id = %s AND revoked_at IS NULL",
        (unit_id,))
    return cur.rowcount


async def unit_of_device_key(conn: Conn, *, key_hash: bytes) -> tuple[str, str] | None:
    """(unit id, operating organisation) of a valid device key; None if unknown or revoked."""
    cur = await conn.execute(
        "SELECT u.id, u.organization_id FROM device_key k JOIN mobile_unit u ON u.id = k.unit_id"
        " WHERE k.key_hash = %s AND k.revoked_at IS NULL", (key_hash,))
    row = await cur.fetchone()
    return None if row is None else (str(row[0]), str(row[1]))
