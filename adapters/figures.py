"""Mapping flat JSON fields to observations: the common shape of the JSON status adapters.

A JSON status message names its location, the moment the figures were true, and fields. A field
that is absent was not sent (no observation); a field that is null was sent as "not known"
(an observation that says not reported, never 0).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar, Literal

from adapters.base import (
    AdapterError,
    AdapterResult,
    Issue,
    MessageMeta,
    Payload,
    check_observed_at,
    check_value,
    error,
    json_object,
    observation,
    parse_instant,
    require_definition,
)
from adapters.bodies import figure_field, figures_model, schema_of, status_body
from core.messages import Observation

# Where a JSON body's elements are named from in errors: "body.seh.expected_end".
ROOT = "body"


def _model_name(name: str) -> str:
    return "".join(word.capitalize() for word in name.replace("-", "_").split("_"))


def required_text(body: Mapping[str, Any], field: str, where: str) -> str:
    """A non-empty string field, or AdapterError naming it."""
    value = body.get(field)
    if not isinstance(value, str) or not value:
        raise AdapterError([error("required", f"{where}.{field}", f"give {field} as text")])
    return value


def observed_at_of(body: Mapping[str, Any], meta: MessageMeta, where: str) -> datetime:
    """The message's `observed_at`, with timezone and not in the future."""
    if "observed_at" not in body:
        raise AdapterError([error("required", f"{where}.observed_at",
                                  "give the moment the figures were true (ISO 8601, timezone)")])
    moment = parse_instant(body["observed_at"], f"{where}.observed_at")
    if (late := check_observed_at(moment, meta, f"{where}.observed_at")) is not None:
        raise AdapterError([late])
    return moment


def map_fields(
    body: Mapping[str, Any], fields: Mapping[str, str], meta: MessageMeta,
    observed_at: datetime, where: str,
) -> tuple[list[Observation], list[Issue]]:
    """One observation per field of `fields` (JSON name -> definition code) present in body."""
    observations, problems = [], []
    for name, code in fields.items():
        if name not in body:
            continue
        definition = require_definition(code, observed_at)
        value = body[name]
        if (bad := check_value(definition, value, f"{where}.{name}")) is not None:
            problems.append(bad)
            continue
        observations.append(observation(definition, value, meta, observed_at))
    return observations, problems


def unknown_fields(body: Mapping[str, Any], known: set[str], where: str) -> list[Issue]:
    """Errors for fields the format does not have: a typo must not be silently ignored."""
    return [error("structure", f"{where}.{name}", f"unknown field {name!r}; expected one of "
                  f"{', '.join(sorted(known))}") for name in body if name not in known]


def finish(observations: list[Observation], problems: list[Issue], where: str) -> list[Observation]:
    """Raise on any problem (never emit part of a message); refuse a message without figures."""
    if problems:
        raise AdapterError(problems)
    if not observations:
        raise AdapterError([error("required", where, "the message contains no figures")])
    return observations


class JsonStatusAdapter:
    """What the JSON status formats share: a body `{"location", "observed_at", ...figures}`
    pushed by the location itself. A subclass sets source_format, sector, path, summary and
    examples; `figures` (JSON field -> definition code) are mapped here, other top-level
    `parts` by the subclass's `extra`; `part_fields` (part -> its field -> definition code)
    names the elements of figures inside parts. A subclass with a different flow overrides
    `parse`."""

    media_type: Literal["application/json"] = "application/json"
    subject: Literal["location"] = "location"
    needs_mapping = False
    source_format: str
    summary: str
    figures: ClassVar[Mapping[str, str]] = {}
    parts: ClassVar[frozenset[str]] = frozenset()
    part_fields: ClassVar[Mapping[str, Mapping[str, str]]] = {}
    nullable_parts: ClassVar[bool] = False  # a part sent as null: all its figures not reported

    def body_fields(self) -> dict[str, Any]:
        """The body's fields besides `location` and `observed_at`, as `create_model` takes
        them: each figure, and each part as an object of its own figures."""
        fields: dict[str, Any] = {name: figure_field(code) for name, code in self.figures.items()}
        for part, named in self.part_fields.items():
            model: Any = figures_model(self.body_name() + _model_name(part), dict(named),
                                       f"the {part} figures")
            fields[part] = (model | None if self.nullable_parts else model, None)
        return fields

    def body_name(self) -> str:
        """The body model's name, from the source format: `json/hap-status` → HapStatus."""
        return _model_name(self.source_format.split("/")[-1])

    def request_schema(self) -> dict[str, Any]:
        """JSON Schema of the body this adapter reads (the OpenAPI document shows it)."""
        return schema_of(status_body(self.body_name(), self.summary, **self.body_fields()))

    def location_of(self, payload: Payload) -> str:
        """The registered location the status is about: `location`."""
        return required_text(json_object(payload, ROOT), "location", ROOT)

    def parse(self, payload: Payload, meta: MessageMeta) -> AdapterResult:
        """One observation per figure sent; every problem refuses the whole message."""
        body = self.prepare(json_object(payload, ROOT))
        observed_at = observed_at_of(body, meta, ROOT)
        known = {"location", "observed_at", *self.figures, *self.parts}
        problems = unknown_fields(body, known, ROOT)
        observations, bad = map_fields(body, self.figures, meta, observed_at, ROOT)
        more, more_bad = self.extra(body, meta, observed_at)
        return AdapterResult(finish(observations + more, problems + bad + more_bad, ROOT))

    def element_of(self, payload: Payload, figure: Observation) -> str | None:
        """The field that reported `figure`: `body.<field>` or `body.<part>.<field>`."""
        fields = {code: f"{ROOT}.{name}" for name, code in self.figures.items()}
        fields |= {code: f"{ROOT}.{part}.{name}" for part, named in self.part_fields.items()
                   for name, code in named.items()}
        return fields.get(figure.definition)

    def prepare(self, body: dict[str, Any]) -> dict[str, Any]:
        """The body as the mapping reads it (a subclass may normalise a field)."""
        return body

    def extra(self, body: dict[str, Any], meta: MessageMeta,
              observed_at: datetime) -> tuple[list[Observation], list[Issue]]:
        """Observations and problems of the subclass's own `parts` and rules."""
        return [], []
