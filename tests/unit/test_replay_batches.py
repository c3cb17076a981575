"""A replay carries several archived messages of one location in one topic message."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from core.ingest import IngestMessage, decode_all, encode
from streams.replay import sends

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def message(location: str, n: int, padding: int = 0) -> IngestMessage:
    return IngestMessage(
        message_id=uuid.UUID(int=n), location_id=location, provider="umcg",
        source_format="fhir-r4/MeasureReport", received_at=T0 + timedelta(seconds=n),
        raw=msgspec.Raw(msgspec.json.encode({"pad": "x" * padding})),
        observations=[(location, "hospital.beds.ic.available", 1, float(n), None,
                       T0 + timedelta(seconds=n))])


def test_messages_are_grouped_per_location_in_the_order_received() -> None:
    page = [message("a", 1), message("b", 2), message("a", 3), message("b", 4),
            message("a", 5)]
    groups = list(sends(page, most_bytes=1_000_000))
    assert [(g.location_id, g.messages) for g in groups] == [("a", 3), ("b", 2)]
    assert [m.message_id.int for m in decode_all(groups[0].value)] == [1, 3, 5]
    assert decode_all(groups[1].value) == [page[1], page[3]]


def test_a_group_is_cut_at_the_most_messages_it_may_carry() -> None:
    page = [message("a", n) for n in range(7)]
    groups = list(sends(page, most_bytes=1_000_000, most_messages=3))
    assert [g.messages for g in groups] == [3, 3, 1]
    assert [m for g in groups for m in decode_all(g.value)] == page


def test_a_group_is_cut_before_it_passes_the_most_bytes() -> None:
    page = [message("a", n, padding=400) for n in range(5)]
    one = len(encode(page[0]))
    most = 2 * one + 3  # two messages, the brackets and a comma fit; three do not
    groups = list(sends(page, most_bytes=most))
    assert [g.messages for g in groups] == [2, 2, 1]
    assert all(len(g.value) <= most for g in groups)
    assert [m for g in groups for m in decode_all(g.value)] == page


def test_a_message_larger_than_the_most_bytes_still_goes_alone() -> None:
    big = message("a", 1, padding=5000)
    [group] = list(sends([big], most_bytes=1000))
    assert decode_all(group.value) == [big]


def test_one_message_decodes_as_before() -> None:
    single = message("a", 1)
    assert decode_all(encode(single)) == [single]


@pytest.mark.parametrize(("value", "why"), [
    (b"[]", "carries no ingest message"),
    (b"[" + encode(message("a", 1)) + b"," + encode(message("b", 2)) + b"]",
     "of one location_id"),
])
def test_an_array_that_would_lose_the_order_per_location_is_refused(value: bytes,
                                                                    why: str) -> None:
    with pytest.raises(msgspec.ValidationError, match=why):
        decode_all(value)
