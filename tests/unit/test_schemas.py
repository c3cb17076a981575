"""Every canonical event schema and every example payload beside it.

Valid examples must pass both the JSON Schema (the contract for other consumers) and the
pydantic model (what the platform itself uses), and survive a round trip; examples under
`invalid/` must be refused by both.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any, get_args

import jsonschema
import msgspec
import pydantic
import pytest

from adapters import AdapterError, MessageMeta, adapter_for, map_raw
from core import ingest
from core.messages import NotReportedReason, Observation, Position, RawMessage
from definitions import load_catalogue
from definitions.validation import check_observation

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
MODELS: dict[str, type[pydantic.BaseModel]] = {
    "observation": Observation, "raw-message": RawMessage, "position": Position,
}
VALID = sorted(p for p in SCHEMAS.glob("examples/*/*.json"))
INVALID = sorted(SCHEMAS.glob("examples/*/invalid/*.json"))


def _validator(name: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def _kind(example: Path) -> str:
    return example.parent.name if example.parent.name != "invalid" else example.parent.parent.name


def _load(path: Path) -> Any:
    return json.loads(path.read_text())


@pytest.mark.parametrize("schema", sorted(SCHEMAS.glob("*.schema.json")), ids=lambda p: p.name)
def test_every_schema_is_valid_draft_2020_12(schema: Path) -> None:
    jsonschema.Draft202012Validator.check_schema(json.loads(schema.read_text()))


def test_every_event_schema_has_examples() -> None:
    event_schemas = {p.name.removesuffix(".schema.json") for p in SCHEMAS.glob("*.schema.json")}
    # Definitions and rules are checked in their own files, by definitions.check.
    assert event_schemas - {"definition", "rule"} <= {_kind(p) for p in VALID}


@pytest.mark.parametrize("example", VALID, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_valid_example_passes_schema_and_model(example: Path) -> None:
    payload, kind = _load(example), _kind(example)
    _validator(kind).validate(payload)
    model = MODELS.get(kind)
    if kind == "ingest-message":
        messages = ingest.decode_all(json.dumps(payload).encode())
        for message, sent in zip(messages, payload if isinstance(payload, list) else [payload],
                                 strict=True):
            _validator("raw-message").validate(sent["raw"])
            assert ingest.decode_all(ingest.encode(message)) == [message]
            assert message.raw_message().message_id == message.message_id
    if model is not None:
        parsed = model.model_validate(payload)
        _validator(kind).validate(json.loads(parsed.model_dump_json()))
        assert model.model_validate_json(parsed.model_dump_json()) == parsed


@pytest.mark.parametrize("example", INVALID, ids=lambda p: f"{p.parents[1].name}/{p.name}")
def test_invalid_example_is_refused_by_schema_and_model(example: Path) -> None:
    payload, kind = _load(example), _kind(example)
    assert list(_validator(kind).iter_errors(payload)), "the schema accepted it"
    if kind == "ingest-message":
        with pytest.raises(msgspec.ValidationError):
            ingest.decode_all(json.dumps(payload).encode())
        return
    with pytest.raises(pydantic.ValidationError):
        MODELS[kind].model_validate(payload)


@pytest.mark.parametrize("example", sorted(SCHEMAS.glob("examples/observation/*.json")),
                         ids=lambda p: p.name)
def test_observation_examples_fit_their_definitions(example: Path) -> None:
    obs = Observation.model_validate(_load(example))
    check_observation(load_catalogue(), obs.definition, obs.definition_version, obs.value,
                      obs.unit)


def test_raw_message_example_is_accepted_by_its_adapter() -> None:
    example = SCHEMAS / "examples/raw-message/saner-measurereport.json"
    raw = RawMessage.model_validate(_load(example))
    adapter = adapter_for(raw.source_format)
    assert adapter is not None
    meta = MessageMeta(raw.message_id, raw.provider, raw.location_id, raw.received_at,
                       raw.source_format)
    assert len(adapter.parse(raw.payload, meta).observations) == 5


def test_map_raw_maps_a_raw_message_as_the_push_did() -> None:
    """Replay's and the reconciler's mapping: the adapter of the raw message's format, told the
    message's own facts (who, which subject, when)."""
    example = SCHEMAS / "examples/raw-message/saner-measurereport.json"
    raw = RawMessage.model_validate(_load(example))
    result = map_raw(raw)
    assert len(result.observations) == 5
    assert {o.location_id for o in result.observations} == {raw.location_id}
    assert {o.provider for o in result.observations} == {raw.provider}
    assert {o.raw_message_id for o in result.observations} == {raw.message_id}
    assert {(o.received_at, o.source_format) for o in result.observations} == {
        (raw.received_at, raw.source_format)}


def test_map_raw_refuses_a_format_no_adapter_reads() -> None:
    example = _load(SCHEMAS / "examples/raw-message/saner-measurereport.json")
    raw = RawMessage.model_validate({**example, "source_format": "fax"})
    with pytest.raises(AdapterError) as refused:
        map_raw(raw)
    [issue] = refused.value.issues
    assert (issue.code, issue.expression) == ("not-supported", "source_format")
    assert "'fax'" in issue.diagnostics


def test_a_mapped_ingest_message_carries_what_its_adapter_makes_of_the_raw_message() -> None:
    [message] = ingest.decode_all(
        (SCHEMAS / "examples/ingest-message/saner-mapped.json").read_bytes())
    raw = message.raw_message()
    assert message.observations == ingest.ingest_message(raw, map_raw(raw).observations
                                                         ).observations
    unmapped = (SCHEMAS / "examples/ingest-message/reconciled-unmapped.json").read_bytes()
    assert not ingest.decode_all(unmapped)[0].mapped


def test_dead_letter_example_carries_the_original_bytes() -> None:
    letter = _load(SCHEMAS / "examples/deadletter/undecodable.json")
    assert base64.b64decode(letter["value_base64"]).startswith(b"\xff")


def test_schema_knows_every_not_reported_reason_of_the_model() -> None:
    schema = json.loads((SCHEMAS / "observation.schema.json").read_text())


    assert set(schema["properties"]["not_reported_reason"]["enum"]) - {None} == set(
        get_args(NotReportedReason))
