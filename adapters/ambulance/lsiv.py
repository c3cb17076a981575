"""LSIV vehicle feed (`lsiv/v1`): ambulance status changes and AVLS positions.

LSIV is the national server through which the dispatch centres share incident and vehicle
information. Its interface is not public, so the platform defines the message shape
(docs/lsiv.md, schemas/lsiv-message.schema.json). The feed is not pushed over HTTP: the stream
stage `lsiv-bridge` wraps every feed message into a raw message whose subject is the vehicle,
and this adapter maps it like any other raw input.

A status message gives one `ambulance.vehicle.status` observation at the vehicle; a position
message gives one Position. The region figures (ambulances available per urgency, share
deployed) are derived from all vehicles of a region by the stream stage `fleet`.
"""

from __future__ import annotations

from pathlib import Path

from adapters.ambulance.lsiv_message import LsivMessage, read_message, vehicle_id_of
from adapters.base import (
    AdapterError,
    AdapterResult,
    MessageMeta,
    Payload,
    check_value,
    observation,
    require_definition,
)
from core.messages import Position

STATUS_DEFINITION = "ambulance.vehicle.status"


def _status_result(message: LsivMessage, meta: MessageMeta) -> AdapterResult:
    definition = require_definition(STATUS_DEFINITION, message.at)
    if (bad := check_value(definition, message.status, "status")) is not None:
        raise AdapterError([bad])
    return AdapterResult([observation(definition, message.status, meta, message.at,
                                      location_id=message.vehicle.id)])


def _position_result(message: LsivMessage, meta: MessageMeta) -> AdapterResult:
    fix = message.position
    assert fix is not None  # read_message gives a position with every avls-position message
    return AdapterResult([], positions=[Position(
        unit_id=message.vehicle.id, unit_kind="ambulance", provider=meta.provider,
        latitude=fix.latitude, longitude=fix.longitude, accuracy_m=fix.accuracy_m,
        speed_kmh=fix.speed_kmh, heading_deg=fix.heading_deg, observed_at=message.at,
        received_at=meta.received_at, source_format=meta.source_format,
    )])


class LsivAdapter:
    """LSIV feed message (status change or AVLS position) -> vehicle status or position."""

    source_format = "lsiv/v1"
    sector = "ambulance"
    media_type = "application/json"
    path: str | None = None
    subject = "mobile-unit"
    needs_mapping = False
    summary = "Ambulance status changes and AVLS positions from the LSIV feed"
    examples = Path(__file__).parent / "examples" / "lsiv"

    def location_of(self, payload: Payload) -> str:
        """The vehicle the message is about: `vehicle.id`."""
        return vehicle_id_of(payload)

    def parse(self, payload: Payload, meta: MessageMeta) -> AdapterResult:
        """Map a status message to the vehicle's status, a position message to a Position."""
        message = read_message(payload, meta.received_at)
        if message.kind == "vehicle-status":
            return _status_result(message, meta)
        return _position_result(message, meta)


ADAPTER = LsivAdapter()
