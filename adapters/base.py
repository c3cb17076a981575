"""The adapter contract: `parse(payload, meta) -> AdapterResult`, no I/O, typed errors."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, Protocol

from core.messages import NotReportedReason, Observation, Position, RawMessage

# Issues and their builders are declared in core; adapters import them from here.
from core.refusals import Invalid as Invalid
from core.refusals import Issue as Issue
from core.refusals import IssueType as IssueType
from core.refusals import error as error
from core.refusals import warning as warning
from core.retention import EARLIEST_YEAR, OBSERVATION_RETENTION
from definitions import Definition, load_catalogue
from definitions.validation import Value, value_problem

# Figures stamped further ahead than this are refused: clocks drift, but not by minutes.
MAX_CLOCK_SKEW = timedelta(minutes=5)

class AdapterError(Invalid):
    """The payload cannot be mapped; `issues` says where and by which rule, for the provider."""


Payload = dict[str, Any] | str  # a JSON object, or text (CSV)


@dataclass(frozen=True)
class MessageMeta:
    """What the platform knows about a message besides its payload.

    `location_id` is the subject (a location, or a mobile unit); `sector` is the subject's
    sector; `context` is what the platform added at receipt, such as the provider's mapping table.
    """

    message_id: uuid.UUID
    provider: str
    location_id: str
    received_at: datetime
    source_format: str
    sector: str = "hospital"
    context: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AdapterResult:
    """The observations and positions of one payload, and warnings about unused parts."""

    observations: list[Observation]
    warnings: list[Issue] = field(default_factory=list)
    positions: list[Position] = field(default_factory=list)


def meta_of(raw: RawMessage) -> MessageMeta:
    """What an adapter is told about a raw message besides its payload."""
    return MessageMeta(raw.message_id, raw.provider, raw.location_id, raw.received_at,
                       raw.source_format, raw.sector, raw.context)


class Adapter(Protocol):
    """A pure mapping for one source format.

    Declared by a module-level `ADAPTER`; the API registers a POST route at `path` (None: the
    source is a feed, not pushed over HTTP) that reads the body as `media_type`. An adapter
    whose figures can break a consistency rule may also define
    `element_of(payload, observation) -> str | None`, naming the element a figure came from
    (`adapters.consistency`).
    """

    # Read-only, so that an adapter may narrow them (`media_type: Literal["application/json"]`,
    # `path: str`) and still be an Adapter.
    @property
    def source_format(self) -> str: ...
    @property  # the sector whose locations may send it, or "any"
    def sector(self) -> str: ...
    @property
    def media_type(self) -> Literal["application/fhir+json", "application/json", "text/csv"]: ...
    @property
    def path(self) -> str | None: ...
    @property
    def subject(self) -> Literal["location", "mobile-unit"]: ...
    @property  # the provider's mapping table is put in meta.context["mapping"]
    def needs_mapping(self) -> bool: ...
    @property
    def summary(self) -> str: ...
    @property  # valid examples, with `<name>.expected.json`; invalid ones in `invalid/`
    def examples(self) -> Path: ...

    def location_of(self, payload: Payload) -> str:
        """The registered subject the payload reports on; AdapterError if absent."""
        ...

    def parse(self, payload: Payload, meta: MessageMeta) -> AdapterResult:
        """Map the payload, or raise AdapterError naming element and rule."""
        ...


def check_value(definition: Definition, value: Value, expression: str) -> Issue | None:
    """An error naming `expression` if `value` breaks the definition, else None."""
    problem = value_problem(definition, value)
    return None if problem is None else error("value", expression, problem)


def observation(
    definition: Definition, value: Value, meta: MessageMeta, observed_at: datetime,
    not_reported_reason: NotReportedReason | None = None, location_id: str | None = None,
) -> Observation:
    """The observation of `value` under `definition`, for the message described by `meta`.

    Built without pydantic's validation: every field comes from a definition, the message's
    metadata or a value `check_value` accepted, and the reason is set exactly when the value
    is absent, as the model requires (the adapter contract test checks every adapter's output
    against the model). Validating each figure again was a fifth of a replay's time."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = float(value)  # what the model's validation makes of a whole number
    return Observation.model_construct(
        definition=definition.code, definition_version=definition.version,
        location_id=location_id or meta.location_id, value=value, unit=definition.unit,
        not_reported_reason=(not_reported_reason or "unknown") if value is None else None,
        observed_at=observed_at, received_at=meta.received_at, provider=meta.provider,
        source_format=meta.source_format, raw_message_id=meta.message_id,
    )


def json_object(payload: Payload, what: str) -> dict[str, Any]:
    """The payload as a JSON object, or AdapterError naming what was expected."""
    if not isinstance(payload, dict):
        raise AdapterError([error("structure", what, f"expected a JSON object for {what}")])
    return payload


def csv_text(payload: Payload, what: str) -> str:
    """The payload as CSV text, or AdapterError."""
    if not isinstance(payload, str):
        raise AdapterError([error("structure", what, f"expected CSV text for {what}")])
    return payload


def parse_instant(text: Any, expression: str) -> datetime:
    """An ISO 8601 date-time with timezone, from 1900 on, or AdapterError naming the element."""
    try:
        moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError as exc:
        raise AdapterError([error("invalid", expression,
                                  f"not an ISO 8601 date-time: {text!r}")]) from exc
    if moment.tzinfo is None:
        raise AdapterError([error("invalid", expression,
                                  f"give a timezone (e.g. +01:00 or Z) in {text!r}")])
    if (problem := instant_problem(moment, expression)) is not None:
        raise AdapterError([problem])
    return moment


def instant_problem(moment: datetime, expression: str) -> Issue | None:
    """An error for a time before 1900, or one that has no UTC equivalent (year 9999 at a
    western offset): neither can be stored and read back as a time."""
    if moment.year < EARLIEST_YEAR:
        return error("value", expression, f"{moment.isoformat()} lies before "
                     f"{EARLIEST_YEAR}: no figure can have been observed then")
    try:
        moment.astimezone(UTC)
    except OverflowError:
        return error("value", expression, f"{moment.isoformat()} lies beyond the year 9999")
    return None


def require_definition(code: str, on: datetime) -> Definition:
    """The definition version in force on `on`; a missing one is a bug in the adapter."""
    definition = load_catalogue().get(code, on.date())
    if definition is None:
        raise LookupError(f"adapter refers to unknown definition {code}")
    return definition


def check_observed_at(observed_at: datetime, meta: MessageMeta, expression: str,
                      kept: timedelta = OBSERVATION_RETENTION) -> Issue | None:
    """An error if the observation time is in the future beyond clock skew, or older than the
    history the platform keeps (`kept`: the next retention run would delete it), or before
    1900 (never a real observation)."""
    if (problem := instant_problem(observed_at, expression)) is not None:
        return problem
    if observed_at > meta.received_at + MAX_CLOCK_SKEW:
        return error(
            "business-rule", expression,
            f"observed time {observed_at.isoformat()} lies in the future "
            f"(received {meta.received_at.isoformat()}, max skew {MAX_CLOCK_SKEW})",
        )
    if observed_at < meta.received_at - kept:
        return error(
            "business-rule", expression,
            f"observed time {observed_at.isoformat()} lies more than {kept.days} days before "
            f"receipt ({meta.received_at.isoformat()}): the platform keeps {kept.days} days "
            "of history, so it would be deleted at once; send current figures",
        )
    return None


def nul_problem(payload: Any, where: str = "body") -> Issue | None:
    """An error naming the first text that holds a NUL character: PostgreSQL cannot store one
    in text or JSON, so such a message could be acknowledged but never archived or replayed."""
    if isinstance(payload, str):
        return error("value", where, "text may not contain a NUL character (\\u0000)") \
            if "\x00" in payload else None
    if isinstance(payload, dict):
        for key, value in payload.items():
            problem = nul_problem(key, where) or nul_problem(value, f"{where}.{key}")
            if problem is not None:
                return problem
    elif isinstance(payload, list):
        for i, value in enumerate(payload):
            problem = nul_problem(value, f"{where}[{i}]")
            if problem is not None:
                return problem
    return None
