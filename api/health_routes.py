"""Whether the API can take pushes now: the database answers, and the broker has the ingest
topic and the producer is usable. 503 saying which part is down otherwise."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.access import Public, add_route
from api.deps import PoolDep, ProducerDep, SettingsDep
from core.topics import ingest_topic


async def _database_ok(pool: PoolDep) -> bool:
    try:
        async with pool.connection(timeout=2.0) as conn:
            await conn.execute("SELECT 1")
    except Exception:  # any failure means "not healthy", the reason is not the caller's business
        return False
    return True


async def healthz(pool: PoolDep, producer: ProducerDep, settings: SettingsDep) -> JSONResponse:
    """The database with a query; the broker with a metadata request for the ingest topic."""
    database, broker = await asyncio.gather(
        _database_ok(pool), asyncio.to_thread(producer.topic_ready, ingest_topic(settings)),
    )
    checks = {"database": "ok" if database else "down", "broker": broker or "ok"}
    healthy = database and broker is None
    return JSONResponse({"status": "ok" if healthy else "unavailable", "checks": checks},
                        status_code=200 if healthy else 503)


async def metrics() -> Response:
    """Prometheus exposition of this process's metrics."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


HEALTH = {"type": "object", "required": ["status", "checks"], "properties": {
    "status": {"enum": ["ok", "unavailable"]},
    "checks": {"type": "object", "properties": {
        "database": {"enum": ["ok", "down"]},
        "broker": {"type": "string", "description": "ok, or what is wrong with it"}}}}}
# The health document, not a refusal: probes read which part is down from `checks`.
HEALTH_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {"description": "every part answers",
          "content": {"application/json": {"schema": HEALTH}}},
    503: {"description": "a part is down; `checks` says which",
          "content": {"application/json": {"schema": HEALTH}}},
}


def router() -> APIRouter:
    """Health and metrics, open to the operators' probes and Prometheus."""
    built = APIRouter(tags=["Operations"])
    add_route(built, "/healthz", healthz, methods=["GET"], rule=Public("health"),
              summary="200 when broker and database answer, else 503",
              responses=HEALTH_ANSWERS)
    add_route(built, "/metrics", metrics, methods=["GET"], rule=Public("metrics"),
              include_in_schema=False)
    return built
