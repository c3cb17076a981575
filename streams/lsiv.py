"""The LSIV feed in the streams: vehicles, their statuses and positions, and the fleet figures.

One stage (`lsiv`) takes a batch of feed messages and, in one transaction, registers new or
changed vehicles as mobile units and records every status in `fleet_vehicle` (an older status
never replaces a newer one). Then it sends to the ingest topic, like any accepted message: each
feed message mapped by the LSIV adapter (a status at the vehicle, or a position), and for every
RAV region the batch touched a fleet snapshot mapped by the fleet adapter (ambulances available
per urgency class, share deployed). Only then is the batch acknowledged; a redelivered batch
records and sends the same again, which changes nothing downstream.

The feed is keyed by the vehicle's RAV region: one region's vehicles share a partition, so its
statuses are recorded in feed order.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import faust
import structlog

from adapters.ambulance.fleet import ADAPTER as FLEET_ADAPTER
from adapters.ambulance.fleet import snapshot
from adapters.ambulance.lsiv import ADAPTER as LSIV_ADAPTER
from adapters.ambulance.lsiv_message import LsivMessage, LsivVehicle, read_message
from adapters.base import meta_of
from core.fleet import VehicleStatus
from core.ingest import IngestMessage, encode, ingest_message
from core.messages import RawMessage
from core.metrics import MESSAGES_PRODUCED
from core.mobile_units import MobileUnit
from core.settings import Settings
from core.topics import lsiv_topic
from definitions import load_catalogue
from definitions.catalogue import rav_location_id
from storage.fleet import record_statuses, region_vehicles, vehicle_regions
from storage.units import upsert_unit
from streams.sink import Sink
from streams.stage import DeadLetterQueue, Halt, Stage

log = structlog.get_logger()

# Namespaces of the derived message ids: the same LSIV message, or the same region snapshot,
# always gets the same id, so a redelivery is recognised downstream.
LSIV_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://zorgcapaciteit.nl/lsiv/v1")
FLEET_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://zorgcapaciteit.nl/lsiv/fleet")


def raw_message_id(lsiv_message_id: str) -> uuid.UUID:
    """The raw message id of an LSIV message: a redelivered message keeps its id."""
    return uuid.uuid5(LSIV_NAMESPACE, lsiv_message_id)


def unit_of(vehicle: LsivVehicle) -> MobileUnit:
    """The mobile unit of an LSIV vehicle, operated by its region's RAV."""
    region = load_catalogue().safety_regions[vehicle.rav_region]
    return MobileUnit(id=vehicle.id, kind="ambulance",
                      organization_id=rav_location_id(vehicle.rav_region),
                      label=vehicle.call_sign, roaz_region=region.roaz_region,
                      veiligheidsregio=vehicle.rav_region, capabilities=vehicle.capabilities)


def raw_of(message: LsivMessage, payload: dict[str, Any], received_at: datetime) -> RawMessage:
    """The raw message that carries an LSIV message into the pipeline."""
    return RawMessage(
        message_id=raw_message_id(message.message_id), source_format=LSIV_ADAPTER.source_format,
        sector=LSIV_ADAPTER.sector, provider=rav_location_id(message.vehicle.rav_region),
        location_id=message.vehicle.id, received_at=received_at, payload=payload,
    )


def fleet_message(region: str, vehicles: Sequence[VehicleStatus], touched_at: datetime,
                  received_at: datetime) -> IngestMessage:
    """A region's fleet snapshot as an ingest message, mapped by the fleet adapter.

    Dated at the region's latest status, or at the status that touched it (a region whose last
    vehicle just left it)."""
    observed_at = max([touched_at, *(v.status_at for v in vehicles)])
    payload = snapshot(region, observed_at, [
        {"id": v.vehicle_id, "type": v.vehicle_type, "status": v.status} for v in vehicles])
    raw = RawMessage(
        message_id=uuid.uuid5(FLEET_NAMESPACE, f"{region}|{observed_at.isoformat()}"),
        source_format=FLEET_ADAPTER.source_format, sector=FLEET_ADAPTER.sector,
        provider=rav_location_id(region), location_id=rav_location_id(region),
        received_at=received_at, payload=payload)
    return ingest_message(raw, FLEET_ADAPTER.parse(payload, meta_of(raw)).observations)


@dataclass(frozen=True)
class FeedMessage:
    """One feed message: as sent, read, and mapped into an ingest message."""

    message: LsivMessage
    ingest: IngestMessage

    @property
    def status(self) -> VehicleStatus | None:
        """The vehicle status it reports, if it is a status message."""
        if self.message.kind != "vehicle-status" or self.message.status is None:
            return None
        vehicle = self.message.vehicle
        return VehicleStatus(vehicle.id, vehicle.rav_region, vehicle.type, self.message.status,
                             self.message.at.astimezone(UTC))


def read_feed_message(value: bytes, received_at: datetime) -> FeedMessage:
    """Read and map one feed message; raises what makes it a dead letter."""
    payload = json.loads(value)
    message = read_message(payload, received_at)
    raw = raw_of(message, payload, received_at)
    result = LSIV_ADAPTER.parse(payload, meta_of(raw))
    return FeedMessage(message, ingest_message(raw, result.observations, result.positions))


class LsivStage(Stage[FeedMessage]):
    """LSIV topic -> mobile units and fleet statuses -> ingest topic (each message, and the
    fleet snapshot of every region touched)."""

    name = "lsiv"

    def __init__(self, sink: Sink, ingest_topic: Any, dead_letters: DeadLetterQueue,
                 halt: Halt) -> None:
        super().__init__(dead_letters, halt)
        self._sink = sink
        self._ingest = ingest_topic
        # Units as last written: a position every few seconds must not rewrite its vehicle.
        self._written: dict[str, MobileUnit] = {}

    def decode(self, message: Any) -> FeedMessage:
        """Read and map a feed message."""
        return read_feed_message(message.value, datetime.now(UTC))

    async def handle(self, items: Sequence[tuple[FeedMessage, Any]],
                     ) -> list[tuple[Any, BaseException]]:
        """Record vehicles and statuses, then send the messages and the touched regions."""
        feed = [item for item, _ in items]
        previous = await self._sink.run(vehicle_regions, sorted(
            {s.vehicle_id for item in feed if (s := item.status) is not None}))
        refused = await self._sink.write(self._record, feed)
        refused_ids = {id(item) for item, _ in refused}
        kept = [item for item in feed if id(item) not in refused_ids]
        for item in kept:
            unit = unit_of(item.message.vehicle)
            self._written[unit.id] = unit
        await self._send([item.ingest for item in kept] + await self._fleet(kept, previous))
        source = {id(item): message for item, message in items}
        return [(source[id(item)], exc) for item, exc in refused]

    async def _record(self, conn: Any, feed: Sequence[FeedMessage]) -> None:
        units = {item.message.vehicle.id: unit_of(item.message.vehicle) for item in feed}
        for unit in units.values():
            if self._written.get(unit.id) != unit:
                await upsert_unit(conn, unit)
        await record_statuses(conn, [s for item in feed if (s := item.status) is not None])

    async def _fleet(self, feed: Sequence[FeedMessage],
                     previous: Mapping[str, str]) -> list[IngestMessage]:
        """The snapshots of the regions the statuses touched: their own, and the one a vehicle
        came from (its old region has a gap now)."""
        touched: dict[str, datetime] = {}
        for item in feed:
            if (status := item.status) is None:
                continue
            regions = {status.rav_region, previous.get(status.vehicle_id, status.rav_region)}
            for region in regions:
                touched[region] = max(touched.get(region, status.status_at), status.status_at)
        if not touched:
            return []
        vehicles = await self._sink.run(region_vehicles, sorted(touched))
        received_at = datetime.now(UTC)
        return [fleet_message(region, [v for v in vehicles if v.rav_region == region],
                              touched[region], received_at) for region in sorted(touched)]

    async def _send(self, messages: Iterable[IngestMessage]) -> None:
        pending = [await self._ingest.send(key=m.location_id.encode(), value=encode(m))
                   for m in messages]
        await asyncio.gather(*pending)
        if pending:
            MESSAGES_PRODUCED.labels(topic=self._ingest.get_topic_name()).inc(len(pending))


def register_lsiv(app: faust.App, settings: Settings, sink: Sink, *, ingest: Any,
                  dead_letters: DeadLetterQueue, halt: Halt) -> None:
    """Add the `lsiv` agent to the worker."""
    feed = app.topic(lsiv_topic(settings), key_serializer="raw", value_serializer="raw")
    app.agent(feed, name="lsiv")(LsivStage(sink, ingest, dead_letters, halt).run)
