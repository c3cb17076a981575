"""The pure rules of the planning module: state transitions, who may make them, time to live,
and how holds and bookings show beside a provider's figure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from adapters.gp.slots import ADAPTER as GP_SLOTS
from adapters.hap.slots import ADAPTER as HAP_SLOTS
from core.planning import (
    AgendaSlot,
    appointment_after,
    bookable,
    free_after_bookings,
    held_figure,
    hold_ttl,
    is_live,
    may_hold,
    shown_status,
    task_after,
)
from core.refusals import Conflict, Invalid
from definitions import load_catalogue
from definitions.planning import load_planning

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def test_a_booking_is_answered_by_the_practice_and_cancelled_by_either_side() -> None:
    assert appointment_after("pending", "accept", "provider") == "booked"
    assert appointment_after("pending", "decline", "provider") == "cancelled"
    assert appointment_after("booked", "cancel", "zcv") == "cancelled"
    assert appointment_after("booked", "cancel", "provider") == "cancelled"
    with pytest.raises(Conflict, match="only the provider"):
        appointment_after("pending", "accept", "zcv")
    with pytest.raises(Conflict, match="cancelled"):
        appointment_after("cancelled", "accept", "provider")


def test_a_hold_follows_the_fhir_task_states() -> None:
    assert task_after("requested", "accept", "provider") == "accepted"
    assert task_after("requested", "decline", "provider") == "rejected"
    assert task_after("requested", "cancel", "zcv") == "cancelled"
    assert task_after("requested", "expire", "platform") == "failed"
    assert task_after("accepted", "complete", "provider") == "completed"
    for done in ("rejected", "completed", "cancelled", "failed"):
        for action in ("accept", "decline", "cancel", "complete", "expire"):
            with pytest.raises(Conflict):
                task_after(done, action, "provider")
    with pytest.raises(Conflict):
        task_after("requested", "expire", "zcv")  # only the platform expires


def test_a_request_past_its_deadline_no_longer_takes_a_place() -> None:
    later, earlier = NOW + timedelta(seconds=1), NOW - timedelta(seconds=1)
    assert is_live("requested", later, NOW) and not is_live("requested", earlier, NOW)
    assert is_live("accepted", earlier, NOW)
    assert not is_live("failed", later, NOW)
    assert shown_status("requested", earlier, NOW) == "failed"
    assert shown_status("requested", later, NOW) == "requested"


def test_the_time_to_live_is_the_category_default_or_shorter() -> None:
    default = timedelta(minutes=30)
    assert hold_ttl(default, None) == default
    assert hold_ttl(default, 5) == timedelta(seconds=5)
    with pytest.raises(Invalid):
        hold_ttl(default, 31 * 60)


def test_holds_show_beside_the_figure_and_never_change_it() -> None:
    assert held_figure(1, 1) == held_figure(1.0, 1)
    side = held_figure(1, 1)
    assert (side.available, side.held, side.available_unheld) == (1, 1, 0)
    assert held_figure(2, 5).available_unheld == 0
    assert held_figure(None, 1).available_unheld is None  # not reported stays unknown
    assert may_hold(1, 0) and not may_hold(1, 1) and not may_hold(None, 0)


def test_bookings_lower_the_free_consult_figure_but_not_below_zero() -> None:
    assert free_after_bookings(3, 1) == 2
    assert free_after_bookings(1, 2) == 0
    assert free_after_bookings(None, 1) is None


def test_only_a_free_slot_that_has_not_started_can_be_booked() -> None:
    slot = AgendaSlot("s1", NOW + timedelta(minutes=10), NOW + timedelta(minutes=20), "free")
    assert bookable(slot, NOW) is None
    assert bookable(None, NOW) is not None
    assert "busy" in str(bookable(AgendaSlot("s1", slot.start_at, slot.end_at, "busy"), NOW))
    assert "started" in str(bookable(slot, NOW + timedelta(minutes=15)))


def test_every_declared_category_and_window_names_a_known_item() -> None:
    catalogue, planning = load_catalogue(), load_planning()
    for category in planning.hold_categories:
        definition = catalogue.get(category.available)
        assert definition is not None and definition.sector == category.sector, category
        assert category.available.startswith(category.category + ".")
    for window in planning.consult_windows:
        assert catalogue.get(window.item) is not None


def test_the_consult_windows_are_the_agenda_adapters_windows() -> None:
    """A booking lowers a free-consult figure over the same window the adapter counted it."""
    counted = {code: window for adapter in (GP_SLOTS, HAP_SLOTS)
               for code, window in adapter.windows.values()}
    declared = {w.item: timedelta(hours=w.hours) for w in load_planning().consult_windows}
    assert declared == counted


def test_appointments_are_counted_for_each_sector_that_has_an_agenda() -> None:
    pairs = load_planning().metric_pairs()
    assert ("appointment", "gp-practice") in pairs and ("appointment", "hap") in pairs


def test_holds_and_visits_are_counted_for_each_sector_that_offers_them() -> None:
    planning = load_planning()
    pairs = planning.metric_pairs()
    assert {("hold", c.sector) for c in planning.hold_categories} <= set(pairs)
    assert {("visit", u.sector) for u in planning.visit_units} <= set(pairs)
    assert ("hold", "vvt") in pairs and {kind for kind, _ in pairs} == {
        "appointment", "hold", "visit"}


def test_the_planning_declarations_are_found_by_their_codes() -> None:
    planning = load_planning()
    elv = planning.category("vvt.beds.elv_low_complex")
    assert elv is not None and elv.category == "vvt.beds.elv_low_complex"
    assert elv.sector == "vvt" and elv.ttl_minutes == 30
    assert planning.category("vvt.beds") is None and planning.category("") is None
    car = planning.visit_unit("hap-visit-car")
    assert car is not None and car.kind == "hap-visit-car" and car.sector == "hap"
    ambulance = planning.visit_unit("ambulance")
    assert ambulance is not None and ambulance.ttl_minutes == 5
    assert planning.visit_unit("helicopter") is None


@pytest.mark.parametrize(("current", "action", "by", "words"), [
    ("completed", "accept", "provider", "Task/7 is completed: it cannot be accepted now"),
    ("failed", "decline", "provider", "Task/7 is failed: it cannot be declined now"),
    ("cancelled", "cancel", "zcv", "Task/7 is cancelled: it cannot be cancelled now"),
    ("rejected", "complete", "provider", "Task/7 is rejected: it cannot be completed now"),
    ("accepted", "expire", "platform", "Task/7 is accepted: it cannot be expired now"),
    ("requested", "accept", "zcv", "only the provider may accept a requested Task"),
    ("accepted", "cancel", "platform", "only the provider or the zcv may cancel a accepted Task"),
])
def test_a_move_that_is_not_allowed_says_why(current: Any, action: Any, by: Any,
                                             words: str) -> None:
    with pytest.raises(Conflict) as refused:
        task_after(current, action, by, "Task/7")
    [issue] = refused.value.issues
    assert (issue.expression, issue.diagnostics) == ("status", words)


def test_the_time_to_live_may_be_anything_from_one_second_to_the_default() -> None:
    default = timedelta(minutes=30)
    assert hold_ttl(default, 1) == timedelta(seconds=1)
    assert hold_ttl(default, 30 * 60) == default
    for wrong in (0, 30 * 60 + 1):
        with pytest.raises(Invalid) as refused:
            hold_ttl(default, wrong)
        assert refused.value.issues[0].diagnostics == (
            "ttl_seconds must lie between 1 and 1800 (this category's default)")
