"""Discovers adapters by declaration: every module in this package with an `ADAPTER`."""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache

import adapters
from adapters.base import Adapter, AdapterError, AdapterResult, MessageMeta, Payload, error, meta_of
from adapters.consistency import checked
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


def map_message(adapter: Adapter, payload: Payload, meta: MessageMeta) -> AdapterResult:
    """What the platform makes of a message: the adapter's mapping, then the consistency rules
    between its figures (`adapters.consistency`); AdapterError when either refuses it."""
    return checked(adapter, payload, adapter.parse(payload, meta))


def map_raw(raw: RawMessage) -> AdapterResult:
    """A raw message mapped as `map_message` does (replays, reconciled messages);
    AdapterError when no adapter reads it or the message is refused."""
    adapter = adapter_for(raw.source_format)
    if adapter is None:
        raise AdapterError([error("not-supported", "source_format",
                                  f"no adapter for source format {raw.source_format!r}")])
    return map_message(adapter, raw.payload, meta_of(raw))
