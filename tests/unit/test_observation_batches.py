"""Deduplication before a multi-row upsert (one statement may not touch a row twice)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from core.messages import Observation
from storage.observations import newest_per_item, newest_per_key

T0 = datetime(2026, 11, 22, 12, tzinfo=UTC)


def obs(value: float, observed: int, received: int) -> Observation:
    return Observation(
        definition="hospital.beds.ic.available", definition_version=1, location_id="l1",
        value=value, unit="{bed}", observed_at=T0 + timedelta(minutes=observed),
        received_at=T0 + timedelta(minutes=received), provider="o1",
        source_format="fhir-r4/MeasureReport", raw_message_id=uuid.UUID(int=received),
    )


def test_same_observed_time_keeps_the_last_received() -> None:
    assert [o.value for o in newest_per_key([obs(1, 0, 1), obs(2, 0, 2), obs(3, 1, 1)])] == [2, 3]


def test_latest_state_keeps_the_newest_observed() -> None:
    assert [o.value for o in newest_per_item([obs(5, 2, 1), obs(1, 0, 9)])] == [5]
