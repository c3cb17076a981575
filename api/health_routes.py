"""Liveness of the API and its two dependencies, broker and database."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.access import Public, add_route
from api.deps import PoolDep, ProducerDep


async def _database_ok(pool: PoolDep) -> bool:
    try:
        async with pool.connection(timeout=2.0) as conn:
            await conn.execute("SELECT 1")
    except Exception:  # any failure means "not healthy", the reason is not the caller's business
        return False
    return True


async def healthz(pool: PoolDep, producer: ProducerDep) -> JSONResponse:
    """Checks the database with a query and the broker with a metadata request."""
    database, broker = await asyncio.gather(
        _database_ok(pool), asyncio.to_thread(producer.broker_reachable),
    )
    checks = {"database": "ok" if database else "down", "broker": "ok" if broker else "down"}
    healthy = database and broker
    return JSONResponse({"status": "ok" if healthy else "unavailable", "checks": checks},
                        status_code=200 if healthy else 503)


async def metrics() -> Response:
    """Prometheus exposition of this process's metrics."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def router() -> APIRouter:
    """Health and metrics, open to the operators' probes and Prometheus."""
    built = APIRouter(tags=["Operations"])
    add_route(built, "/healthz", healthz, methods=["GET"], rule=Public("health"),
              summary="200 when broker and database answer, else 503")
    add_route(built, "/metrics", metrics, methods=["GET"], rule=Public("metrics"),
              include_in_schema=False)
    return built
