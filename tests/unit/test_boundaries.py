"""The boundaries where mutants survived the whole suite (issue 11, item 5), each tested on both
sides: a `>` that becomes `>=`, an inclusive bound that becomes exclusive, a comparison made
case-sensitive, a count that stops counting, a 0 read as "unknown".
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from adapters import AdapterError, MessageMeta, map_message
from adapters.ambulance.fleet import ADAPTER as FLEET
from adapters.ambulance.fleet import region_figures
from adapters.ambulance.lsiv_message import read_message
from adapters.base import MAX_CLOCK_SKEW, check_observed_at
from adapters.hospital.saner import ADAPTER as SANER
from adapters.hospital.seh_status import ADAPTER as SEH_STATUS
from adapters.mobile.osmand import ADAPTER as OSMAND
from api.units_routes import available_statuses, unit_out
from definitions import load_catalogue
from definitions.validation import DefinitionViolation, check_observation, value_problem
from storage.units import UnitPosition
from streams.deadletter import DlqLimit
from streams.stage import DeadLetterQueue, Stage
from tests.stage_fakes import Event, Message, Stream, Topic

RECEIVED = datetime(2026, 11, 22, 13, 0, tzinfo=UTC)
TICK = timedelta(microseconds=1)


def meta(source_format: str, subject: str = "loc-1", sector: str = "hospital") -> MessageMeta:
    return MessageMeta(uuid.UUID(int=1), "provider-x", subject, RECEIVED, source_format, sector)


# --- staleness at exactly the freshness deadline --------------------------------------------------


def test_a_figure_exactly_at_its_freshness_deadline_is_still_fresh() -> None:
    definition = load_catalogue().get("hospital.beds.ic.available")
    assert definition is not None
    deadline = definition.freshness_deadline
    assert not definition.is_stale(RECEIVED - deadline, RECEIVED)
    assert definition.is_stale(RECEIVED - deadline - TICK, RECEIVED)
    assert not definition.is_stale(RECEIVED, RECEIVED)


# --- a range's bounds are inclusive ---------------------------------------------------------------


def test_a_range_takes_its_maximum_and_its_minimum() -> None:
    share = load_catalogue().get("ambulance.busyness.deployed_share")
    assert share is not None and share.range is not None
    assert (share.range.min, share.range.max) == (0, 100)
    assert value_problem(share, 100.0) is None and value_problem(share, 0.0) is None
    assert value_problem(share, 100.01) is not None and value_problem(share, -0.01) is not None


def test_a_fleet_wholly_deployed_reports_100_percent_and_it_is_stored() -> None:
    vehicles = [{"id": f"v{i}", "type": "A", "status": "2"} for i in range(3)]
    payload = {"rav_region": "vr16", "observed_at": RECEIVED.isoformat(), "vehicles": vehicles}
    result = FLEET.parse(payload, meta("lsiv/fleet", "rav-vr16", "ambulance"))
    share = next(o for o in result.observations
                 if o.definition == "ambulance.busyness.deployed_share")
    assert share.value == 100.0
    # What the sink checks before it writes: a 100 % share is not dead-lettered.
    check_observation(load_catalogue(), share.definition, share.definition_version,
                      share.value, share.unit)
    with pytest.raises(DefinitionViolation):
        check_observation(load_catalogue(), share.definition, share.definition_version,
                          100.1, share.unit)


# --- the clock-skew boundary ----------------------------------------------------------------------


def test_an_observation_exactly_at_the_clock_skew_is_accepted_one_tick_later_refused() -> None:
    at = meta("json/seh-status")
    assert check_observed_at(RECEIVED + MAX_CLOCK_SKEW, at, "x") is None
    late = check_observed_at(RECEIVED + MAX_CLOCK_SKEW + TICK, at, "x")
    assert late is not None and late.expression == "x" and "future" in late.diagnostics


def _seh(observed_at: datetime) -> dict[str, Any]:
    return {"location": "loc-1", "observed_at": observed_at.isoformat(),
            "seh": {"status": "open"}}


def test_a_json_status_at_the_clock_skew_is_accepted_beyond_it_refused() -> None:
    assert map_message(SEH_STATUS, _seh(RECEIVED + MAX_CLOCK_SKEW), meta("json/seh-status"))
    with pytest.raises(AdapterError) as refused:
        map_message(SEH_STATUS, _seh(RECEIVED + MAX_CLOCK_SKEW + timedelta(seconds=1)),
                    meta("json/seh-status"))
    assert refused.value.issues[0].expression == "body.observed_at"


def _lsiv_status(at: datetime) -> dict[str, Any]:
    return {"kind": "vehicle-status", "message_id": "m-1", "at": at.isoformat(),
            "vehicle": {"id": "16-101", "call_sign": "16-101", "rav_region": "vr16",
                        "type": "A"}, "status": "5"}


def test_an_lsiv_message_at_the_clock_skew_is_accepted_beyond_it_refused() -> None:
    assert read_message(_lsiv_status(RECEIVED + MAX_CLOCK_SKEW), RECEIVED).status == "5"
    with pytest.raises(AdapterError) as refused:
        read_message(_lsiv_status(RECEIVED + MAX_CLOCK_SKEW + timedelta(seconds=1)), RECEIVED)
    assert [i.expression for i in refused.value.issues] == ["at"]


def test_a_tracker_report_at_the_clock_skew_is_kept_beyond_it_dropped() -> None:
    def report(moment: datetime) -> dict[str, Any]:
        return {"query": {"id": "u1", "lat": "52.1", "lon": "4.4",
                          "timestamp": moment.isoformat()}}

    unit = meta("osmand", "u1", "hap")
    assert len(OSMAND.parse(report(RECEIVED + MAX_CLOCK_SKEW), unit).positions) == 1
    later = OSMAND.parse(report(RECEIVED + MAX_CLOCK_SKEW + timedelta(seconds=1)), unit)
    assert later.positions == [] and "future" in later.warnings[0].diagnostics


# --- a definition version on its own effective day ------------------------------------------------


def test_a_new_version_is_in_force_on_its_effective_day_not_the_day_before() -> None:
    catalogue = load_catalogue()
    versions = catalogue.versions("hospital.beds.ic.available")
    assert [v.version for v in versions][:2] == [1, 2]
    second = versions[1].effective_from
    assert second == date(2026, 7, 1)

    def version_on(day: date) -> int | None:
        definition = catalogue.get("hospital.beds.ic.available", day)
        return None if definition is None else definition.version

    assert version_on(second) == 2
    assert version_on(second - timedelta(days=1)) == 1
    assert version_on(versions[0].effective_from - timedelta(days=1)) == 1


def test_a_figure_observed_on_the_effective_day_carries_the_new_version() -> None:
    def version_at(moment: datetime) -> int:
        report = _report([({"code": "numICUBedsAvail"}, 3)], moment)
        result = SANER.parse(report, MessageMeta(uuid.UUID(int=1), "p", "loc-1", moment,
                                                 SANER.source_format, "hospital"))
        return result.observations[0].definition_version

    assert version_at(datetime(2026, 7, 1, 0, 0, tzinfo=UTC)) == 2
    assert version_at(datetime(2026, 6, 30, 23, 59, tzinfo=UTC)) == 1


# --- SANER population codes: generic ones are recognised in any case ------------------------------


def _report(populations: list[tuple[dict[str, Any], int]],
            moment: datetime = RECEIVED) -> dict[str, Any]:
    return {"resourceType": "MeasureReport", "status": "complete", "type": "summary",
            "measure": "http://hl7.org/fhir/us/saner/Measure/CDCHospitalCapacity",
            "subject": {"reference": "Location/loc-1"}, "date": moment.isoformat(),
            "period": {"start": moment.isoformat(), "end": moment.isoformat()},
            "group": [{"population": [{"code": {"coding": [coding]}, "count": count}
                                      for coding, count in populations]}]}


@pytest.mark.parametrize("generic", ["measure-population", "Measure-Population",
                                     "MEASURE-POPULATION", "Initial-Population", "NUMERATOR"])
def test_a_generic_population_code_in_any_case_is_passed_over(generic: str) -> None:
    report = _report([({"code": "numICUBeds"}, 12)])
    report["group"][0]["population"][0]["code"]["coding"].insert(0, {"code": generic})
    result = SANER.parse(report, meta(SANER.source_format))
    assert [(o.definition, o.value) for o in result.observations] == [
        ("hospital.beds.ic.staffed", 12.0)]
    assert result.warnings == []


def test_a_saner_code_is_compared_case_insensitively() -> None:
    result = SANER.parse(_report([({"code": "NUMICUBEDS"}, 12)]), meta(SANER.source_format))
    assert [o.definition for o in result.observations] == ["hospital.beds.ic.staffed"]


# --- ambulance statuses 7-9: neither available nor deployed ---------------------------------------


@pytest.mark.parametrize("status", ["7", "8", "9"])
def test_a_call_request_status_is_not_available_nor_deployed(status: str) -> None:
    described = load_catalogue().vehicle_statuses[status]
    assert (described.available, described.deployed) == (False, False)
    vehicles = [{"id": "a", "type": "A", "status": status},
                {"id": "b", "type": "B", "status": "5"}]
    figures = region_figures(vehicles)
    assert figures == {"ambulance.available.a1": 0, "ambulance.available.a2": 0,
                       "ambulance.available.b": 1,
                       "ambulance.busyness.deployed_share": 0.0}
    unit = UnitPosition(id="a", kind="ambulance", organization_id="o", label="a",
                        roaz_region="zwolle", latitude=52.0, longitude=5.0,
                        observed_at=RECEIVED, speed_kmh=None, heading_deg=None, status=status,
                        status_observed_at=RECEIVED)
    assert unit_out(unit, RECEIVED).available is False


def test_only_free_and_at_post_are_available_statuses() -> None:
    assert available_statuses() == ["5", "6"]


# --- OsmAnd: a speed or heading of 0 is 0, not unknown --------------------------------------------


def test_a_query_speed_and_bearing_of_zero_are_zero() -> None:
    payload = {"query": {"id": "u1", "lat": "52.1", "lon": "4.4",
                         "timestamp": RECEIVED.isoformat(), "speed": "0", "bearing": "0",
                         "accuracy": "0"}}
    position = OSMAND.parse(payload, meta("osmand", "u1", "hap")).positions[0]
    assert (position.speed_kmh, position.heading_deg, position.accuracy_m) == (0.0, 0.0, 0.0)


def test_a_json_speed_and_heading_of_zero_are_zero() -> None:
    payload = {"body": {"device_id": "u1", "location": {
        "timestamp": RECEIVED.isoformat(),
        "coords": {"latitude": 52.1, "longitude": 4.4, "speed": 0, "heading": 0,
                   "accuracy": 0}}}}
    position = OSMAND.parse(payload, meta("osmand", "u1", "vvt")).positions[0]
    assert (position.speed_kmh, position.heading_deg, position.accuracy_m) == (0.0, 0.0, 0.0)


def test_a_heading_of_360_is_kept_above_it_refused() -> None:
    def heading(value: str) -> dict[str, Any]:
        return {"query": {"id": "u1", "lat": "52.1", "lon": "4.4",
                          "timestamp": RECEIVED.isoformat(), "heading": value}}

    at = meta("osmand", "u1", "hap")
    assert OSMAND.parse(heading("360"), at).positions[0].heading_deg == 360.0
    with pytest.raises(AdapterError):
        OSMAND.parse(heading("360.5"), at)


# --- the dead-letter limit, through its counting --------------------------------------------------


def test_exactly_the_invalid_ratio_is_within_the_limit_one_more_is_not() -> None:
    limit = DlqLimit(max_invalid_ratio=0.5, max_consecutive=10_000, min_seen=10, window=100)
    assert limit.record(valid=5, invalid=5) is None  # 5 of 10: exactly half
    reason = limit.record(valid=0, invalid=1)  # 6 of 11
    assert reason is not None and "6 of the last 11" in reason and "50%" in reason


def test_the_ratio_is_judged_from_min_seen_on_not_before() -> None:
    limit = DlqLimit(max_invalid_ratio=0.5, max_consecutive=10_000, min_seen=10, window=100)
    assert limit.record(valid=0, invalid=9) is None  # all refused, but only 9 seen
    reason = limit.record(valid=0, invalid=1)
    assert reason is not None and "10 of the last 10" in reason


def test_the_ratio_is_over_the_window_only() -> None:
    limit = DlqLimit(max_invalid_ratio=0.5, max_consecutive=10_000, min_seen=4, window=10)
    assert limit.record(valid=0, invalid=4) is not None  # 4 of 4
    fresh = DlqLimit(max_invalid_ratio=0.5, max_consecutive=10_000, min_seen=4, window=10)
    assert fresh.record(valid=3, invalid=2) is None
    # 30 good ones push the refusals out of the window of 10: then 5 refused of 10 is half.
    assert fresh.record(valid=30, invalid=0) is None
    assert fresh.record(valid=0, invalid=5) is None
    reason = fresh.record(valid=0, invalid=1)
    assert reason is not None and "6 of the last 10" in reason


def test_exactly_max_consecutive_is_within_the_limit_one_more_is_not() -> None:
    limit = DlqLimit(max_invalid_ratio=1.0, max_consecutive=5, min_seen=10_000, window=100)
    assert limit.record(valid=0, invalid=3) is None
    assert limit.record(valid=0, invalid=2) is None  # 5 in a row: the limit itself
    reason = limit.record(valid=0, invalid=1)
    assert reason is not None and "6 messages in a row" in reason and "limit 5" in reason


def test_a_valid_message_ends_the_run_of_refusals() -> None:
    limit = DlqLimit(max_invalid_ratio=1.0, max_consecutive=5, min_seen=10_000, window=100)
    assert limit.record(valid=0, invalid=5) is None
    assert limit.record(valid=1, invalid=5) is None  # the batch's refused ones come last
    reason = limit.record(valid=0, invalid=1)
    assert reason is not None and "6 messages in a row" in reason


def test_a_batch_larger_than_the_window_fills_the_window_and_no_more() -> None:
    limit = DlqLimit(max_invalid_ratio=0.5, max_consecutive=10_000, min_seen=1, window=10)
    reason = limit.record(valid=0, invalid=25)
    assert reason is not None and "10 of the last 10" in reason


def test_default_limits_are_those_documented() -> None:
    limit = DlqLimit()
    assert (limit.max_invalid_ratio, limit.max_consecutive, limit.min_seen, limit.window) == (
        0.5, 1000, 200, 1000)


class RefusesEverything(Stage[int]):
    """A broken deploy: every message decodes, and every one is refused."""

    name = "broken"

    def __init__(self, dead_letters: DeadLetterQueue, halts: list[BaseException]) -> None:
        async def halt(reason: BaseException) -> None:
            halts.append(reason)

        super().__init__(dead_letters, halt)

    def decode(self, message: Any) -> int:
        return int(message.value)

    async def handle(self, items: Sequence[tuple[int, Any]]) -> list[tuple[Any, BaseException]]:
        return [(message, ValueError("refused")) for _, message in items]


def _batches(count: int, size: int) -> list[list[Event]]:
    return [[Event(Message(b"1", 0, b * size + i)) for i in range(size)] for b in range(count)]


async def _run(stage: Stage[int], stream: Stream, halts: list[BaseException]) -> None:
    task = asyncio.create_task(stage.run(stream))
    for _ in range(200):
        await asyncio.sleep(0)
        if halts or task.done():
            break
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


@pytest.mark.parametrize(("limits", "halted_after"), [
    # by the run of refusals: 4 batches of 3 = 12 > 10, so the fourth batch halts
    ({"max_invalid_ratio": 1.0, "max_consecutive": 10, "min_seen": 10_000}, 4),
    # by the share, once min_seen (7) were seen: the third batch brings 9
    ({"max_invalid_ratio": 0.5, "max_consecutive": 10_000, "min_seen": 7}, 3),
], ids=["in-a-row", "share"])
def test_a_stage_refusing_everything_halts_and_leaves_its_batch_unacknowledged(
    limits: dict[str, Any], halted_after: int,
) -> None:
    topic = Topic()
    halts: list[BaseException] = []
    stage = RefusesEverything(DeadLetterQueue(topic, limit=lambda: DlqLimit(**limits)), halts)
    stream = Stream(_batches(8, 3))
    asyncio.run(_run(stage, stream, halts))
    assert len(halts) == 1 and "dead-letter limit of broken partition 0" in str(halts[0])
    acknowledged = (halted_after - 1) * 3
    assert stream.acked == list(range(acknowledged))
    assert len(topic.sent) == acknowledged  # the halting batch is not dead-lettered either


def test_a_stage_refusing_some_counts_the_rest_as_processed() -> None:
    """Two of three refused per batch: valid ones are counted, so the run of refusals keeps
    being broken and only the share (2/3 > 1/2) halts the stage, once min_seen were seen."""
    class RefusesTwoOfThree(RefusesEverything):
        async def handle(self, items: Sequence[tuple[int, Any]]) -> list[tuple[Any,
                                                                               BaseException]]:
            return [(message, ValueError("refused")) for _, message in items[1:]]

    topic = Topic()
    halts: list[BaseException] = []
    limit = DlqLimit(max_invalid_ratio=0.5, max_consecutive=2, min_seen=12, window=1000)
    stage = RefusesTwoOfThree(DeadLetterQueue(topic, limit=lambda: limit), halts)
    stream = Stream(_batches(8, 3))
    asyncio.run(_run(stage, stream, halts))
    assert len(halts) == 1 and "8 of the last 12" in str(halts[0])
    assert stream.acked == list(range(9))
