"""The canonical messages that flow through Kafka.

`RawMessage` wraps what a provider sent, exactly as received, so it can be replayed.
`Observation` is one figure under one shared definition: one per location x item x observed time.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from core.mobile_units import UnitKind

# Marks "the provider told us it does not know", as FHIR data-absent-reason does.
NotReportedReason = Literal[
    "unknown", "asked-unknown", "temp-unknown", "not-asked", "masked", "unsupported",
    "not-applicable", "error", "not-a-number", "not-performed", "not-permitted", "missing",
]


class RawMessage(BaseModel):
    """A provider message as received, with who sent it and when.

    `location_id` is the subject the message reports on: a registered location, or a mobile
    unit for position and vehicle messages. `payload` is the body as sent: a JSON object, or
    text for CSV. `context` holds what the platform added at receipt and the adapter needs
    (a provider's mapping table), so a replay maps exactly as the first time did.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    message_id: uuid.UUID
    source_format: str
    sector: str
    provider: str
    location_id: str
    received_at: AwareDatetime
    payload: dict[str, Any] | str
    context: dict[str, Any] = Field(default_factory=dict)


class Observation(BaseModel):
    """One figure under one shared definition, or the statement that it was not reported.

    `value` is a number (count, quantity), a boolean, or text (code, datetime, text), as the
    definition's value type says; None means "not reported" and then `not_reported_reason` says
    why. `unit` is the definition's unit, carried so a consumer can check it.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    definition: str = Field(min_length=1)
    definition_version: int = Field(ge=1)
    location_id: str = Field(min_length=1)
    value: float | bool | str | None
    unit: str
    not_reported_reason: NotReportedReason | None = None
    observed_at: AwareDatetime
    received_at: AwareDatetime
    provider: str
    source_format: str
    raw_message_id: uuid.UUID

    @model_validator(mode="after")
    def _reason_only_when_not_reported(self) -> Observation:
        if (self.value is None) != (self.not_reported_reason is not None):
            raise ValueError("not_reported_reason is given exactly when value is null")
        return self

    def key(self) -> str:
        """Kafka key: keeps one location's item in order on one partition."""
        return f"{self.location_id}|{self.definition}"



class Position(BaseModel):
    """Where a mobile unit (ambulance, HAP visit car, district nurse) was at a moment, WGS84."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    unit_id: str = Field(min_length=1)
    unit_kind: UnitKind
    provider: str = Field(min_length=1)
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    accuracy_m: float | None = Field(default=None, ge=0)
    speed_kmh: float | None = Field(default=None, ge=0)
    heading_deg: float | None = Field(default=None, ge=0, le=360)
    observed_at: AwareDatetime
    received_at: AwareDatetime
    source_format: str = Field(min_length=1)
