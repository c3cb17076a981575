"""The contract every adapter passes, over every example beside it.

Each adapter declares an `examples` folder. A valid example `<name>.<json|csv>` has
`<name>.expected.json`: the sector of the subject and the observations (definition, location,
value, not-reported reason) and positions it must map to, the `warnings` of declared rules it
must give (element and a piece of the rule), and every other warning whole (`other_warnings`);
`<name>.context.json`, when present, is what the platform adds at receipt (the provider's
mapping table). An example under `invalid/`
has `<name>.expected.json` with the `error` it must raise: the element, the FHIR issue type
(`code`) and the whole text a provider reads (`diagnostics`).
Examples are mapped as the platform maps a message: the adapter, then the consistency rules
between its figures (`map_message`), so every valid example keeps the rules.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from adapters import Adapter, AdapterError, AdapterResult, MessageMeta, map_message, registry
from adapters.base import Payload
from core.messages import Observation
from definitions import load_catalogue
from definitions.validation import check_observation

RECEIVED = datetime(2026, 11, 22, 13, 0, tzinfo=UTC)
ADAPTERS = sorted(registry().values(), key=lambda a: a.source_format)
SIDE_FILES = (".expected.json", ".context.json")


def _payloads(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.*") if p.is_file() and not p.name.endswith(SIDE_FILES))


def _cases(kind: str) -> list[tuple[Adapter, Path]]:
    cases = []
    for adapter in ADAPTERS:
        folder = adapter.examples / "invalid" if kind == "invalid" else adapter.examples
        cases += [(adapter, path) for path in _payloads(folder)]
    return cases


def _id(case: tuple[Adapter, Path]) -> str:
    return f"{case[0].source_format}:{case[1].name}"


def _side(path: Path, suffix: str) -> dict[str, Any]:
    side = path.with_name(path.name.rsplit(".", 1)[0] + suffix)
    return json.loads(side.read_text()) if side.exists() else {}


def _load(path: Path) -> Payload:
    text = path.read_text(encoding="utf-8")
    return text if path.suffix == ".csv" else json.loads(text)


def _parse(adapter: Adapter, path: Path) -> AdapterResult:
    payload, expected = _load(path), _side(path, ".expected.json")
    meta = MessageMeta(uuid.uuid5(uuid.NAMESPACE_URL, path.name), "provider-x",
                       adapter.location_of(payload), RECEIVED, adapter.source_format,
                       expected.get("sector", adapter.sector), _side(path, ".context.json"))
    return map_message(adapter, payload, meta)


def _summary(result: AdapterResult) -> dict[str, list[dict[str, Any]]]:
    observations = [{"definition": o.definition, "location_id": o.location_id, "value": o.value,
                     **({"not_reported_reason": o.not_reported_reason} if o.value is None else {})}
                    for o in result.observations]
    positions = [{"unit_id": p.unit_id, "latitude": p.latitude, "longitude": p.longitude,
                  "observed_at": p.observed_at.isoformat()} for p in result.positions]
    key = json.dumps
    return {"observations": sorted(observations, key=key), "positions": sorted(positions, key=key)}


@pytest.mark.parametrize("adapter", ADAPTERS, ids=lambda a: a.source_format)
def test_every_adapter_has_valid_and_invalid_examples(adapter: Adapter) -> None:
    assert _payloads(adapter.examples), f"no examples in {adapter.examples}"
    assert _payloads(adapter.examples / "invalid"), "no invalid examples"
    for path in _payloads(adapter.examples) + _payloads(adapter.examples / "invalid"):
        assert _side(path, ".expected.json"), f"{path.name} has no .expected.json"


@pytest.mark.parametrize("case", _cases("valid"), ids=_id)
def test_example_maps_to_the_expected_observations(case: tuple[Adapter, Path]) -> None:
    adapter, path = case
    expected = _side(path, ".expected.json")
    summary = _summary(_parse(adapter, path))
    assert summary["observations"] == sorted(expected.get("observations", []), key=json.dumps)
    assert summary["positions"] == sorted(expected.get("positions", []), key=json.dumps)


@pytest.mark.parametrize("case", _cases("valid"), ids=_id)
def test_example_gives_the_expected_rule_warnings(case: tuple[Adapter, Path]) -> None:
    adapter, path = case
    expected = _side(path, ".expected.json").get("warnings", [])
    rules = [i for i in _parse(adapter, path).warnings if i.rule is not None]
    assert len(rules) == len(expected), rules
    for wanted in expected:
        assert any(i.expressions == (wanted["expression"], *wanted["also"])
                   and wanted["contains"] in i.diagnostics for i in rules), (wanted, rules)


@pytest.mark.parametrize("case", _cases("valid"), ids=_id)
def test_example_gives_exactly_the_other_warnings(case: tuple[Adapter, Path]) -> None:
    """Warnings that are not a declared rule (a part left out, a time taken as local), whole:
    the element, the FHIR issue type and the text the provider reads back."""
    adapter, path = case
    found = [{"expression": i.expression, "code": i.code, "diagnostics": i.diagnostics}
             for i in _parse(adapter, path).warnings if i.rule is None]
    assert found == _side(path, ".expected.json").get("other_warnings", [])


@pytest.mark.parametrize("case", _cases("valid"), ids=_id)
def test_parsing_twice_gives_the_same_result(case: tuple[Adapter, Path]) -> None:
    adapter, path = case
    assert _parse(adapter, path) == _parse(adapter, path)


@pytest.mark.parametrize("case", _cases("valid"), ids=_id)
def test_every_observation_fits_its_definition_and_sector(case: tuple[Adapter, Path]) -> None:
    adapter, path = case
    sector = _side(path, ".expected.json").get("sector", adapter.sector)
    catalogue = load_catalogue()
    for obs in _parse(adapter, path).observations:
        assert Observation.model_validate(obs.model_dump()) == obs  # a valid model
        check_observation(catalogue, obs.definition, obs.definition_version, obs.value, obs.unit)
        definition = catalogue.version(obs.definition, obs.definition_version)
        assert definition is not None and definition.sector in (sector, "all")
        assert obs.observed_at <= RECEIVED and obs.received_at == RECEIVED


@pytest.mark.parametrize("case", _cases("invalid"), ids=_id)
def test_invalid_example_is_refused_naming_element_and_rule(case: tuple[Adapter, Path]) -> None:
    adapter, path = case
    expected = _side(path, ".expected.json")["error"]
    with pytest.raises(AdapterError) as caught:
        _parse(adapter, path)
    issues = caught.value.issues
    # The refusal a provider reads, whole: the element, the FHIR issue type and the text.
    assert any(expected["expression"] in i.expressions and i.code == expected["code"]
               and i.diagnostics == expected["diagnostics"] for i in issues), [
        f"{i.expressions} {i.code}: {i.diagnostics}" for i in issues]
    for also in expected.get("also", []):  # the other elements a rule between figures names
        assert any(also in i.expressions for i in issues), (also, issues)
