"""Discovers adapters by declaration: every module in this package with an `ADAPTER`."""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache

import adapters
from adapters.base import Adapter, AdapterError, AdapterResult, error, meta_of
from core.messages import RawMessage


@lru_cache(maxsize=1)
def registry() -> dict[str, Adapter]:
    """Every declared adapter, by source format."""
    found: dict[str, Adapter] = {}
    for module_info in pkgutil.walk_packages(adapters.__path__, prefix="adapters."):
        module = importlib.import_module(module_info.name)
        adapter = getattr(module, "ADAPTER", None)
        if adapter is None:
            continue
        if adapter.source_format in found:
            raise RuntimeError(f"two adapters declare source format {adapter.source_format}")
        found[adapter.source_format] = adapter
    return found


def adapter_for(source_format: str) -> Adapter | None:
    """The adapter for a source format, or None when nothing handles it."""
    return registry().get(source_format)


def map_raw(raw: RawMessage) -> AdapterResult:
    """A raw message mapped by the adapter of its source format (replays, reconciled
    messages); AdapterError when no adapter reads it or the adapter refuses it."""
    adapter = adapter_for(raw.source_format)
    if adapter is None:
        raise AdapterError([error("not-supported", "source_format",
                                  f"no adapter for source format {raw.source_format!r}")])
    return adapter.parse(raw.payload, meta_of(raw))
