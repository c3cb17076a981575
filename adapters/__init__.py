"""Sector adapters: pure mappings from what provider systems send to canonical observations.

Every adapter module declares one module-level `ADAPTER`; `registry()` discovers them, so adding a
source format means adding one module (plus its definitions and examples) and nothing else.
"""

from adapters.base import Adapter, AdapterError, AdapterResult, Issue, MessageMeta
from adapters.registry import adapter_for, map_message, map_raw, registry

__all__ = [
    "Adapter", "AdapterError", "AdapterResult", "Issue", "MessageMeta", "adapter_for",
    "map_message", "map_raw", "registry",
]
