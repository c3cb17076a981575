"""The request body schemas in schemas/requests/: the files are what the adapters declare, and
each admits every valid example of its adapter. The schemas are built inside each test, not at
import, so that `make mutation` knows which tests reach the code that builds them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from adapters import Adapter, registry
from adapters.request_schemas import FOLDER, file_name, rendered, request_schemas, write

FILES = sorted(path.name for path in FOLDER.glob("*.schema.json"))
PUSHED = sorted((a for a in registry().values() if a.path is not None),
                key=lambda a: a.source_format)


def test_the_files_are_the_declared_schemas() -> None:
    """A change of what an endpoint takes is a change of these files: `make docs` writes them."""
    schemas = request_schemas()
    on_disk = {path.name: path.read_text(encoding="utf-8")
               for path in FOLDER.glob("*.schema.json")}
    assert sorted(on_disk) == sorted(schemas), "run `make docs` to write schemas/requests/"
    for name, schema in schemas.items():
        assert on_disk[name] == rendered(schema), f"{name} differs: run `make docs`"


@pytest.mark.parametrize("name", FILES)
def test_each_file_is_a_json_schema(name: str) -> None:
    Draft202012Validator.check_schema(request_schemas()[name])


def test_every_push_endpoint_and_registered_resource_has_one() -> None:
    expected = {file_name(a.source_format) for a in PUSHED}
    expected |= {file_name(f"{a.source_format}.mapping") for a in PUSHED if a.needs_mapping}
    expected |= {file_name(f"fhir-r4/{kind}")
                 for kind in ("Organization", "Location", "HealthcareService")}
    assert set(request_schemas()) == expected
    assert file_name("fhir-r4/MeasureReport") == "fhir-r4.MeasureReport.schema.json"


def _examples(adapter: Adapter) -> list[Path]:
    return sorted(p for p in adapter.examples.glob("*.*")
                  if p.is_file() and not p.name.endswith((".expected.json", ".context.json")))


@pytest.mark.parametrize("adapter", PUSHED, ids=lambda a: a.source_format)
def test_the_schema_admits_every_valid_example(adapter: Adapter) -> None:
    schemas = request_schemas()
    validator = Draft202012Validator(schemas[file_name(adapter.source_format)])
    examples = _examples(adapter)
    assert examples, f"{adapter.source_format} has no valid example"
    for path in examples:
        text = path.read_text(encoding="utf-8")
        body = text if path.suffix == ".csv" else json.loads(text)
        problems = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
                    for e in validator.iter_errors(body)]
        assert not problems, f"{path.name}: {problems}"
        if adapter.needs_mapping and (context := path.with_name(
                path.name.rsplit(".", 1)[0] + ".context.json")).exists():
            mapping = json.loads(context.read_text(encoding="utf-8"))["mapping"]
            Draft202012Validator(
                schemas[file_name(f"{adapter.source_format}.mapping")]).validate(mapping)


def test_writing_removes_the_files_of_schemas_no_longer_declared(tmp_path: Path) -> None:
    (tmp_path / "gone.schema.json").write_text("{}", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("kept", encoding="utf-8")
    written = write(tmp_path)
    schemas = request_schemas()
    assert sorted(p.name for p in written) == sorted(schemas)
    assert not (tmp_path / "gone.schema.json").exists()
    assert (tmp_path / "notes.txt").exists()
    name = file_name("fhir-r4/MeasureReport")
    assert json.loads((tmp_path / name).read_text(encoding="utf-8")) == schemas[name]
