"""Calling an adapter in a unit test: the refusal it raises, as a provider reads it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from adapters import AdapterError

# Each issue of a refusal: the element, the FHIR issue type, the whole text.
Refusal = list[tuple[str, str, str]]


def refusal(call: Callable[..., object], *args: Any) -> Refusal:
    """What `call(*args)` refuses (it must raise AdapterError)."""
    with pytest.raises(AdapterError) as caught:
        call(*args)
    return [(i.expression, i.code, i.diagnostics) for i in caught.value.issues]
