"""What changed, as the events topic carries it: figures, statuses, staleness, positions, alerts.

The store stage sends one event per latest figure that changed (and a status event when an SEH
or admission status changed, a fresh event when a stale figure came back), the stale watcher one
per figure that went past its freshness deadline, the store stage one per unit position (at most
one per unit every few seconds), the alerts stage one per notification. Every event carries the
facts an API process needs to decide, without a database, who may receive it: the location's
region, sector and organisation (an alert: the organisation that owns the rule).

An event's id on /v1/stream is its offset on the (single-partition) topic and the time the
broker stamped on it, `<offset>-<ms>`: a client that reconnects after the broker lost its log
does not resume at an offset that now holds something else.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from definitions import Definition


class Located(msgspec.Struct, kw_only=True, frozen=True):
    """The location an event is about, with what decides who may read it."""

    location_id: str
    location_name: str
    organization_id: str
    sector: str
    roaz_region: str
    latitude: float
    longitude: float


class FigureChanged(Located, tag="figure", kw_only=True, frozen=True):
    """The latest figure of an item at a location changed (a newer observation was stored)."""

    definition: str
    definition_version: int
    value: float | None
    value_text: str | None
    not_reported_reason: str | None
    observed_at: datetime
    received_at: datetime
    provider: str


class StatusChanged(Located, tag="status", kw_only=True, frozen=True):
    """An SEH status or an admission stop changed value."""

    definition: str
    value: float | str | None
    previous: float | str | None
    observed_at: datetime


class Freshness(Located, tag="freshness", kw_only=True, frozen=True):
    """A figure went past its freshness deadline (stale) or a new one replaced a stale one."""

    definition: str
    observed_at: datetime
    stale: bool


class UnitMoved(msgspec.Struct, tag="position", kw_only=True, frozen=True):
    """A mobile unit's latest position (and status), as /v1/units shows it."""

    id: str
    kind: str
    organization_id: str
    label: str
    roaz_region: str
    latitude: float
    longitude: float
    observed_at: datetime
    speed_kmh: float | None
    heading_deg: float | None
    status: str | None
    status_observed_at: datetime | None


class AlertRaised(msgspec.Struct, tag="alert", kw_only=True, frozen=True):
    """A notification of an alert rule: firing or cleared (or acknowledged)."""

    id: int
    rule_id: int
    rule_name: str
    owner_organization_id: str
    kind: str
    severity: str
    state: str
    message: str
    location_id: str | None
    roaz_region: str | None
    definition: str | None
    value: float | str | None
    threshold: float | None
    raised_at: datetime
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None


class PlanningChanged(msgspec.Struct, tag="planning", kw_only=True, frozen=True):
    """A booking, hold or visit request was made, answered, cancelled or expired.

    Read by the provider's organisation and the organisation that asked, nobody else: the
    event carries the pseudonymous patient reference of neither. `sequence` is the change's
    number in the planning outbox: the same change sent twice (a worker stopped between
    sending and recording it) has the same sequence."""

    sequence: int
    resource: str  # Appointment or Task
    id: str
    kind: str  # appointment, hold or visit
    action: str  # requested, accept, decline, cancel, complete, expire
    status: str
    previous: str | None
    location_id: str | None
    unit_id: str | None
    item: str | None  # the held bed item or the slot's consult item
    sector: str
    roaz_region: str
    provider_organization: str
    requester_organization: str
    expires_at: datetime | None
    at: datetime


Event = FigureChanged | StatusChanged | Freshness | UnitMoved | AlertRaised | PlanningChanged
_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Event)


def encode(event: Event) -> bytes:
    """The event as the topic carries it (JSON with a `type` tag)."""
    return _encoder.encode(event)


def decode(data: bytes) -> Event:
    """An event from the topic; msgspec.DecodeError / ValidationError for anything else."""
    event: Event = _decoder.decode(data)
    return event


def as_dict(event: Event) -> dict[str, Any]:
    """The event's fields (without the tag)."""
    return {name: getattr(event, name) for name in event.__struct_fields__}


def event_id(offset: int, timestamp_ms: int) -> str:
    """The id a client sees and sends back in Last-Event-ID."""
    return f"{offset}-{timestamp_ms}"


def parse_event_id(text: str | None) -> tuple[int, int] | None:
    """(offset, timestamp) of a Last-Event-ID; None for none or one this platform never sent."""
    if not text:
        return None
    offset, _, stamp = text.strip().partition("-")
    if not (offset.isdigit() and stamp.isdigit()):
        return None
    return int(offset), int(stamp)


def is_status(definition: Definition) -> bool:
    """Whether a change of this item is a status change a triagist must see at once: the SEH
    status (open / time-out / stop) and the admission stops."""
    return definition.code == "hospital.seh.status" or ".admission_stop." in definition.code


def status_value(value: float | None, value_text: str | None,
                 definition: Definition) -> float | str | None:
    """A status as the API shows it: a code as text, an admission stop as 0/1."""
    return value_text if definition.value_type == "code" else value
