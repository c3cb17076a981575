"""Rules of the SEH status, HAP status and GP consult adapters beyond the contract examples."""

from __future__ import annotations

import copy
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters import AdapterError, AdapterResult, MessageMeta, map_message
from adapters.gp.consults import ADAPTER as GP_CONSULTS
from adapters.gp.slots import ADAPTER as GP_SLOTS
from adapters.gp.slots import FreeSlot, free_slots_within
from adapters.hap.status import ADAPTER as HAP_STATUS
from adapters.hospital.seh_status import ADAPTER as SEH_STATUS
from adapters.hospital.seh_status import admission_stop_departments
from definitions import load_catalogue

RECEIVED = datetime(2026, 11, 22, 13, 0, tzinfo=UTC)
OBSERVED = "2026-11-22T13:40:00+01:00"
SLOTS_EXAMPLE = GP_SLOTS.examples / "fully-booked.json"


def _meta(source_format: str, location: str = "loc-1") -> MessageMeta:
    return MessageMeta(uuid.UUID(int=3), "org-1", location, RECEIVED, source_format)


def _seh(body: dict[str, Any]) -> AdapterResult:
    return SEH_STATUS.parse({"location": "loc-1", "observed_at": OBSERVED, **body},
                            _meta("json/seh-status"))


def _issues(caught: pytest.ExceptionInfo[AdapterError]) -> dict[str, str]:
    return {i.expression: i.diagnostics for i in caught.value.issues}


# --- SEH status -----------------------------------------------------------------------------

def test_departments_are_those_of_the_admission_stop_definitions() -> None:
    codes = [c for c in load_catalogue().codes() if c.startswith("hospital.admission_stop.")]
    assert sorted(admission_stop_departments().values()) == codes
    assert {"ic", "ccu"} <= set(admission_stop_departments())


def test_open_sends_no_reason_or_expected_end() -> None:
    result = _seh({"seh": {"status": "open"}})
    assert [(o.definition, o.value) for o in result.observations] == [
        ("hospital.seh.status", "open")]


def test_open_with_an_expected_end_is_refused() -> None:
    with pytest.raises(AdapterError) as caught:
        _seh({"seh": {"status": "open", "expected_end": "2026-11-22T15:00:00+01:00"}})
    assert "leave out expected_end" in _issues(caught)["body.seh.expected_end"]


def test_stop_without_reason_and_end_names_both_at_once() -> None:
    with pytest.raises(AdapterError) as caught:
        _seh({"seh": {"status": "stop", "reason": None}})
    assert set(_issues(caught)) == {"body.seh.reason", "body.seh.expected_end"}


def test_expected_end_is_stored_as_iso_text_with_its_offset() -> None:
    result = _seh({"seh": {"status": "time-out", "reason": "ict",
                           "expected_end": "2026-11-22T13:10:00Z"}})
    values = {o.definition: o.value for o in result.observations}
    assert values["hospital.seh.status_expected_end"] == "2026-11-22T13:10:00+00:00"


@pytest.mark.parametrize("end", ["2026-11-22T15:00:00", "tonight", OBSERVED])
def test_expected_end_needs_a_timezone_and_must_lie_ahead(end: str) -> None:
    with pytest.raises(AdapterError) as caught:
        _seh({"seh": {"status": "stop", "reason": "calamity", "expected_end": end}})
    assert list(_issues(caught)) == ["body.seh.expected_end"]


def test_status_is_required_and_cannot_be_unreported() -> None:
    with pytest.raises(AdapterError) as caught:
        _seh({"seh": {"status": None}})
    assert "must be reported" in _issues(caught)["body.seh.status"]
    with pytest.raises(AdapterError) as caught:
        _seh({"seh": {}})
    assert "body.seh.status" in _issues(caught)


def test_a_message_needs_seh_or_admission_stops() -> None:
    with pytest.raises(AdapterError) as caught:
        _seh({})
    assert "give seh, admission_stops or both" in _issues(caught)["body"]


def test_an_unknown_department_refuses_the_whole_message() -> None:
    with pytest.raises(AdapterError) as caught:
        _seh({"seh": {"status": "open"}, "admission_stops": {"ic": True, "IC ": False}})
    assert list(_issues(caught)) == ["body.admission_stops.IC "]


def test_admission_stop_must_be_true_false_or_null() -> None:
    with pytest.raises(AdapterError) as caught:
        _seh({"admission_stops": {"ic": "yes"}})
    assert "true or false" in _issues(caught)["body.admission_stops.ic"]
    result = _seh({"admission_stops": {"ic": None}})
    assert result.observations[0].value is None
    assert result.observations[0].not_reported_reason == "unknown"


def test_future_observation_time_is_refused() -> None:
    future = (RECEIVED + timedelta(minutes=30)).isoformat()
    with pytest.raises(AdapterError) as caught:
        SEH_STATUS.parse({"location": "loc-1", "observed_at": future,
                          "seh": {"status": "open"}}, _meta("json/seh-status"))
    assert "lies in the future" in _issues(caught)["body.observed_at"]


def test_location_is_required() -> None:
    with pytest.raises(AdapterError) as caught:
        SEH_STATUS.location_of({"observed_at": OBSERVED, "seh": {"status": "open"}})
    assert list(_issues(caught)) == ["body.location"]


# --- HAP status -----------------------------------------------------------------------------

def _hap(body: dict[str, Any]) -> AdapterResult:
    return HAP_STATUS.parse({"location": "hap-1", "observed_at": OBSERVED, **body},
                            _meta("json/hap-status", "hap-1"))


def test_hap_backlog_parts_map_to_uitloop_items() -> None:
    result = _hap({"phone": {"queue": 7, "longest_wait_s": 95.5}})
    assert {o.definition: o.value for o in result.observations} == {
        "hap.uitloop.phone.queue": 7, "hap.uitloop.phone.longest_wait": 95.5}
    assert {o.unit for o in result.observations} == {"{call}", "s"}


def test_hap_backlog_part_must_be_an_object_with_known_fields() -> None:
    with pytest.raises(AdapterError) as caught:
        _hap({"doctors_on_duty": 3, "phone": None, "waiting_room": {"waiting": 2, "delay": 10}})
    assert set(_issues(caught)) == {"body.phone", "body.waiting_room.delay"}


def test_hap_status_without_figures_is_refused() -> None:
    with pytest.raises(AdapterError) as caught:
        _hap({"phone": {}})
    assert "no figures" in _issues(caught)["body"]


def test_hap_counts_are_whole_numbers() -> None:
    with pytest.raises(AdapterError) as caught:
        _hap({"consults_free": 2.5})
    assert "whole numbers only" in _issues(caught)["body.consults_free"]


# --- GP consults (JSON) ---------------------------------------------------------------------

def _gp(body: dict[str, Any]) -> AdapterResult:
    return map_message(GP_CONSULTS, {"location": "gp-1", "observed_at": OBSERVED, **body},
                       _meta("json/gp-consults", "gp-1"))


def test_u4_may_equal_u3_and_either_may_come_alone() -> None:
    assert len(_gp({"u3_free": 4, "u4_free": 4}).observations) == 2
    assert [o.definition for o in _gp({"u4_free": 0}).observations] == ["gp.consults.u4.free"]


def test_u4_below_u3_is_refused_only_when_both_are_known() -> None:
    with pytest.raises(AdapterError) as caught:
        _gp({"u3_free": 3, "u4_free": 1})
    [issue] = caught.value.issues
    assert issue.expressions == ("body.u3_free", "body.u4_free")
    assert "gp.consults.u3.free (3) is more than gp.consults.u4.free (1)" in issue.diagnostics
    assert len(_gp({"u3_free": 3, "u4_free": None}).observations) == 2


# --- GP consults (FHIR Bundle of Slots) -----------------------------------------------------

def _bundle() -> dict[str, Any]:
    bundle: dict[str, Any] = json.loads(Path(SLOTS_EXAMPLE).read_text())
    return bundle


def _slot(start: str, status: str = "free", schedule: str = "Schedule/agenda-jansen",
          minutes: int = 10) -> dict[str, Any]:
    begin = datetime.fromisoformat(start)
    return {"resource": {"resourceType": "Slot", "schedule": {"reference": schedule},
                         "status": status, "start": start,
                         "end": (begin + timedelta(minutes=minutes)).isoformat()}}


def _counts(bundle: dict[str, Any]) -> dict[str, Any]:
    meta = _meta("fhir-r4/Bundle-slots", GP_SLOTS.location_of(bundle))
    return {o.definition: o.value for o in GP_SLOTS.parse(bundle, meta).observations}


def test_free_slots_within_counts_from_the_moment_up_to_the_window() -> None:
    now = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    slots = [FreeSlot(now + timedelta(minutes=m)) for m in (-5, 0, 179, 180, 1439, 1440)]
    assert free_slots_within(slots, now, timedelta(hours=3)) == 2
    assert free_slots_within(slots, now, timedelta(hours=24)) == 4


def test_slots_are_counted_per_window_and_started_ones_are_not_free() -> None:
    bundle = _bundle()  # timestamp 13:50+01:00
    bundle["entry"] += [
        _slot("2026-11-22T13:45:00+01:00"),  # started already
        _slot("2026-11-22T13:50:00+01:00"),  # U3 (and U4)
        _slot("2026-11-22T16:49:00+01:00"),  # U3 (and U4)
        _slot("2026-11-22T16:50:00+01:00"),  # U4 only: 3 h after the timestamp
        _slot("2026-11-23T13:50:00+01:00"),  # neither: 24 h after the timestamp
        _slot("2026-11-22T15:00:00+01:00", status="busy-tentative"),
    ]
    assert _counts(bundle) == {"gp.consults.u3.free": 2, "gp.consults.u4.free": 3}


def test_slot_may_refer_to_its_schedule_by_full_url_and_inactive_schedules_do_not_count() -> None:
    bundle = _bundle()
    schedule = copy.deepcopy(bundle["entry"][0])
    schedule["fullUrl"] = "urn:uuid:0b8e6b1c-8f4e-4f7c-9a39-1d2c3e4f5a6b"
    schedule["resource"].pop("id")
    inactive = copy.deepcopy(bundle["entry"][0])
    inactive["resource"].update(id="agenda-verlof", active=False)
    bundle["entry"] += [schedule, inactive,
                        _slot("2026-11-22T14:00:00+01:00", schedule=schedule["fullUrl"]),
                        _slot("2026-11-22T14:10:00+01:00", schedule="Schedule/agenda-verlof")]
    assert _counts(bundle) == {"gp.consults.u3.free": 1, "gp.consults.u4.free": 1}


def test_other_resources_come_back_as_warnings() -> None:
    bundle = _bundle()
    bundle["entry"].append({"resource": {"resourceType": "Practitioner", "id": "jansen"}})
    result = GP_SLOTS.parse(bundle, _meta("fhir-r4/Bundle-slots", "hp-de-linde-zeist"))
    assert [(w.severity, w.expression) for w in result.warnings] == [
        ("warning", "Bundle.entry[3].resource")]


def test_schedule_without_a_location_actor_names_no_subject() -> None:
    bundle = _bundle()
    bundle["entry"][0]["resource"]["actor"] = [{"reference": "Practitioner/jansen"}]
    with pytest.raises(AdapterError) as caught:
        GP_SLOTS.location_of(bundle)
    assert list(_issues(caught)) == ["Bundle.entry[0].resource.actor"]


def test_bundle_without_schedules_is_refused() -> None:
    bundle = _bundle()
    bundle["entry"] = bundle["entry"][1:]
    with pytest.raises(AdapterError) as caught:
        GP_SLOTS.location_of(bundle)
    assert "needs a Schedule" in _issues(caught)["Bundle.entry"]


def test_slot_ending_before_it_starts_and_future_timestamp_are_refused() -> None:
    bundle = _bundle()
    bundle["entry"].append(_slot("2026-11-22T14:00:00+01:00", minutes=-10))
    with pytest.raises(AdapterError) as caught:
        _counts(bundle)
    assert "must end after it starts" in _issues(caught)["Bundle.entry[3].resource.end"]
    bundle = _bundle()
    bundle["timestamp"] = "2026-11-22T15:30:00+01:00"
    with pytest.raises(AdapterError) as caught:
        _counts(bundle)
    assert "lies in the future" in _issues(caught)["Bundle.timestamp"]


def test_the_agenda_keeps_every_slot_by_id_and_an_inactive_schedule_makes_its_slots_busy() -> None:
    """The planning module's bookable view (adapters/gp/slots.py `agenda`): a slot of an
    inactive Schedule cannot be booked whatever its own status; a slot found by a Schedule's
    fullUrl keeps its status."""
    bundle = json.loads((GP_SLOTS.examples / "practice-agenda.json").read_text())
    agenda = GP_SLOTS.agenda(bundle)
    assert agenda.location_id == "hp-de-linde-zeist"
    assert agenda.read_at == datetime.fromisoformat(bundle["timestamp"])
    status = {slot.slot_id: slot.status for slot in agenda.slots}
    assert len(status) == 14
    assert status["s1"] == "free"  # Schedule/agenda-jansen, active
    assert status["s2"] == "free"  # the Schedule by its urn:uuid fullUrl, active
    assert status["s4"] == "busy"
    assert status["s7"] == "busy"  # free, but its Schedule (agenda-visser) is inactive
    assert status["s10"] == "busy-tentative"


def test_a_stop_without_reason_and_end_says_what_to_give() -> None:
    """The words a hospital's engineer acts on: which reasons there are, that an estimate will
    do, for the status that was sent."""
    allowed = ", ".join(sorted(load_catalogue().get(  # type: ignore[union-attr]
        "hospital.seh.status_reason").allowed_codes()))
    with pytest.raises(AdapterError) as caught:
        _seh({"seh": {"status": "time-out"}})
    issues = {i.expression: (i.code, i.diagnostics) for i in caught.value.issues}
    assert issues == {
        "body.seh.reason": ("required", f"give the reason for the time-out (one of {allowed})"),
        "body.seh.expected_end": ("required", "give when the time-out is expected to end "
                                  "(ISO 8601 with timezone); if unsure, give your best "
                                  "estimate and update it")}


def test_a_stop_maps_its_reason_and_end_beside_the_status() -> None:
    result = _seh({"seh": {"status": "stop", "reason": "calamity",
                           "expected_end": "2026-11-22T15:00:00+01:00"}})
    assert {o.definition: o.value for o in result.observations} == {
        "hospital.seh.status": "stop", "hospital.seh.status_reason": "calamity",
        "hospital.seh.status_expected_end": "2026-11-22T15:00:00+01:00"}


def test_an_unknown_reason_is_refused_at_the_reason_and_the_end_still_checked() -> None:
    with pytest.raises(AdapterError) as caught:
        _seh({"seh": {"status": "stop", "reason": "lunch", "expected_end": OBSERVED}})
    issues = {i.expression: i.code for i in caught.value.issues}
    assert set(issues) == {"body.seh.reason", "body.seh.expected_end"}
    assert issues["body.seh.expected_end"] == "business-rule"


def _issue_words(body: dict[str, Any]) -> dict[str, tuple[str, str]]:
    with pytest.raises(AdapterError) as caught:
        _seh(body)
    return {i.expression: (i.code, i.diagnostics) for i in caught.value.issues}


def test_seh_status_refusals_say_what_to_send() -> None:
    assert _issue_words({"seh": {}}) == {
        "body.seh.status": ("required", "give the ED status: open, time-out or stop")}
    assert _issue_words({"seh": {"status": "open", "reason": "ict", "colour": "red"}}) == {
        "body.seh.colour": _issue_words({"seh": {"status": "open", "colour": "red"}})[
            "body.seh.colour"],
        "body.seh.reason": ("business-rule", "leave out reason while the ED is open: it only "
                            "applies to a time-out or stop")}


@pytest.mark.parametrize("part", ["seh", "admission_stops"])
@pytest.mark.parametrize("sent", ["open", ["open"], 1])
def test_seh_and_admission_stops_must_be_objects(part: str, sent: Any) -> None:
    assert _issue_words({part: sent}) == {
        f"body.{part}": ("structure", f"{part} must be a JSON object")}


def test_an_unknown_admission_stop_department_is_named_with_the_known_ones() -> None:
    known = ", ".join(sorted(admission_stop_departments()))
    assert _issue_words({"admission_stops": {"zolder": True}}) == {
        "body.admission_stops.zolder": (
            "not-supported",
            f"unknown department 'zolder'; admission stops are kept for {known}")}


def test_an_admission_stop_maps_to_its_departments_definition() -> None:
    result = _seh({"admission_stops": {"ic": True, "ccu": False}})
    assert {o.definition: o.value for o in result.observations} == {
        admission_stop_departments()["ic"]: True, admission_stop_departments()["ccu"]: False}
