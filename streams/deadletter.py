"""The one error boundary of the streams: any failure becomes a dead letter with its reason.

A dead letter carries the original bytes, where they came from and why they were refused. It is
produced and acknowledged by the broker before the offending message is acknowledged, so a
message is never dropped silently.
"""

from __future__ import annotations

import base64
import json
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgspec
import pydantic
import structlog

from adapters import AdapterError
from core.metrics import MESSAGES_REJECTED
from definitions.validation import DefinitionViolation

log = structlog.get_logger()
# The detail a dead letter carries: enough for people, bounded so that a dead letter of the
# largest ingest message still fits the broker (core/settings.py, DEAD_LETTER_RESERVE_BYTES).
DETAIL_CHARS = 4000


@dataclass(frozen=True)
class DeadLetter:
    """Why one message could not be processed, and where it came from."""

    stage: str
    reason: str
    detail: str
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes

    def to_json(self) -> bytes:
        """The dead-letter message as stored on the dead-letter topic."""
        return json.dumps({
            "stage": self.stage, "reason": self.reason, "detail": self.detail[:DETAIL_CHARS],
            "source": {"topic": self.topic, "partition": self.partition, "offset": self.offset},
            "key": self.key.decode("utf-8", "replace") if self.key else None,
            "value_base64": base64.b64encode(self.value).decode("ascii"),
            "failed_at": datetime.now(UTC).isoformat(),
        }).encode()


def reason_of(exc: BaseException) -> tuple[str, str]:
    """A bounded reason for metrics and the full detail for people."""
    if isinstance(exc, AdapterError):
        return exc.reason, str(exc)
    if isinstance(exc, DefinitionViolation):
        return "definition", str(exc)
    if isinstance(exc, pydantic.ValidationError):
        undecodable = all(e["type"] == "json_invalid" for e in exc.errors())
        return ("undecodable" if undecodable else "schema"), str(exc)
    if isinstance(exc, UnicodeDecodeError | json.JSONDecodeError | msgspec.DecodeError):
        return "undecodable", str(exc)
    if isinstance(exc, msgspec.ValidationError):
        return "schema", str(exc)
    return "processing-error", f"{type(exc).__name__}: {exc}"


def dead_letter_of(stage: str, message: Any, exc: BaseException) -> DeadLetter:
    """Turn an exception raised for a faust message into a dead letter, counted and logged."""
    reason, detail = reason_of(exc)
    MESSAGES_REJECTED.labels(stage=stage, reason=reason).inc()
    log.warning("message_dead_lettered", stage=stage, reason=reason, detail=detail[:2000],
                topic=message.topic, partition=message.partition, offset=message.offset)
    return DeadLetter(stage, reason, detail, message.topic, message.partition, message.offset,
                      message.key, message.value)


@dataclass
class DlqLimit:
    """When dead-lettering stops being an exception and becomes a bad deploy (arroyo's DlqLimit).

    Over the last `window` messages of a stage, more than `max_invalid_ratio` refused (once at
    least `min_seen` were seen), or more than `max_consecutive` refused in a row, means the
    stage itself is broken: draining everything into the dead-letter topic would only hide it.
    """

    max_invalid_ratio: float = 0.5
    max_consecutive: int = 1000
    min_seen: int = 200
    window: int = 1000
    _outcomes: deque[bool] = field(init=False, repr=False)
    _consecutive: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self._outcomes = deque(maxlen=self.window)

    def record(self, valid: int, invalid: int) -> str | None:
        """Count a batch (its refused ones taken as last); the reason to stop, or None."""
        if valid:
            self._consecutive = 0
        self._consecutive += invalid
        self._outcomes.extend([True] * min(valid, self.window))
        self._outcomes.extend([False] * min(invalid, self.window))
        if self._consecutive > self.max_consecutive:
            return f"{self._consecutive} messages in a row refused (limit {self.max_consecutive})"
        seen, refused = len(self._outcomes), self._outcomes.count(False)
        if seen >= self.min_seen and refused / seen > self.max_invalid_ratio:
            return (f"{refused} of the last {seen} messages refused "
                    f"(limit {self.max_invalid_ratio:.0%})")
        return None
