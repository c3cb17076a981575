"""Alert rules (pure): hysteresis, statuses, signatures, backoff; event ids."""

from __future__ import annotations

import dataclasses

import pytest

from core.alerts import (
    AlertRule,
    PlanningRequest,
    backoff_seconds,
    planning_applies,
    planning_firing,
    signature,
    status_firing,
    threshold_firing,
    verify,
)
from core.events import event_id, parse_event_id


def _rule(**fields: object) -> AlertRule:
    rule = AlertRule(
        id=1, owner_organization_id="o", name="r", kind="threshold", location_id="l",
        roaz_region=None, definition="hospital.beds.ic.available", operator="below",
        threshold=5.0, hysteresis=2.0, statuses=None, severity="warning", webhook_url=None,
        webhook_secret=None)
    return dataclasses.replace(rule, **fields)  # type: ignore[arg-type]


def _run(rule: AlertRule, values: list[float | None]) -> list[bool]:
    firing, states = False, []
    for value in values:
        firing = threshold_firing(rule, value, firing)
        states.append(firing)
    return states


def test_below_fires_under_the_threshold_and_clears_only_past_the_band() -> None:
    assert _run(_rule(), [10, 3, 4, 5, 6, 7, 4]) == [False, True, True, True, True, False, True]


def test_above_is_the_mirror_image() -> None:
    rule = _rule(operator="above", threshold=10.0, hysteresis=3.0)
    assert _run(rule, [5, 11, 9, 8, 7, 12]) == [False, True, True, True, False, True]


def test_without_hysteresis_it_follows_the_threshold_exactly() -> None:
    assert _run(_rule(hysteresis=0.0), [5, 4.9, 5, 4]) == [False, True, False, True]


def test_not_reported_changes_nothing() -> None:
    assert _run(_rule(), [3, None, None, 8]) == [True, True, True, False]


@pytest.mark.parametrize(("statuses", "value", "fires"), [
    (None, "stop", True), (None, "time-out", True), (None, "open", False),
    (None, 1.0, True), (None, 0.0, False), (None, None, False),
    (["stop"], "time-out", False), (["stop"], "stop", True),
])
def test_status_rules(statuses: list[str] | None, value: float | str | None,
                      fires: bool) -> None:
    assert status_firing(_rule(kind="status", statuses=statuses), value) is fires


def test_a_signature_verifies_only_with_its_secret_and_body() -> None:
    header = signature("s3cret", 1_700_000_000, b'{"a":1}')
    assert header.startswith("t=1700000000,v1=")
    assert verify("s3cret", header, b'{"a":1}')
    assert not verify("other", header, b'{"a":1}')
    assert not verify("s3cret", header, b'{"a":2}')
    assert not verify("s3cret", "garbage", b'{"a":1}')


def test_backoff_doubles_up_to_ten_minutes() -> None:
    assert [backoff_seconds(n) for n in (1, 2, 3, 10, 30)] == [2, 4, 8, 600, 600]


def test_event_ids_round_trip_and_nonsense_is_none() -> None:
    assert parse_event_id(event_id(42, 1_700_000_000_123)) == (42, 1_700_000_000_123)
    assert parse_event_id("") is None
    assert parse_event_id("x-1") is None
    assert parse_event_id("12") is None


def _request(**fields: object) -> PlanningRequest:
    request = PlanningRequest(kind="hold", status="requested", location_id="l",
                              roaz_region="west", provider_organization="o",
                              requester_organization="zcv")
    return dataclasses.replace(request, **fields)  # type: ignore[arg-type]


def test_a_planning_rule_is_about_its_owners_requests_of_its_kind_and_place() -> None:
    rule = _rule(kind="planning", definition="planning.hold")
    assert planning_applies(rule, _request())
    assert planning_applies(_rule(kind="planning", definition="planning"),
                            _request(kind="appointment"))
    assert not planning_applies(rule, _request(kind="visit"))
    assert not planning_applies(rule, _request(location_id="elsewhere"))
    assert not planning_applies(rule, _request(provider_organization="another"))
    assert planning_applies(_rule(kind="planning", owner_organization_id="zcv",
                                  definition="planning", location_id=None,
                                  roaz_region="west"), _request())
    assert not planning_applies(_rule(kind="planning", definition="planning",
                                      location_id=None, roaz_region="zuidwest"), _request())
    assert not planning_applies(_rule(definition="planning.hold"), _request())  # a threshold


def test_a_visit_to_a_providers_unit_reaches_any_of_its_planning_rules() -> None:
    rule = _rule(kind="planning", definition="planning")
    assert planning_applies(rule, _request(kind="visit", location_id=None))
    assert not planning_applies(_rule(kind="planning", definition="planning",
                                      owner_organization_id="zcv"),
                                _request(kind="visit", location_id=None))


def test_a_planning_rule_fires_while_the_request_is_open() -> None:
    assert [planning_firing(s) for s in ("requested", "pending", "accepted", "booked")] == [
        True] * 4
    assert not any(planning_firing(s) for s in ("rejected", "cancelled", "completed", "failed"))
