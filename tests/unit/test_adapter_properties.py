"""Properties every adapter keeps, on input Hypothesis makes up (issue 11, item 4).

For every declared adapter, on arbitrary payloads and on its own valid examples mutated (a value
replaced, a field dropped or added, a CSV cell changed, a line added or dropped):

- mapping a message (`map_message`: the adapter, then the consistency rules) either gives a
  result or refuses it with its refusal type (`AdapterError`, an `Invalid`): nothing else
  escapes, whatever the sender wrote;
- what it accepts fits its definitions: every observation is a valid model whose value fits
  the definition version it names (`definitions.validation`) of the subject's sector, and every
  position is a valid model;
- mapping the same message twice gives the same result.
"""

from __future__ import annotations

import json
import os
import string
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters import Adapter, AdapterError, AdapterResult, MessageMeta, map_message, registry
from adapters.base import Payload
from core.messages import Observation, Position
from definitions import load_catalogue
from definitions.validation import check_observation

RECEIVED = datetime(2026, 11, 22, 13, 0, tzinfo=UTC)
ADAPTERS = sorted(registry().values(), key=lambda a: a.source_format)
SIDE_FILES = (".expected.json", ".context.json")
# Per adapter and property: the module stays within seconds in make test; make fuzz asks more.
EXAMPLES = int(os.environ.get("PROPERTY_EXAMPLES", "60"))
PROPERTY = settings(max_examples=EXAMPLES, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# JSON as a sender may write it: Python's json module also reads NaN and Infinity, and
# integers of any length.
SCALARS = (st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
           | st.sampled_from(["", "0", "-1", "2026-11-22T12:00:00+01:00", "2026-11-22", "null",
                              "open", "stop", "bezet", "A", "5", "U"]))
JSON: st.SearchStrategy[Any] = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=10), inner, max_size=4), max_leaves=12)


def _valid_examples(adapter: Adapter) -> list[Path]:
    return sorted(p for p in adapter.examples.glob("*.*")
                  if p.is_file() and not p.name.endswith(SIDE_FILES))


def _side(path: Path, suffix: str) -> dict[str, Any]:
    side = path.with_name(path.name.rsplit(".", 1)[0] + suffix)
    return json.loads(side.read_text()) if side.exists() else {}


def _load(path: Path) -> Payload:
    text = path.read_text(encoding="utf-8")
    return text if path.suffix == ".csv" else json.loads(text)


def _is_csv(adapter: Adapter) -> bool:
    return adapter.media_type == "text/csv"


# --- mutations of a valid example ---------------------------------------------------------------


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON document, the root first."""
    found = [prefix]
    if isinstance(value, dict):
        for key, inner in value.items():
            found += _paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            found += _paths(inner, (*prefix, i))
    return found


def _replaced(document: Any, path: tuple[Any, ...], new: Any) -> Any:
    """`document` with the value at `path` replaced (a copy; the example stays as it is)."""
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(document, dict):
        return {**document, head: _replaced(document[head], rest, new)}
    return [*document[:head], _replaced(document[head], rest, new), *document[head + 1:]]


DROP = object()


def _pruned(document: Any) -> Any:
    """`document` without the values marked DROP."""
    if isinstance(document, dict):
        return {k: _pruned(v) for k, v in document.items() if v is not DROP}
    if isinstance(document, list):
        return [_pruned(v) for v in document if v is not DROP]
    return document


@st.composite
def mutated_json(draw: st.DrawFn, example: Any) -> Any:
    """The example with one to three places changed: replaced, dropped, or given a new field."""
    document = example
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(document)))
        target: Any = document
        for part in path:
            target = target[part]
        choice = draw(st.sampled_from(["replace", "drop", "add", "nudge"]))
        if choice == "drop" and path:
            document = _pruned(_replaced(document, path, DROP))
        elif choice == "add" and isinstance(target, dict):
            document = _replaced(document, path, {**target, draw(st.text(max_size=10)):
                                                  draw(JSON)})
        elif choice == "nudge" and isinstance(target, int | float) and not isinstance(target,
                                                                                     bool):
            document = _replaced(document, path, target + draw(st.sampled_from([-1, 1, 0.5])))
        else:
            document = _replaced(document, path, draw(JSON))
    return document


CELL = st.text(alphabet=string.printable, max_size=12) | st.sampled_from(
    ["", "-1", "0", "1", "99999", "1.5", "vrij", "bezet", "gesloten", "GRZ",
     "2026-11-22T12:00:00", "2026-11-22T13:04:00+01:00", "#location=x", ";", '"'])


@st.composite
def mutated_csv(draw: st.DrawFn, example: str) -> str:
    """The example with one to three changes: a cell replaced, a line dropped, doubled or
    added, or a separator dropped."""
    lines = example.splitlines()
    for _ in range(draw(st.integers(1, 3))):
        if not lines:
            lines = [draw(CELL)]
        i = draw(st.integers(0, len(lines) - 1))
        cells = lines[i].split(";")
        choice = draw(st.sampled_from(["cell", "drop-line", "double-line", "add-line",
                                       "drop-cell"]))
        if choice == "cell":
            cells[draw(st.integers(0, len(cells) - 1))] = draw(CELL)
            lines[i] = ";".join(cells)
        elif choice == "drop-line":
            del lines[i]
        elif choice == "double-line":
            lines.insert(i, lines[i])
        elif choice == "add-line":
            lines.insert(i, ";".join(draw(st.lists(CELL, max_size=6))))
        else:
            del cells[draw(st.integers(0, len(cells) - 1))]
            lines[i] = ";".join(cells)
    return "\n".join(lines)


# --- the properties -----------------------------------------------------------------------------


def _meta(adapter: Adapter, payload: Payload, example: Path | None) -> MessageMeta:
    """What the platform tells the adapter: the subject the payload names (or a stand-in when
    it names none), the example's sector and the example's context (the mapping table)."""
    try:
        subject = adapter.location_of(payload)
    except AdapterError:
        subject = "loc-fuzz"
    expected = _side(example, ".expected.json") if example else {}
    context = _side(example, ".context.json") if example else {}
    return MessageMeta(uuid.UUID(int=7), "provider-x", subject, RECEIVED, adapter.source_format,
                       expected.get("sector", adapter.sector), context)


def _mapped_or_refused(adapter: Adapter, payload: Payload,
                       example: Path | None) -> tuple[MessageMeta, AdapterResult | None]:
    """The mapping, or None when it was refused with AdapterError; anything else fails."""
    meta = _meta(adapter, payload, example)
    try:
        return meta, map_message(adapter, payload, meta)
    except AdapterError as refusal:
        assert refusal.issues, "a refusal names at least one element and rule"
        assert all(i.severity == "error" for i in refusal.issues)
        return meta, None


def _fits_its_definitions(result: AdapterResult, meta: MessageMeta) -> None:
    catalogue = load_catalogue()
    for figure in result.observations:
        assert Observation.model_validate(figure.model_dump()) == figure
        check_observation(catalogue, figure.definition, figure.definition_version,
                          figure.value, figure.unit)
        definition = catalogue.version(figure.definition, figure.definition_version)
        assert definition is not None and definition.sector in (meta.sector, "all")
        assert figure.received_at == RECEIVED and figure.source_format == meta.source_format
    for position in result.positions:
        assert Position.model_validate(position.model_dump()) == position
    assert all(w.severity == "warning" for w in result.warnings)


def _keeps_the_properties(adapter: Adapter, payload: Payload, example: Path | None) -> None:
    meta, result = _mapped_or_refused(adapter, payload, example)
    if result is None:
        return
    _fits_its_definitions(result, meta)
    assert map_message(adapter, payload, meta) == result, "mapping twice differs"


def _example_cases() -> list[tuple[Adapter, Path]]:
    return [(adapter, path) for adapter in ADAPTERS for path in _valid_examples(adapter)]


def _case_id(case: tuple[Adapter, Path]) -> str:
    return f"{case[0].source_format}:{case[1].name}"


@pytest.mark.parametrize("adapter", ADAPTERS, ids=lambda a: a.source_format)
@PROPERTY
@given(data=st.data())
def test_arbitrary_input_is_mapped_or_refused(adapter: Adapter, data: st.DataObject) -> None:
    payload: Payload = data.draw(st.text() if _is_csv(adapter) else
                                 st.dictionaries(st.text(max_size=12), JSON, max_size=6)
                                 | JSON, label="payload")
    _keeps_the_properties(adapter, payload, None)


@pytest.mark.parametrize("case", _example_cases(), ids=_case_id)
@PROPERTY
@given(data=st.data())
def test_a_mutated_example_is_mapped_or_refused(case: tuple[Adapter, Path],
                                                data: st.DataObject) -> None:
    adapter, path = case
    example = _load(path)
    payload: Payload = data.draw(mutated_csv(example) if isinstance(example, str)
                                 else mutated_json(example), label="payload")
    _keeps_the_properties(adapter, payload, path)


@pytest.mark.parametrize("case", _example_cases(), ids=_case_id)
def test_every_valid_example_keeps_the_properties(case: tuple[Adapter, Path]) -> None:
    """The properties hold on the unmutated examples too (the accepting side is exercised)."""
    adapter, path = case
    meta, result = _mapped_or_refused(adapter, _load(path), path)
    assert result is not None, f"{path.name} is refused"
    _fits_its_definitions(result, meta)
