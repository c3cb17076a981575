"""The LSIV feed in the streams: the bridge into the raw input, and the fleet's region figures.

- `LsivBridge` (agent `lsiv-bridge`): LSIV message -> the vehicle registered as mobile unit ->
  a raw message (subject = the vehicle) on the raw topic, from where the normal pipeline stores
  statuses and positions. It checks each message with the LSIV adapter first, as the API does
  for pushed messages, so the raw topic only holds input the adapter accepts.
- `Fleet` (agent `fleet`): keeps every vehicle's latest status in a changelog-backed faust table
  and, after each batch, derives the figures of every RAV region it touched (ambulances
  available per urgency class, share deployed) as observations of the region's location.

Both consume the LSIV topic, whose messages are keyed by the vehicle's RAV region: one region's
vehicles share a partition, so a worker holding that partition holds the whole region in its
table, in feed order.
"""

from __future__ import annotations

import asyncio
import json
import uuid
import weakref
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import faust
import structlog
from faust.streams import _current_event

from adapters.ambulance.lsiv import ADAPTER as LSIV_ADAPTER
from adapters.ambulance.lsiv_message import LsivMessage, LsivVehicle, read_message
from adapters.base import MessageMeta, observation, require_definition
from core.messages import Observation, RawMessage
from core.metrics import MESSAGES_CONSUMED, MESSAGES_PRODUCED
from core.settings import Settings
from core.topics import lsiv_topic
from definitions import load_catalogue
from storage.reference import rav_location_id
from storage.units import MobileUnit, upsert_unit
from streams.deadletter import DeadLetter, dead_letter_of
from streams.sink import Sink
from streams.stages import BatchStage, DeadLetterQueue

log = structlog.get_logger()

# Namespaces of the derived message ids: the same LSIV message, or the same region figures,
# always get the same id, so a redelivery is recognised downstream.
LSIV_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://zorgcapaciteit.nl/lsiv/v1")
FLEET_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://zorgcapaciteit.nl/lsiv/fleet")
FLEET_SOURCE_FORMAT = "lsiv/fleet"
AVAILABLE = {"A1": "ambulance.available.a1", "A2": "ambulance.available.a2",
             "B": "ambulance.available.b"}
DEPLOYED_SHARE = "ambulance.busyness.deployed_share"
Vehicle = Mapping[str, Any]  # a fleet table value: status, rav_region, type, at


# --- the bridge ------------------------------------------------------------------------------

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


def read_feed_message(value: bytes, received_at: datetime) -> tuple[dict[str, Any], LsivMessage]:
    """The JSON payload and the typed message; raises what makes the message a dead letter."""
    payload = json.loads(value)
    return payload, read_message(payload, received_at)


async def store_units(conn: Any, units: Sequence[MobileUnit]) -> None:
    """Register or update the vehicles, in the caller's transaction."""
    for unit in units:
        await upsert_unit(conn, unit)


class LsivBridge(BatchStage):
    """LSIV topic -> mobile units, then raw topic; refused messages -> dead letters."""

    stage = "lsiv-bridge"

    def __init__(self, sink: Sink, raw_topic: Any, dead_letters: DeadLetterQueue) -> None:
        self._sink = sink
        self._raw = raw_topic
        self._dead_letters = dead_letters
        # Units as last written: a position every few seconds must not rewrite its vehicle.
        self._written: dict[str, MobileUnit] = {}

    async def _process(self, events: Sequence[Any]) -> None:
        MESSAGES_CONSUMED.labels(topic=events[0].message.topic).inc(len(events))
        received_at = datetime.now(UTC)
        dead: list[DeadLetter] = []
        accepted: list[tuple[Any, dict[str, Any], LsivMessage]] = []
        for event in events:
            try:
                payload, message = read_feed_message(event.message.value, received_at)
            except Exception as exc:  # the error boundary: every failure becomes a dead letter
                dead.append(dead_letter_of(self.stage, event.message, exc))
                continue
            accepted.append((event.message, payload, message))
        refused = await self._register([message.vehicle for _, _, message in accepted])
        pending = []
        for source, payload, message in accepted:
            if message.vehicle.id in refused:
                dead.append(dead_letter_of(self.stage, source, refused[message.vehicle.id]))
                continue
            raw = raw_of(message, payload, received_at)
            pending.append(await self._raw.send(key=raw.location_id.encode(),
                                                value=raw.model_dump_json().encode()))
        await asyncio.gather(*pending)
        if pending:
            MESSAGES_PRODUCED.labels(topic=self._raw.get_topic_name()).inc(len(pending))
        await self._dead_letters.put(dead, stage=self.stage, processed=len(events))

    async def _register(self, vehicles: Iterable[LsivVehicle]) -> Mapping[str, Exception]:
        """Write new or changed units; returns the ids the database refused, with the error."""
        units = {vehicle.id: unit_of(vehicle) for vehicle in vehicles}
        changed = [u for u in units.values() if self._written.get(u.id) != u]
        refused = {unit.id: exc for unit, exc in await self._sink.write(store_units, changed)}
        for unit in changed:
            if unit.id in refused:
                log.warning("mobile_unit_refused", unit=unit.id, error=str(refused[unit.id]))
            else:
                self._written[unit.id] = unit
        return refused


# --- the fleet -------------------------------------------------------------------------------

def vehicle_record(message: LsivMessage) -> dict[str, str]:
    """The fleet table value of a status message (JSON-serialisable)."""
    assert message.status is not None
    return {"status": message.status, "rav_region": message.vehicle.rav_region,
            "type": message.vehicle.type, "at": message.at.astimezone(UTC).isoformat()}


def supersedes(candidate: Vehicle, current: Vehicle | None) -> bool:
    """Whether a status replaces the known one: not if it is older (out of order).

    At the same moment the later message in feed order wins; a redelivery rewrites the same.
    """
    return current is None or _at(candidate) >= _at(current)


def _at(vehicle: Vehicle) -> datetime:
    return datetime.fromisoformat(vehicle["at"])


def region_figures(vehicles: Iterable[Vehicle]) -> dict[str, float | None]:
    """The figures of one RAV region from the latest status of each of its vehicles.

    Available for A1 and A2: type A vehicles in an available status (5, 6); for B: every
    vehicle in an available status. Deployed share: deployed vehicles (0-4, 10) of all vehicles
    known in the region, in %, one decimal; call requests (7-9) are in service but neither free
    nor deployed. A region without vehicles (its last one moved away) has none available and
    no share (None: not reported, never 0).
    """
    statuses = load_catalogue().vehicle_statuses
    known = list(vehicles)
    free = [v for v in known if v["status"] in statuses and statuses[v["status"]].available]
    deployed = [v for v in known if v["status"] in statuses and statuses[v["status"]].deployed]
    free_a = sum(1 for v in free if v["type"] == "A")
    return {
        AVAILABLE["A1"]: free_a, AVAILABLE["A2"]: free_a, AVAILABLE["B"]: len(free),
        DEPLOYED_SHARE: round(100 * len(deployed) / len(known), 1) if known else None,
    }


def region_observations(region: str, vehicles: Sequence[Vehicle], received_at: datetime,
                        touched_at: datetime | None = None) -> list[Observation]:
    """The region's figures as observations of its RAV location, at the latest status time.

    `touched_at` is the time of the status that touched the region; it dates the figures of a
    region whose last vehicle just left it.
    """
    moments = [_at(v) for v in vehicles] + ([touched_at] if touched_at else [])
    if not moments:
        return []
    observed_at = max(moments)
    location = rav_location_id(region)
    meta = MessageMeta(
        message_id=uuid.uuid5(FLEET_NAMESPACE, f"{region}|{observed_at.isoformat()}"),
        provider=location, location_id=location, received_at=received_at,
        source_format=FLEET_SOURCE_FORMAT, sector="ambulance",
    )
    return [observation(require_definition(code, observed_at), value, meta, observed_at,
                        "not-applicable" if value is None else None)
            for code, value in region_figures(vehicles).items()]


def fleet_observations(touched: Mapping[str, datetime], vehicles: Iterable[Vehicle],
                       received_at: datetime) -> list[Observation]:
    """Observations of every touched region (region -> time of the status that touched it)."""
    by_region: dict[str, list[Vehicle]] = {region: [] for region in touched}
    for vehicle in vehicles:
        if vehicle["rav_region"] in by_region:
            by_region[vehicle["rav_region"]].append(vehicle)
    return [obs for region in sorted(by_region) for obs in region_observations(
        region, by_region[region], received_at, touched[region])]


def status_message(value: bytes, received_at: datetime) -> LsivMessage | None:
    """The status message in a feed message; None for positions and refused input.

    The bridge dead-letters refused input; the fleet only has to leave it out of the figures.
    """
    try:
        _, message = read_feed_message(value, received_at)
    except Exception:  # the bridge reports it; counting it here would count it twice
        return None
    return message if message.kind == "vehicle-status" else None


@contextmanager
def event_context(event: Any) -> Iterator[None]:
    """Make `event` faust's current event while a table is written.

    faust writes a table change to the changelog partition of the current event, so a
    region's vehicles are recovered with the region's LSIV partition. A batch from
    `take_events` is processed outside faust's per-event iteration, so the event is set here.
    """
    token = _current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        _current_event.reset(token)


class Fleet(BatchStage):
    """LSIV topic -> latest status per vehicle (faust table) -> region figures, observations."""

    stage = "fleet"

    def __init__(self, table: Any, observations_topic: Any) -> None:
        self._table = table
        self._observations = observations_topic

    async def _process(self, events: Sequence[Any]) -> None:
        received_at = datetime.now(UTC)
        touched: dict[str, datetime] = {}
        for event in events:
            message = status_message(event.message.value, received_at)
            if message is None:
                continue
            for region in self._apply(event, message):
                touched[region] = max(touched.get(region, message.at), message.at)
        # Touched regions are sent again even when nothing changed: after a restart, a
        # redelivered batch then re-sends figures that may not have been sent before.
        figures = fleet_observations(touched, self._table.values(), received_at)
        pending = [await self._observations.send(key=o.key().encode(),
                                                 value=o.model_dump_json().encode())
                   for o in figures]
        await asyncio.gather(*pending)
        if pending:
            MESSAGES_PRODUCED.labels(topic=self._observations.get_topic_name()).inc(len(pending))

    def _apply(self, event: Any, message: LsivMessage) -> set[str]:
        """Record the status unless it is older than the known one; the regions it touches."""
        record = vehicle_record(message)
        current = self._table.get(message.vehicle.id)
        if not supersedes(record, current):
            log.info("lsiv_status_out_of_order", vehicle=message.vehicle.id,
                     at=record["at"], known_at=current["at"] if current else None)
            return {record["rav_region"]}
        with event_context(event):
            self._table[message.vehicle.id] = record
        # A vehicle that moved to another RAV leaves a gap in its old region's figures.
        return {record["rav_region"]} | ({current["rav_region"]} if current else set())


# --- wiring ----------------------------------------------------------------------------------

def register_lsiv(app: faust.App, settings: Settings, sink: Sink, *, raw: Any, observations: Any,
                  dead_letters: DeadLetterQueue) -> None:
    """Add the `lsiv-bridge` and `fleet` agents, and the fleet's table, to the worker."""
    feed = app.topic(lsiv_topic(settings), key_serializer="raw", value_serializer="raw")
    # Keys and values go to the changelog as JSON (faust's choice for these types).
    table = app.Table("lsiv-fleet", key_type=str, partitions=settings.kafka_partitions,
                      help="Latest LSIV status per vehicle: status, rav_region, type, at.")
    app.agent(feed, name="lsiv-bridge")(LsivBridge(sink, raw, dead_letters).run)
    app.agent(feed, name="fleet")(Fleet(table, observations).run)
