"""API clients: registering, listing and revoking them, over HTTP (admin) or from a shell.

    python -m api.clients add --organization umcg --role provider
    python -m api.clients add --organization zcv-west --role zcv --region west
    python -m api.clients list [--organization umcg]
    python -m api.clients revoke <client_id>

`add` prints the secret once; only its argon2id hash is kept. A revoked client is refused from
its next request on. Every change is audited, from the shell as `cli:<user>`.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg

from core.audit_chain import AuditRecord
from core.credentials import hash_secret, new_client_id, new_secret
from core.identity import CLIENT_ROLES
from core.refusals import BusinessRule, Invalid, NotFound, error
from core.settings import get_settings
from definitions import load_catalogue
from storage import audit as audit_store
from storage.clients import ApiClient, create_client, list_clients, revoke_client
from storage.facilities import get_organization

Conn = psycopg.AsyncConnection[Any]


@dataclass(frozen=True)
class NewClient:
    """A client just registered, with the secret that is shown this once."""

    client: ApiClient
    secret: str


def check_grant(role: str, regions: list[str], national: bool) -> None:
    """Invalid unless role, regions and the national grant fit together."""
    if role not in CLIENT_ROLES:
        raise Invalid([error("value", "role", f"role must be one of {', '.join(CLIENT_ROLES)}")])
    if role != "zcv" and (regions or national):
        raise Invalid([error("value", "regions", "regions and national apply to zcv clients "
                                                 "only")])
    if role == "zcv" and not (regions or national):
        raise Invalid([error("required", "regions", "a zcv client coordinates at least one "
                                                    "ROAZ region (or is national)")])
    known = load_catalogue().regions
    unknown = [r for r in regions if r not in known]
    if unknown:
        raise Invalid([error("value", "regions", f"unknown ROAZ region {', '.join(unknown)}; "
                                                 f"one of {', '.join(sorted(known))}")])


async def register_client(conn: Conn, *, organization: str, role: str, regions: list[str],
                          national: bool) -> NewClient:
    """Register a client; a provider's organisation must be registered first."""
    check_grant(role, regions, national)
    if role == "provider" and await get_organization(conn, organization) is None:
        raise NotFound(f"Organization/{organization} is not registered; register it first "
                           f"with PUT /fhir/Organization/{organization}", "organization")
    secret = new_secret()
    # argon2 takes ~0.1 s of CPU: off the event loop.
    hashed = await asyncio.to_thread(hash_secret, secret)
    client = await create_client(conn, client_id=new_client_id(role), secret_hash=hashed,
                                 organization=organization, role=role, regions=sorted(regions),
                                 national=national)
    return NewClient(client, secret)


def client_json(client: ApiClient) -> dict[str, Any]:
    """The public view of a client (never its secret or hash)."""
    return {"client_id": client.client_id, "organization": client.organization,
            "role": client.role, "regions": client.regions, "national": client.national,
            "created_at": client.created_at.isoformat(), "revoked": client.revoked,
            "revoked_at": client.revoked_at.isoformat() if client.revoked_at else None}


def _audit(action: str, target: str, outcome: str = "accepted", status: int = 200,
           reason: str | None = None) -> AuditRecord:
    return AuditRecord(at=datetime.now(UTC), request_id=f"cli-{uuid.uuid4().hex[:12]}",
                       client_id=f"cli:{getpass.getuser()}", organization=None, role="admin",
                       action=action, target=target, outcome=outcome, status=status,
                       reason=reason)


async def _command(args: argparse.Namespace, database_url: str) -> Any:
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        if args.command == "list":
            return [client_json(c) for c in await list_clients(conn,
                                                               organization=args.organization)]
        if args.command == "add":
            made = await register_client(conn, organization=args.organization, role=args.role,
                                         regions=args.region or [], national=args.national)
            await audit_store.append(conn, [_audit("create client", made.client.client_id,
                                                   status=201)])
            return {**client_json(made.client), "client_secret": made.secret}
        revoked = await revoke_client(conn, client_id=args.client_id)
        await audit_store.append(conn, [_audit(
            "revoke client", args.client_id, "accepted" if revoked else "refused",
            200 if revoked else 404, None if revoked else "no such client")])
        await conn.commit()
        if revoked is None:
            raise BusinessRule(f"no client {args.client_id}", "client_id")
        return client_json(revoked)


def main(argv: list[str] | None = None) -> None:
    """CLI entry point; prints JSON."""
    parser = argparse.ArgumentParser(prog="python -m api.clients", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add", help="register a client; prints its secret once")
    add.add_argument("--organization", required=True)
    add.add_argument("--role", required=True, choices=CLIENT_ROLES)
    add.add_argument("--region", action="append", help="zcv: a ROAZ region (repeatable)")
    add.add_argument("--national", action="store_true", help="zcv: may read every region")
    listing = commands.add_parser("list", help="every client")
    listing.add_argument("--organization")
    revoke = commands.add_parser("revoke", help="revoke a client from its next request on")
    revoke.add_argument("client_id")
    args = parser.parse_args(argv)
    try:
        result = asyncio.run(_command(args, get_settings().database_url))
    except (Invalid, BusinessRule, NotFound) as exc:
        sys.stderr.write(f"refused: {exc}\n")
        sys.exit(2)
    sys.stdout.write(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
