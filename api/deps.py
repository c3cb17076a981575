"""Dependencies shared by the routers, taken from the application state.

All `async def`: FastAPI runs a plain `def` dependency in a worker thread, a thread hop per
request for what is an attribute lookup.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import psycopg
from fastapi import Depends, Request
from psycopg_pool import AsyncConnectionPool

from api.location_cache import LocationCache
from api.producer import RawProducer
from core.settings import Settings


async def get_settings_dep(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


async def get_producer(request: Request) -> RawProducer:
    """The app's Kafka producer."""
    producer: RawProducer = request.app.state.producer
    return producer


async def get_pool(request: Request) -> AsyncConnectionPool[Any]:
    """The app's database pool."""
    pool: AsyncConnectionPool[Any] = request.app.state.pool
    return pool


async def get_conn(
    pool: Annotated[AsyncConnectionPool[Any], Depends(get_pool)],
) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    """A pooled connection for one request, committed when the request succeeds."""
    async with pool.connection() as conn:
        yield conn


async def get_locations_cache(request: Request) -> LocationCache:
    """The app's cache of registered locations."""
    locations: LocationCache = request.app.state.locations
    return locations


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
ProducerDep = Annotated[RawProducer, Depends(get_producer)]
PoolDep = Annotated[AsyncConnectionPool[Any], Depends(get_pool)]
# scope="function": the connection is committed and back in the pool when the route function
# returns, before the answer is sent: a 2xx is only sent for what was committed, and a
# long-lived answer (/v1/stream) holds no connection.
ConnDep = Annotated[psycopg.AsyncConnection[Any], Depends(get_conn, scope="function")]
LocationsDep = Annotated[LocationCache, Depends(get_locations_cache)]
