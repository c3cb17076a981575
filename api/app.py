"""The FastAPI application: routers, error handling, metrics, and the lifespan of its clients."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from psycopg_pool import AsyncConnectionPool

from adapters import AdapterError
from adapters.base import error
from api import (
    admin_routes,
    availability_routes,
    busyness_routes,
    definitions_routes,
    fhir_facility_routes,
    health_routes,
    history_routes,
    ingest_routes,
    osmand_routes,
    registry_routes,
    units_routes,
)
from api.outcome import outcome_response
from api.producer import DeliveryFailed, RawProducer
from core.metrics import MESSAGES_REJECTED
from core.settings import Settings

log = structlog.get_logger()


def _status_for(exc: AdapterError, method: str) -> int:
    # 404: a read of what does not exist; 400: not a valid FHIR resource at all;
    # 422: valid FHIR that breaks a platform rule (unknown reference, value out of range).
    codes = {i.code for i in exc.issues}
    if method == "GET" and "not-found" in codes:
        return 404
    return 400 if codes & {"structure", "invalid"} else 422


async def on_adapter_error(request: Request, exc: Exception) -> JSONResponse:
    """Refused input: OperationOutcome naming element and rule, counted by reason."""
    assert isinstance(exc, AdapterError)
    MESSAGES_REJECTED.labels(stage="api", reason=exc.reason).inc()
    log.info("message_rejected", path=request.url.path, reason=exc.reason, detail=str(exc))
    return outcome_response(_status_for(exc, request.method), exc.issues)


async def on_delivery_failed(request: Request, exc: Exception) -> JSONResponse:
    """The broker did not take the message: nothing was accepted, the provider may retry."""
    MESSAGES_REJECTED.labels(stage="api", reason="broker-unavailable").inc()
    log.error("delivery_failed", path=request.url.path, error=str(exc))
    response = outcome_response(503, [error("business-rule", "", "not accepted: the message "
                                            "could not be queued; retry later")])
    response.headers["Retry-After"] = "5"
    return response


async def on_request_invalid(request: Request, exc: Exception) -> JSONResponse:
    """Path or query errors: an OperationOutcome on FHIR endpoints, FastAPI's JSON elsewhere."""
    assert isinstance(exc, RequestValidationError)
    if not request.url.path.startswith("/fhir/"):
        return JSONResponse({"detail": exc.errors()}, status_code=422)
    issues = [error("invalid", ".".join(str(p) for p in e["loc"]), str(e["msg"]))
              for e in exc.errors()]
    return await on_adapter_error(request, AdapterError(issues))


def create_app(settings: Settings) -> FastAPI:
    """The API, with its database pool and Kafka producer opened for its lifetime."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            settings.database_url, open=False, min_size=1, max_size=10,
        )
        await pool.open()
        app.state.pool, app.state.settings = pool, settings
        app.state.producer = RawProducer(settings.kafka_bootstrap_servers)
        log.info("api_started", host=settings.api_host, port=settings.api_port)
        try:
            yield
        finally:
            app.state.producer.close()
            await pool.close()

    app = FastAPI(
        title="Zorgcapaciteit",
        summary="Live capacity of Dutch acute care: who has time and a place right now.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.add_exception_handler(AdapterError, on_adapter_error)
    app.add_exception_handler(DeliveryFailed, on_delivery_failed)
    app.add_exception_handler(RequestValidationError, on_request_invalid)
    app.include_router(fhir_facility_routes.router)
    app.include_router(ingest_routes.router)
    app.include_router(osmand_routes.router)
    app.include_router(registry_routes.router)
    app.include_router(availability_routes.router)
    app.include_router(busyness_routes.router)
    app.include_router(units_routes.router)
    app.include_router(history_routes.router)
    app.include_router(admin_routes.router)
    app.include_router(definitions_routes.router)
    app.include_router(health_routes.router)
    app.add_api_route("/metrics", metrics, include_in_schema=False)
    return app


async def metrics() -> Response:
    """Prometheus exposition of this process's metrics."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
