"""What the store stage announces after a write (pure): figures, statuses, freshness."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.events import FigureChanged, Freshness, StatusChanged, decode, encode
from core.figures import ChangedFigure
from definitions import load_catalogue
from streams.events import PositionThrottle, figure_events

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def _changed(definition: str, value: float | None = None, text: str | None = None, *,
             before: tuple[datetime, float | None, str | None] | None = None,
             location: str | None = "loc-1") -> ChangedFigure:
    version = load_catalogue().get(definition)
    assert version is not None
    was_at, was_value, was_text = before or (None, None, None)
    return ChangedFigure(
        location_id="loc-1", location_name=location, organization_id="org-1",
        sector="hospital", roaz_region="west", latitude=52.1, longitude=4.4,
        definition=definition, definition_version=version.version, value=value,
        value_text=text, not_reported_reason=None, observed_at=NOW, received_at=NOW,
        provider="org-1", previous_observed_at=was_at, previous_value=was_value,
        previous_value_text=was_text)


def test_a_changed_figure_is_one_figure_event() -> None:
    (event,) = figure_events([_changed("hospital.beds.ic.available", 4.0,
                                       before=(NOW - timedelta(minutes=1), 5.0, None))],
                             load_catalogue(), NOW)
    assert isinstance(event, FigureChanged) and event.value == 4.0
    assert decode(encode(event)) == event


def test_an_seh_status_change_is_also_a_status_event_and_the_same_status_is_not() -> None:
    changed = _changed("hospital.seh.status", text="stop",
                       before=(NOW - timedelta(minutes=1), None, "open"))
    kinds = [type(e) for e in figure_events([changed], load_catalogue(), NOW)]
    assert kinds == [FigureChanged, StatusChanged]
    same = _changed("hospital.seh.status", text="open",
                    before=(NOW - timedelta(minutes=1), None, "open"))
    assert [type(e) for e in figure_events([same], load_catalogue(), NOW)] == [FigureChanged]


def test_a_figure_replacing_a_stale_one_is_announced_fresh() -> None:
    stale_before = _changed("hospital.beds.ic.available", 4.0,
                            before=(NOW - timedelta(hours=2), 5.0, None))
    events = figure_events([stale_before], load_catalogue(), NOW)
    assert [type(e) for e in events] == [FigureChanged, Freshness]
    assert isinstance(events[1], Freshness) and events[1].stale is False


def test_a_units_status_is_no_location_event() -> None:
    unit = _changed("ambulance.vehicle.status", text="5", location=None)
    assert figure_events([unit], load_catalogue(), NOW) == []


def test_positions_are_throttled_per_unit_and_what_is_held_goes_later() -> None:
    throttle = PositionThrottle(interval=3600)
    assert throttle.due(["a", "b"]) == ["a", "b"]
    assert throttle.due(["a", "c"]) == ["c"]
    assert throttle.held() == []  # "a" is still within its interval
    quick = PositionThrottle(interval=0)
    assert quick.due(["a"]) == ["a"] and quick.due(["a"]) == ["a"]
