"""For the platform's administrators: the connected providers, the API clients, the audit trail."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from api.access import ADMIN, Access, AuditDep, add_route
from api.availability_routes import SectorFilter, check_sector
from api.clients import client_json, register_client
from api.contract import refusal
from api.deps import ConnDep
from api.fhir_body import JsonBody, json_body, json_request_body
from api.query_types import BIGINT_MAX, IsoMoment
from core.audit_chain import AuditRecord
from core.ids import ID_PATTERN
from core.refusals import NotFound
from definitions import load_catalogue
from storage import audit as audit_store
from storage.audit import AuditFilter, StoredRecord
from storage.clients import list_clients, revoke_client
from storage.providers import (
    ProviderDelivery,
    RejectionCount,
    provider_deliveries,
    rejection_counts,
)

REJECTION_WINDOW = timedelta(hours=24)


class ProviderOverview(BaseModel):
    """One organisation in one sector."""

    organization_id: str
    name: str
    sector: str
    locations: int
    last_delivery: datetime | None = Field(description="newest message received from any of "
                                                       "its locations")
    items_reported: int = Field(description="distinct items among its latest figures")
    figures: int = Field(description="latest figures (location x item), not reported included")
    figures_fresh: int = Field(description="figures within their item's freshness deadline")
    figures_not_reported: int = Field(description="figures the provider said it does not know")
    fresh_share: float | None = Field(description="figures_fresh / figures; null without any")
    rejected_24h: dict[str, int] = Field(description="messages refused in the last 24 h, by "
                                                     "reason")


class ProvidersResponse(BaseModel):
    """All connected providers (in a sector), as of `generated_at`."""

    generated_at: datetime
    providers: list[ProviderOverview]


def _overview(row: ProviderDelivery, rejected: dict[str, int]) -> ProviderOverview:
    share = round(row.figures_fresh / row.figures, 3) if row.figures else None
    return ProviderOverview(
        organization_id=row.organization_id, name=row.organization_name, sector=row.sector,
        locations=row.locations, last_delivery=row.last_delivery,
        items_reported=row.items_reported, figures=row.figures,
        figures_fresh=row.figures_fresh, figures_not_reported=row.figures_not_reported,
        fresh_share=share, rejected_24h=rejected)


def rejections_by_provider(
    counts: list[RejectionCount],
) -> dict[tuple[str, str | None], dict[str, int]]:
    """Rejection counts keyed by (provider, sector), each a reason → count map."""
    result: dict[tuple[str, str | None], dict[str, int]] = defaultdict(dict)
    for count in counts:
        result[(count.provider, count.sector)][count.reason] = count.rejected
    return result


async def providers(conn: ConnDep, sector: SectorFilter = None) -> ProvidersResponse:
    """Per organisation and sector: how many locations, when it last delivered, how many items
    it reports, the share of its latest figures that are fresh (not reported counts as a
    figure, and is also counted apart), and the messages refused in the last 24 h by reason."""
    check_sector(sector)
    now = datetime.now(UTC)
    freshness = {d.code: d.freshness_minutes for d in load_catalogue().current_all()}
    rows = await provider_deliveries(conn, freshness_minutes=freshness, sector=sector)
    rejected = rejections_by_provider(await rejection_counts(conn, since=now - REJECTION_WINDOW))
    return ProvidersResponse(generated_at=now, providers=[
        _overview(row, rejected.get((row.organization_id, row.sector), {})) for row in rows])


def _grant_rules(schema: dict[str, Any]) -> None:
    """What `api.clients.check_grant` holds a client to, in the body's schema: a ZCV's regions
    are ROAZ region codes, at least one unless it is national; other roles have neither."""
    schema["properties"]["regions"]["items"] = {"enum": sorted(load_catalogue().regions)}
    schema["if"] = {"properties": {"role": {"const": "zcv"}}, "required": ["role"]}
    schema["then"] = {"anyOf": [
        {"properties": {"national": {"const": True}}, "required": ["national"]},
        {"properties": {"regions": {"minItems": 1}}, "required": ["regions"]}]}
    schema["else"] = {"properties": {"regions": {"maxItems": 0}, "national": {"const": False}}}


class ClientIn(JsonBody):
    """A client to register: the organisation it acts for, its role, a ZCV's regions."""

    model_config = ConfigDict(json_schema_extra=_grant_rules)
    organization: str = Field(min_length=1, max_length=64, pattern=ID_PATTERN,
                              description="provider: a registered Organization id; zcv / admin: "
                                          "the centre's or operator's organisation")
    role: Literal["provider", "zcv", "admin"]
    regions: list[str] = Field(default_factory=list, max_length=10,
                               description="zcv: the ROAZ regions it coordinates")
    national: bool = Field(False, description="zcv: may read every region")


async def add_client(request: Request, conn: ConnDep, audit: AuditDep) -> JSONResponse:
    """Register a client. The answer holds `client_secret`, shown this once: only its argon2id
    hash is kept."""
    wanted = await json_body(request, ClientIn)
    made = await register_client(conn, organization=wanted.organization, role=wanted.role,
                                 regions=wanted.regions, national=wanted.national)
    audit.target = f"client {made.client.client_id}"
    return JSONResponse({**client_json(made.client), "client_secret": made.secret},
                        status_code=201, headers={"Cache-Control": "no-store"})


async def clients(conn: ConnDep, organization: Annotated[str | None, Query(
        description="only this organisation's clients")] = None) -> list[dict[str, Any]]:
    """Every client (never a secret): organisation, role, regions, created, revoked."""
    return [client_json(c) for c in await list_clients(conn, organization=organization)]


async def revoke(client_id: Annotated[str, Path(max_length=64)], request: Request,
                 conn: ConnDep, audit: AuditDep) -> dict[str, Any]:
    """Revoke a client: its tokens are refused from its next request on."""
    audit.target = f"client {client_id}"
    revoked = await revoke_client(conn, client_id=client_id)
    if revoked is None:
        raise NotFound(f"no client {client_id}", "client_id")
    await conn.commit()  # before answering: the next request must find it revoked
    request.app.state.auth.revocations.revoke(client_id)
    return client_json(revoked)


@dataclass(frozen=True, kw_only=True)
class AuditEntry(AuditRecord):
    """One act in the trail, with its place in the chain: `seq`, and `hash` (hex SHA-256 over
    the record and the hash before it)."""

    seq: int
    hash: str


def _entry(stored: StoredRecord) -> AuditEntry:
    return AuditEntry(**vars(stored.record), seq=stored.seq, hash=stored.hash.hex())


async def audit_trail(
    conn: ConnDep,
    client_id: Annotated[str | None, Query(max_length=100)] = None,
    organization: Annotated[str | None, Query(max_length=100)] = None,
    action: Annotated[str | None, Query(max_length=100,
                                        description="e.g. `read availability`")] = None,
    outcome: Annotated[Literal["accepted", "refused", "failed"] | None, Query()] = None,
    start: Annotated[IsoMoment | None, Query(alias="from")] = None,
    end: Annotated[IsoMoment | None, Query(alias="to")] = None,
    before: Annotated[int | None, Query(ge=1, le=BIGINT_MAX, description="only records before "
                                                                          "this seq: the next "
                                                                          "page")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditEntry]:
    """The audit trail, newest first: who (client, organisation, role) did what (action,
    target), how it ended and why, when, with the request id. Page with `before`."""
    where = AuditFilter(client_id=client_id, organization=organization, action=action,
                        outcome=outcome, start=start, end=end, before_seq=before)
    return [_entry(s) for s in await audit_store.query(conn, where=where, limit=limit)]


def router() -> APIRouter:
    """The administrators' endpoints."""
    built = APIRouter(prefix="/v1/admin", tags=["Administration"])
    add_route(built, "/providers", providers, methods=["GET"], response_model=ProvidersResponse,
              rule=Access(ADMIN, "read provider overview", "admin"))
    add_route(built, "/clients", add_client, methods=["POST"], status_code=201,
              rule=Access(ADMIN, "create client", "admin"), summary="Register an API client",
              openapi_extra=json_request_body(ClientIn),
              responses={404: refusal(404, "a provider client's organisation is not "
                                           "registered")})
    add_route(built, "/clients", clients, methods=["GET"], rule=Access(ADMIN, "list clients",
                                                                       "admin"),
              summary="Every API client")
    add_route(built, "/clients/{client_id}", revoke, methods=["DELETE"],
              responses={404: refusal(404, "no client with this id")},
              rule=Access(ADMIN, "revoke client", "admin"), summary="Revoke an API client")
    add_route(built, "/audit", audit_trail, methods=["GET"], response_model=list[AuditEntry],
              rule=Access(ADMIN, "read audit trail", "admin"), summary="The audit trail")
    return built
