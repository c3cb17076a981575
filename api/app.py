"""The FastAPI application: its routes (each with its access rule), refusals, audit, lifespan.

Everything is built in `create_app`: no router is filled at import time, so two apps in one
process (tests, the bench) never share routes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import psycopg
import structlog
from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse, JSONResponse
from psycopg_pool import AsyncConnectionPool

from api import (
    admin_routes,
    alert_routes,
    appointment_routes,
    availability_routes,
    busyness_routes,
    console_routes,
    contract,
    definitions_routes,
    errors,
    fhir_capability,
    fhir_facility_routes,
    fhir_search_routes,
    forecast_routes,
    health_routes,
    history_routes,
    ingest_routes,
    oauth_routes,
    osmand_routes,
    registry_routes,
    stream_routes,
    task_routes,
    units_routes,
)
from api.access import Authenticator, Public, add_route
from api.audit import AuditMiddleware, AuditTrail
from api.events_hub import EventsHub
from api.keys import KeyRing
from api.limits import RequestLimits, RequestLimitsMiddleware
from api.location_cache import LocationCache
from api.producer import RawProducer
from api.revocations import Revocations
from api.tokens import TokenVerifier
from core.metrics import declare_planning
from core.ratelimit import RateLimiter
from core.settings import Settings
from core.topics import events_topic
from definitions.planning import load_planning
from storage.timestamps import read_times_leniently

log = structlog.get_logger()
ROUTERS = (oauth_routes, fhir_capability, fhir_facility_routes, fhir_search_routes,
           ingest_routes, osmand_routes, registry_routes,
           availability_routes, busyness_routes, units_routes, stream_routes, history_routes,
           forecast_routes,
           alert_routes, appointment_routes, task_routes, admin_routes,
           definitions_routes, health_routes, console_routes)


async def openapi_document(request: Request) -> JSONResponse:
    """The OpenAPI document of this API."""
    return JSONResponse(request.app.openapi())


async def docs_page() -> HTMLResponse:
    """Swagger UI; its Authorize button gets a token with client credentials."""
    return get_swagger_ui_html(openapi_url="/openapi.json", title="Zorgcapaciteit API",
                               oauth2_redirect_url="/docs/oauth2-redirect")


async def docs_redirect() -> HTMLResponse:
    """Swagger UI's OAuth redirect page."""
    return get_swagger_ui_oauth2_redirect_html()


def _documents() -> APIRouter:
    built = APIRouter()
    for path, endpoint in (("/openapi.json", openapi_document), ("/docs", docs_page),
                           ("/docs/oauth2-redirect", docs_redirect)):
        add_route(built, path, endpoint, methods=["GET"], include_in_schema=False,
                  rule=Public("read documents"))
    return built


class ZorgcapaciteitAPI(FastAPI):
    """FastAPI whose OpenAPI document declares every body and answer (`api/contract.py`)."""

    def openapi(self) -> dict[str, Any]:
        """The OpenAPI document, built once."""
        return contract.document(self)


async def _configure(conn: psycopg.AsyncConnection[Any]) -> None:
    # One odd stored time must not fail a query for everyone (storage/timestamps.py).
    read_times_leniently(conn.adapters)


def create_app(settings: Settings) -> FastAPI:
    """The API, with its database pool, Kafka producer, keys and audit trail for its lifetime."""
    trail = AuditTrail(settings.audit_flush_seconds)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            settings.database_url, open=False, min_size=1, max_size=10,
            # While the database is away, answer 503 within seconds rather than hang.
            timeout=5.0, configure=_configure,
        )
        await pool.open()
        keys = KeyRing(settings.auth_keys_dir,
                       timedelta(seconds=settings.auth_key_publish_lead_seconds))
        app.state.pool, app.state.settings, app.state.keys = pool, settings, keys
        revocations = Revocations(settings.database_url)
        revocations.start()
        app.state.auth = Authenticator(TokenVerifier(settings, keys), settings, RateLimiter(),
                                       revocations)
        app.state.producer = RawProducer(settings.kafka_bootstrap_servers,
                                         settings.kafka_message_max_bytes)
        app.state.locations = LocationCache()
        app.state.events = EventsHub(settings.kafka_bootstrap_servers, events_topic(settings),
                                     settings.stream_recent_events)
        await app.state.events.start()
        trail.start(pool)
        log.info("api_started", host=settings.api_host, port=settings.api_port)
        try:
            yield
        finally:
            await trail.close()
            await app.state.events.close()
            await revocations.close()
            app.state.producer.close()
            await pool.close()

    app = ZorgcapaciteitAPI(
        title="Zorgcapaciteit",
        summary="Live capacity of Dutch acute care: who has time and a place right now.",
        version="0.2.0", lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None,
    )
    errors.install(app)
    declare_planning(load_planning().metric_pairs())
    app.state.limits = limits = RequestLimits.of(settings)
    # Inside the audit middleware: a body refused while it is read is audited, with its id.
    app.add_middleware(RequestLimitsMiddleware, limits=limits)
    app.add_middleware(AuditMiddleware, trail=trail)
    for module in ROUTERS:
        app.include_router(module.router())
    app.include_router(_documents())
    return app
