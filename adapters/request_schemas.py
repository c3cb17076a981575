"""The JSON Schemas of what the push and registration endpoints take, as files in the repository.

`python -m adapters.request_schemas` writes them to `schemas/requests/` (also run by
`make docs`): one per push endpoint (`<source format>.schema.json`, `/` read as `.`), one per
mapping table, one per FHIR resource a provider registers. They are the same schemas the
OpenAPI document shows for the request bodies, so a provider's IT team can check a message
before it is sent, without a running platform; and a change of what an endpoint takes shows in a
review as a change of these files (tests/unit/test_request_schemas.py holds them equal).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from adapters.base import Adapter
from adapters.facility import healthcare_service_schema, location_schema, organization_schema
from adapters.registry import registry

FOLDER = Path(__file__).resolve().parent.parent / "schemas" / "requests"
DIALECT = "https://json-schema.org/draft/2020-12/schema"


def file_name(source_format: str) -> str:
    """'fhir-r4/MeasureReport' -> 'fhir-r4.MeasureReport.schema.json'."""
    return f"{source_format.replace('/', '.')}.schema.json"


@runtime_checkable
class Documented(Protocol):
    """An adapter that says what its endpoint takes (every adapter with a path does)."""

    def request_schema(self) -> dict[str, Any]:
        """The request body's JSON Schema."""
        ...


@runtime_checkable
class Mapped(Protocol):
    """An adapter whose messages need the provider's mapping table."""

    def mapping_schema(self) -> dict[str, Any]:
        """The mapping table's JSON Schema."""
        ...


def body_schema(adapter: Adapter) -> dict[str, Any]:
    """What the adapter's push endpoint takes (also the OpenAPI document's request body)."""
    if not isinstance(adapter, Documented):
        raise TypeError(f"{adapter.source_format} is pushed at {adapter.path} but declares no "
                        "request_schema()")
    return adapter.request_schema()


def mapping_schema(adapter: Adapter) -> dict[str, Any]:
    """The mapping table an adapter that `needs_mapping` takes."""
    if not isinstance(adapter, Mapped):
        raise TypeError(f"{adapter.source_format} needs a mapping table but declares no "
                        "mapping_schema()")
    return adapter.mapping_schema()


def request_schemas() -> dict[str, dict[str, Any]]:
    """Every request body schema, by its file name."""
    found: dict[str, dict[str, Any]] = {}
    for adapter in registry().values():
        if adapter.path is None:
            continue
        found[file_name(adapter.source_format)] = body_schema(adapter)
        if adapter.needs_mapping:
            found[file_name(f"{adapter.source_format}.mapping")] = mapping_schema(adapter)
    found[file_name("fhir-r4/Organization")] = organization_schema()
    found[file_name("fhir-r4/Location")] = location_schema()
    found[file_name("fhir-r4/HealthcareService")] = healthcare_service_schema()
    return {name: {"$schema": DIALECT, **schema} for name, schema in sorted(found.items())}


def rendered(schema: dict[str, Any]) -> str:
    """A schema as its file holds it."""
    return json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def write(folder: Path = FOLDER) -> list[Path]:
    """Write every schema into `folder`, removing files of schemas no longer declared."""
    folder.mkdir(parents=True, exist_ok=True)
    schemas = request_schemas()
    for stale in folder.glob("*.schema.json"):
        if stale.name not in schemas:
            stale.unlink()
    written = []
    for name, schema in schemas.items():
        path = folder / name
        path.write_text(rendered(schema), encoding="utf-8")
        written.append(path)
    return written


def main() -> None:
    """Write the files and say where."""
    for path in write():
        sys.stdout.write(f"{path}\n")


if __name__ == "__main__":
    main()
