"""The ingest message: one accepted provider message on the ingest topic, mapped once.

The API maps a payload with its sector adapter to refuse bad input; the result travels with the
raw message, so the store stage writes it without parsing the payload again. Observations and
positions are compact rows (what they share, such as the provider and the receipt time, is said
once per message). `observations` is None for a message that was not mapped yet (one the
reconciler sends again, or a replay): the store stage then maps the raw message itself.

Encoded with msgspec: the store stage decodes thousands of these per second. A replay carries
several archived messages of one subject in one topic message (a JSON array of them, keyed by
that subject, in the order received): the broker and the stream worker then pay their cost per
topic message once per many.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import msgspec

from core.messages import Observation, Position, RawMessage

# location_id, definition, definition_version, value, not_reported_reason, observed_at
ObservationRow = tuple[str, str, int, float | bool | str | None, str | None, datetime]
# unit_id, unit_kind, observed_at, latitude, longitude, accuracy_m, speed_kmh, heading_deg
PositionRow = tuple[str, str, datetime, float, float, float | None, float | None, float | None]


class IngestMessage(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What the ingest topic carries for one accepted message, keyed by its subject."""

    message_id: uuid.UUID
    location_id: str
    provider: str
    source_format: str
    received_at: datetime
    raw: msgspec.Raw
    observations: list[ObservationRow] | None
    positions: list[PositionRow] = []

    @property
    def mapped(self) -> bool:
        """False when the store stage must map the raw message itself."""
        return self.observations is not None

    def raw_message(self) -> RawMessage:
        """The raw message as received (decoded on demand: it carries the whole payload)."""
        return RawMessage.model_validate_json(bytes(self.raw))


class Mapped(msgspec.Struct, frozen=True, array_like=True):
    """What an adapter made of a message, as archived beside it (for replays)."""

    observations: list[ObservationRow]
    positions: list[PositionRow]


_ALL_DECODER = msgspec.json.Decoder(IngestMessage | list[IngestMessage])
_MAPPED_DECODER = msgspec.json.Decoder(Mapped)
_ENCODER = msgspec.json.Encoder()


def mapped_of(message: IngestMessage) -> bytes | None:
    """The archived form of a mapped message's rows; None when it is not mapped."""
    if message.observations is None:
        return None
    return _ENCODER.encode(Mapped(message.observations, message.positions))


def remapped(header: RawHeader, raw_json: bytes, mapped: bytes) -> IngestMessage:
    """An archived message again, with the rows archived beside it (no payload parsed)."""
    rows = _MAPPED_DECODER.decode(mapped)
    return IngestMessage(message_id=header.message_id, location_id=header.location_id,
                         provider=header.provider, source_format=header.source_format,
                         received_at=header.received_at, raw=msgspec.Raw(raw_json),
                         observations=rows.observations, positions=rows.positions)


class RawHeader(msgspec.Struct, frozen=True):
    """The fields of a raw message an ingest message repeats."""

    message_id: uuid.UUID
    location_id: str
    provider: str
    source_format: str
    received_at: datetime


def observation_row(obs: Observation) -> ObservationRow:
    """The compact row of an observation of this message."""
    return (obs.location_id, obs.definition, obs.definition_version, obs.value,
            obs.not_reported_reason, obs.observed_at)


def position_row(position: Position) -> PositionRow:
    """The compact row of a position of this message."""
    return (position.unit_id, position.unit_kind, position.observed_at, position.latitude,
            position.longitude, position.accuracy_m, position.speed_kmh, position.heading_deg)


def ingest_message(raw: RawMessage, observations: Sequence[Observation] | None,
                   positions: Sequence[Position] = ()) -> IngestMessage:
    """The ingest message of a raw message and what its adapter made of it (None: not yet)."""
    return IngestMessage(
        message_id=raw.message_id, location_id=raw.location_id, provider=raw.provider,
        source_format=raw.source_format, received_at=raw.received_at,
        raw=msgspec.Raw(raw.model_dump_json().encode()),
        observations=None if observations is None else [observation_row(o)
                                                         for o in observations],
        positions=[position_row(p) for p in positions])


def encode(message: IngestMessage) -> bytes:
    """The message as it goes on the topic (JSON)."""
    return _ENCODER.encode(message)


def decode_all(value: bytes) -> list[IngestMessage]:
    """The message or messages a topic message carries; msgspec.ValidationError when it
    carries none or messages of more than one subject (their order would not be kept)."""
    decoded = _ALL_DECODER.decode(value)
    messages = decoded if isinstance(decoded, list) else [decoded]
    if not messages:
        raise msgspec.ValidationError("an empty array carries no ingest message")
    if len({m.location_id for m in messages}) > 1:
        raise msgspec.ValidationError("an array of ingest messages must be of one location_id")
    return messages
