"""Liveness of the API and its two dependencies, broker and database."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import PoolDep, ProducerDep

router = APIRouter(tags=["Operations"])


async def _database_ok(pool: PoolDep) -> bool:
    try:
        async with pool.connection(timeout=2.0) as conn:
            await conn.execute("SELECT 1")
    except Exception:  # any failure means "not healthy", the reason is not the caller's business
        return False
    return True


@router.get("/healthz", summary="200 when broker and database answer, else 503")
async def healthz(pool: PoolDep, producer: ProducerDep) -> JSONResponse:
    """Checks the database with a query and the broker with a metadata request."""
    database, broker = await asyncio.gather(
        _database_ok(pool), asyncio.to_thread(producer.broker_reachable),
    )
    checks = {"database": "ok" if database else "down", "broker": "ok" if broker else "down"}
    healthy = database and broker
    return JSONResponse({"status": "ok" if healthy else "unavailable", "checks": checks},
                        status_code=200 if healthy else 503)
