"""Accepting a provider message: validate synchronously, then produce it before answering.

Shared by every push endpoint. The adapter, then the consistency rules between the message's
figures (`map_message`), run here once to refuse bad input with a precise OperationOutcome; the
stream worker runs it again on the raw message it receives, so the Kafka topic holds exactly
what the provider sent (plus the context the adapter needed). Mapping and encoding run in the
pool of parsing threads (`api/limits.py`), off the event loop. A message whose ingest message
(raw payload and mapped rows) would not fit the broker is refused 413 before anything is kept,
never answered 503 "retry later" for a message that can never fit.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

import psycopg
import structlog
from fastapi.responses import JSONResponse

from adapters import Adapter, AdapterError, AdapterResult, map_message
from adapters.base import Payload, error, meta_of, nul_problem
from api.audit import AuditContext
from api.limits import RequestLimits, parse
from api.location_cache import LocationCache
from api.outcome import information, outcome_response
from api.ownership import check_may_report_on
from api.producer import RawProducer
from core.identity import Principal
from core.ingest import IngestMessage, encode, ingest_message, mapped_of
from core.messages import RawMessage
from core.metrics import MESSAGE_WARNINGS, MESSAGES_RECEIVED
from core.mobile_units import sector_of
from core.planning import Agenda
from core.refusals import Forbidden, TooLarge
from core.settings import Settings
from core.topics import ingest_topic
from storage.mappings import get_mapping
from storage.observations import archive_unprocessed
from storage.planning import record_slots
from storage.providers import Rejection, record_rejection
from storage.units import get_unit

log = structlog.get_logger()
Conn = psycopg.AsyncConnection[Any]


@dataclass(frozen=True)
class Subject:
    """Who a message is about: its id, operator and sector."""

    id: str
    provider: str
    sector: str


async def _subject(conn: Conn, adapter: Adapter, subject_id: str, principal: Principal,
                   audit: AuditContext, locations: LocationCache) -> Subject:
    """The registered subject of a message, once the caller is known to own it: nothing about
    another organisation's location (not even its sector) is told to a stranger."""
    if adapter.subject == "mobile-unit":
        unit = await get_unit(conn, subject_id)
        if unit is None:
            raise AdapterError([error("not-found", "unit", f"mobile unit {subject_id} is not "
                                      f"registered; register it with PUT /v1/mobile-units/"
                                      f"{subject_id}")])
        audit.target = f"MobileUnit/{unit.id}"
        check_may_report_on(principal, unit.id, unit.organization_id, audit.target)
        return Subject(unit.id, unit.organization_id, sector_of(unit.kind))
    location = await locations.get(conn, subject_id)
    if location is None:
        raise AdapterError([error("not-found", "subject",
                                  f"Location/{subject_id} is not registered; register it first "
                                  f"with PUT /fhir/Location/{subject_id}")])
    audit.target = f"Location/{location.id}"
    check_may_report_on(principal, location.id, location.organization_id, audit.target)
    if adapter.sector not in ("any", location.sector):
        raise AdapterError([error("business-rule", "subject",
                                  f"Location/{subject_id} is a {location.sector} location; "
                                  f"{adapter.path} takes {adapter.sector} data")])
    return Subject(location.id, location.organization_id, location.sector)


async def _context(conn: Conn, adapter: Adapter, location_id: str) -> dict[str, Any]:
    if not adapter.needs_mapping:
        return {}
    mapping = await get_mapping(conn, adapter.source_format, location_id)
    if mapping is None:
        raise AdapterError([error("not-found", "mapping",
                                  f"no mapping table for {adapter.source_format} at "
                                  f"Location/{location_id}; register it with PUT /v1/mappings/"
                                  f"{location_id}/{adapter.source_format}")])
    return {"mapping": mapping}


async def _check_other_locations(conn: Conn, result: AdapterResult, subject: Subject,
                                 locations: LocationCache) -> None:
    """A message may also report on other locations (a hospital's wards, an organisation's
    other sites), but only on registered ones of the same organisation and sector: a provider
    never writes figures for someone else (403, the whole message refused)."""
    others = sorted({o.location_id for o in result.observations} - {subject.id})
    registered = await locations.get_many(conn, others) if others else {}
    foreign = [error("forbidden", "subject", f"the message reports on Location/{loc}, which "
                     f"belongs to Organization/{registered[loc].organization_id}; this "
                     f"message comes from Organization/{subject.provider}")
               for loc in others
               if loc in registered and registered[loc].organization_id != subject.provider]
    if foreign:
        raise Forbidden(foreign)
    problems = [error("not-found", "subject", f"the message reports on unregistered "
                      f"Location/{loc}") for loc in others if loc not in registered]
    problems += [error("business-rule", "subject", f"Location/{loc} is a "
                       f"{registered[loc].sector} location; this message is about "
                       f"{subject.sector} Location/{subject.id}")
                 for loc in others
                 if loc in registered and registered[loc].sector != subject.sector]
    if problems:
        raise AdapterError(problems)


async def _validated(payload: Payload, adapter: Adapter, conn: Conn, subject: Subject,
                     limits: RequestLimits, size: int,
                     locations: LocationCache) -> tuple[RawMessage, AdapterResult]:
    """The raw message to produce and what the adapter makes of it; AdapterError if refused."""
    raw = RawMessage(
        message_id=uuid.uuid4(), source_format=adapter.source_format, sector=subject.sector,
        provider=subject.provider, location_id=subject.id, received_at=datetime.now(UTC),
        payload=payload, context=await _context(conn, adapter, subject.id),
    )
    result = await parse(limits, size, map_message, adapter, payload, meta_of(raw))
    await _check_other_locations(conn, result, subject, locations)
    return raw, result


def _encoded(raw: RawMessage, result: AdapterResult,
             most: int) -> tuple[IngestMessage, bytes]:
    """The ingest message of `raw` and its bytes; TooLarge when they would not fit the broker."""
    message = ingest_message(raw, result.observations, result.positions)
    value = encode(message)
    if len(value) > most:
        raise TooLarge(f"the message with the {len(result.observations)} figure(s) and "
                       f"{len(result.positions)} position(s) it maps to takes {len(value):,} "
                       f"bytes on the broker; at most {most:,} fit (INGEST_MESSAGE_MAX_BYTES): "
                       "split it into smaller messages", "body")
    return message, value


def _subject_id(adapter: Adapter, payload: Payload) -> str:
    """The subject the payload names, once no text of it holds a NUL."""
    if (nul := nul_problem(payload)) is not None:
        raise AdapterError([nul])
    return adapter.location_of(payload)


async def _record_rejection(conn: Conn, adapter: Adapter, subject: Subject,
                            exc: AdapterError | TooLarge) -> None:
    """Log a refused message for the provider overview. Committed at once: the request's
    transaction is rolled back when the AdapterError propagates, the rejection must stay."""
    await record_rejection(conn, Rejection(
        at=datetime.now(UTC), provider=subject.provider, location_id=subject.id,
        source_format=adapter.source_format, stage="api", reason=exc.reason))
    await conn.commit()


async def _queue(raw: RawMessage, message: IngestMessage, value: bytes, *, conn: Conn,
                 producer: RawProducer, settings: Settings) -> None:
    """Put the message on the ingest topic, mapped; returns once it is safe.

    With the write-ahead record on, the raw message is archived in the same transaction, which
    commits only after the broker acknowledged: a message the broker refuses leaves no record
    (the provider gets 503 and sends it again), one the broker acknowledges and then loses is
    archived and unprocessed, and the reconciler sends it again."""
    if settings.ingest_write_ahead:
        async with conn.pipeline():  # BEGIN and the insert in one round trip
            await archive_unprocessed(conn, raw, mapped_of(message))
    await producer.send(ingest_topic(settings), raw.location_id.encode(), value)
    await conn.commit()


@runtime_checkable
class AgendaSource(Protocol):
    """An adapter whose messages are a whole agenda of bookable slots (adapters/gp/slots.py)."""

    def agenda(self, payload: Payload) -> Agenda:
        """The slots of a payload `parse` accepted."""
        ...


async def _record_agenda(conn: Conn, adapter: Adapter, payload: Payload, subject: Subject,
                         limits: RequestLimits, size: int) -> None:
    """An agenda's slots, kept for booking (docs/planning.md), in the transaction that
    archives the message: a message the broker refuses leaves no slots either."""
    if not isinstance(adapter, AgendaSource):
        return
    agenda = await parse(limits, size, adapter.agenda, payload)
    await record_slots(conn, location_id=subject.id, slots=agenda.slots,
                       reported_at=agenda.read_at)


async def accept(
    payload: Payload, adapter: Adapter, *, conn: Conn, producer: RawProducer,
    settings: Settings, principal: Principal, audit: AuditContext, locations: LocationCache,
    limits: RequestLimits, size: int,
) -> JSONResponse:
    """Validate `payload` with `adapter` and produce it; 202 with warnings, or a refusal.

    The message's subject must be the caller's own (its organisation's location or unit, or
    the unit of its device key): otherwise it is refused whole, before anything is read.
    `size` is the body's length: a small message (one report) is mapped on the event loop,
    where a thread hop would cost more than the mapping."""
    MESSAGES_RECEIVED.labels(source_format=adapter.source_format).inc()
    subject_id = await parse(limits, size, _subject_id, adapter, payload)
    subject = await _subject(conn, adapter, subject_id, principal, audit, locations)
    try:
        raw, result = await _validated(payload, adapter, conn, subject, limits, size,
                                       locations)
        message, value = await parse(limits, size, _encoded, raw, result,
                                       settings.ingest_message_max_bytes)
    except (AdapterError, TooLarge) as exc:
        await _record_rejection(conn, adapter, subject, exc)
        raise
    await _record_agenda(conn, adapter, payload, subject, limits, size)
    await _queue(raw, message, value, conn=conn, producer=producer, settings=settings)
    for issue in result.warnings:
        MESSAGE_WARNINGS.labels(source_format=adapter.source_format, code=issue.code).inc()
    log.info("message_accepted", provider=raw.provider, location=subject.id,
             source_format=raw.source_format, message_id=str(raw.message_id),
             figures=len(result.observations), positions=len(result.positions),
             warnings=len(result.warnings))
    accepted = information(
        f"accepted as message {raw.message_id}: {len(result.observations)} figure(s) and "
        f"{len(result.positions)} position(s) queued for storage",
    )
    return outcome_response(202, result.warnings, [accepted])
