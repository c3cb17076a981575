"""Query parameter types: a moment is ISO 8601, never a bare number (pydantic's Unix seconds)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import TypeAdapter, ValidationError

from api.query_types import IsoMoment

MOMENT: TypeAdapter[datetime] = TypeAdapter(IsoMoment)


def test_an_iso_moment_is_taken() -> None:
    assert MOMENT.validate_python("2026-12-07T05:00:00Z") == datetime(2026, 12, 7, 5, tzinfo=UTC)


@pytest.mark.parametrize("number", ["0.5", "1733550000", "-3", "1e9", " 12 "])
def test_a_bare_number_is_refused(number: str) -> None:
    with pytest.raises(ValidationError, match="ISO 8601"):
        MOMENT.validate_python(number)
