"""Accepting a provider message: validate synchronously, then produce it before answering.

Shared by every push endpoint. The adapter runs here once to refuse bad input with a precise
OperationOutcome; the stream worker runs it again on the raw message it receives, so the Kafka
topic holds exactly what the provider sent.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import psycopg
import structlog
from fastapi.responses import JSONResponse

from adapters import Adapter, AdapterError, MessageMeta
from adapters.base import error
from api.outcome import information, outcome_response
from api.producer import RawProducer
from core.messages import RawMessage
from core.metrics import MESSAGES_RECEIVED
from core.settings import Settings
from core.topics import raw_topic
from storage.facilities import get_location

log = structlog.get_logger()


async def accept(
    payload: dict[str, Any], adapter: Adapter, *, conn: psycopg.AsyncConnection[Any],
    producer: RawProducer, settings: Settings,
) -> JSONResponse:
    """Validate `payload` with `adapter` and produce it; 202 with warnings, or AdapterError."""
    MESSAGES_RECEIVED.labels(source_format=adapter.source_format).inc()
    location_id = adapter.location_of(payload)
    location = await get_location(conn, location_id)
    if location is None:
        raise AdapterError([error(
            "not-found", "subject",
            f"Location/{location_id} is not registered; register it first with "
            f"PUT /fhir/Location/{location_id}",
        )])
    raw = RawMessage(
        message_id=uuid.uuid4(), source_format=adapter.source_format, sector=location.sector,
        provider=location.organization_id, location_id=location_id,
        received_at=datetime.now(UTC), payload=payload,
    )
    meta = MessageMeta(raw.message_id, raw.provider, location_id, raw.received_at,
                       raw.source_format)
    result = adapter.parse(payload, meta)
    await producer.send(raw_topic(settings), location_id.encode(), raw.model_dump_json().encode())
    log.info("message_accepted", provider=raw.provider, location=location_id,
             source_format=raw.source_format, message_id=str(raw.message_id),
             figures=len(result.observations), warnings=len(result.warnings))
    accepted = information(
        f"accepted as message {raw.message_id}: {len(result.observations)} figure(s) queued "
        "for storage",
    )
    return outcome_response(202, result.warnings, [accepted])
