"""The adapter contract: `parse(payload, meta) -> AdapterResult`, no I/O, typed errors."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from core.messages import NotReportedReason, Observation
from definitions import Definition
from definitions.validation import Value, value_problem

# Figures stamped further ahead than this are refused: clocks drift, but not by minutes.
MAX_CLOCK_SKEW = timedelta(minutes=5)

IssueType = Literal[
    "invalid", "structure", "required", "value", "not-found", "not-supported", "business-rule"
]


@dataclass(frozen=True)
class Issue:
    """One finding about a payload: where (`expression`), which rule, and how bad."""

    severity: Literal["error", "warning"]
    code: IssueType
    expression: str
    diagnostics: str


class AdapterError(Exception):
    """The payload cannot be mapped; `issues` says where and by which rule, for the provider."""

    def __init__(self, issues: list[Issue]) -> None:
        super().__init__("; ".join(f"{i.expression}: {i.diagnostics}" for i in issues))
        self.issues = issues

    @property
    def reason(self) -> str:
        """A short, bounded reason for metrics: the issue type of the first error."""
        return self.issues[0].code if self.issues else "invalid"


@dataclass(frozen=True)
class MessageMeta:
    """What the platform knows about a message besides its payload."""

    message_id: uuid.UUID
    provider: str
    location_id: str
    received_at: datetime
    source_format: str


@dataclass(frozen=True)
class AdapterResult:
    """The observations of one payload, and warnings about parts that were not used."""

    observations: list[Observation]
    warnings: list[Issue] = field(default_factory=list)


class Adapter(Protocol):
    """A pure mapping for one source format of one sector."""

    source_format: str
    sector: str

    def location_of(self, payload: dict[str, Any]) -> str:
        """The registered location id the payload reports on; AdapterError if absent."""
        ...

    def parse(self, payload: dict[str, Any], meta: MessageMeta) -> AdapterResult:
        """Map the payload to observations, or raise AdapterError naming element and rule."""
        ...


def error(code: IssueType, expression: str, diagnostics: str) -> Issue:
    """An issue that rejects the payload."""
    return Issue("error", code, expression, diagnostics)


def warning(code: IssueType, expression: str, diagnostics: str) -> Issue:
    """An issue that is reported back but does not reject the payload."""
    return Issue("warning", code, expression, diagnostics)


def check_value(definition: Definition, value: Value, expression: str,
                unit: str | None = None) -> Issue | None:
    """An error naming `expression` if `value` breaks the definition, else None."""
    problem = value_problem(definition, value, unit)
    return None if problem is None else error("value", expression, problem)


def observation(
    definition: Definition, value: Value, meta: MessageMeta, observed_at: datetime,
    not_reported_reason: NotReportedReason | None = None, location_id: str | None = None,
) -> Observation:
    """The observation of `value` under `definition`, for the message described by `meta`."""
    return Observation(
        definition=definition.code, definition_version=definition.version,
        location_id=location_id or meta.location_id, value=value, unit=definition.unit,
        not_reported_reason=(not_reported_reason or "unknown") if value is None else None,
        observed_at=observed_at, received_at=meta.received_at, provider=meta.provider,
        source_format=meta.source_format, raw_message_id=meta.message_id,
    )


def check_observed_at(observed_at: datetime, meta: MessageMeta, expression: str) -> Issue | None:
    """An error if the observation time is in the future beyond clock skew."""
    if observed_at > meta.received_at + MAX_CLOCK_SKEW:
        return error(
            "business-rule", expression,
            f"observed time {observed_at.isoformat()} lies in the future "
            f"(received {meta.received_at.isoformat()}, max skew {MAX_CLOCK_SKEW})",
        )
    return None
