"""Boundaries and refusals of the OsmAnd, LSIV and fleet adapters that the examples beside them
do not reach: the exact edges of a range, the whole refusal (element, issue type, text) of a
message the platform's stages read without the adapter's `location_of` first, and the figures
of a position that the example summaries leave out (speed, heading, accuracy)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from adapters import AdapterResult, MessageMeta
from adapters.ambulance.fleet import ADAPTER as FLEET
from adapters.ambulance.fleet import snapshot
from adapters.ambulance.lsiv import ADAPTER as LSIV
from adapters.ambulance.lsiv import _status_result
from adapters.ambulance.lsiv_message import LsivMessage, LsivVehicle, read_message
from adapters.base import Payload
from adapters.mobile.osmand import ADAPTER as OSMAND
from tests.adapter_calls import Refusal, refusal

RECEIVED = datetime(2026, 11, 22, 13, 0, tzinfo=UTC)
UNIX = str(int((RECEIVED - timedelta(minutes=5)).timestamp()))  # 12:55:00Z

# OsmAnd ------------------------------------------------------------------------------------

def _meta(sector: str = "hap", unit: str = "hap-leiden-visite-1") -> MessageMeta:
    return MessageMeta(uuid.UUID(int=11), "org-hap-leiden", unit, RECEIVED, "osmand", sector)


def _query(**params: str) -> dict[str, Any]:
    sent = {"id": "hap-leiden-visite-1", "lat": "52.15995", "lon": "4.49281", "timestamp": UNIX,
            **params}
    return {"query": {k: v for k, v in sent.items() if v != "-"}}  # "-": left out


def _body(*reports: dict[str, Any]) -> dict[str, Any]:
    return {"body": {"device_id": "wijkzorg-delft-3", "location": list(reports)}}


def _report(timestamp: str = "2026-11-22T12:48:12Z", **coords: Any) -> dict[str, Any]:
    return {"timestamp": timestamp,
            "coords": {"latitude": 52.011578, "longitude": 4.359211, **coords}}


def _osmand(payload: Payload) -> AdapterResult:
    return OSMAND.parse(payload, _meta())


def _osmand_refusal(payload: Payload) -> Refusal:
    return refusal(OSMAND.parse, payload, _meta())


@pytest.mark.parametrize(("lat", "lon"), [("-90", "-180"), ("90", "180"), ("-90.0", "180.0")])
def test_an_osmand_coordinate_on_the_edge_of_its_range_is_kept(lat: str, lon: str) -> None:
    [fix] = _osmand(_query(lat=lat, lon=lon)).positions
    assert (fix.latitude, fix.longitude) == (float(lat), float(lon))


@pytest.mark.parametrize(("latitude", "longitude"), [(51.4779, 0.0), (0.0, 4.3), (-0.0, 9.5)])
def test_a_position_on_the_equator_or_the_greenwich_meridian_is_kept(latitude: float,
                                                                       longitude: float) -> None:
    result = _osmand(_body(_report(latitude=latitude, longitude=longitude)))
    assert [(p.latitude, p.longitude) for p in result.positions] == [(latitude, longitude)]
    assert result.warnings == []


def test_a_query_speed_in_knots_is_kept_to_a_hundredth_of_a_kmh() -> None:
    [fix] = _osmand(_query(speed="1.5")).positions
    assert fix.speed_kmh == 2.78  # 2.778 km/h


def test_an_empty_json_figure_means_not_known() -> None:
    [fix] = _osmand(_body(_report(speed="", heading="", accuracy=""))).positions
    assert (fix.speed_kmh, fix.heading_deg, fix.accuracy_m) == (None, None, None)


def test_a_query_with_lat_or_lon_reads_them_not_the_location_parameter() -> None:
    rule = "give the position in WGS84 decimal degrees as lat and lon"
    assert _osmand_refusal(_query(lon="-", location="52.2,4.5")) == [
        ("query.lon", "required", rule)]
    assert _osmand_refusal(_query(lat="-", location="52.2,4.5")) == [
        ("query.lat", "required", rule)]


def test_every_problem_of_a_query_is_refused_together() -> None:
    assert _osmand_refusal(_query(lat="91", timestamp="gisteren")) == [
        ("query.lat", "value", "91.0 lies outside -90..90 degrees (WGS84 decimal degrees)"),
        ("query.timestamp", "invalid", "not an ISO 8601 date-time: 'gisteren'"),
    ]


def test_every_ignored_query_parameter_is_named() -> None:
    result = _osmand(_query(motion="true", odometer="1200"))
    assert [(w.expression, w.code, w.diagnostics) for w in result.warnings] == [
        ("query", "not-supported", "ignored parameter(s): motion, odometer")]
    assert len(result.positions) == 1


@pytest.mark.parametrize(("sent", "moment", "words"), [
    # The last Unix second Traccar reads as seconds: 2038, filtered as a future time.
    ("2147483647", "2038-01-19T03:14:07+00:00", "lies in the future"),
    # One more is milliseconds: January 1970, older than the history kept.
    ("2147483648", "1970-01-25T20:31:23.648000+00:00", "lies more than 30 days before"),
])
def test_the_largest_unix_second_is_read_as_seconds(sent: str, moment: str, words: str) -> None:
    result = _osmand(_query(timestamp=sent))
    assert result.positions == []
    [warning] = result.warnings
    assert (warning.expression, warning.code) == ("query.timestamp", "business-rule")
    assert warning.diagnostics.startswith(f"observed time {moment} {words}")


def test_a_report_older_than_the_position_history_is_dropped_after_30_days() -> None:
    kept, old = RECEIVED - timedelta(days=29), RECEIVED - timedelta(days=31)
    result = _osmand(_body(_report(kept.isoformat()), _report(old.isoformat())))
    assert [p.observed_at for p in result.positions] == [kept]
    assert [(w.expression, w.code, w.diagnostics) for w in result.warnings] == [(
        "location[1].timestamp", "business-rule",
        "observed time 2026-10-22T13:00:00+00:00 lies more than 30 days before receipt "
        "(2026-11-22T13:00:00+00:00): the platform keeps 30 days of history, so it would be "
        "deleted at once; send current figures; this report was not stored")]


# LSIV messages ---------------------------------------------------------------------------

def _message(**fields: Any) -> dict[str, Any]:
    vehicle = {"id": "amb-16-123", "call_sign": "16-123", "rav_region": "vr16", "type": "A"}
    sent = {"kind": "vehicle-status", "message_id": "b7e2c1d4", "vehicle": vehicle,
            "status": "6", "at": "2026-11-22T13:41:07+01:00", **fields}
    return {k: v for k, v in sent.items() if v != "-"}  # "-": left out


def _position(**fix: Any) -> dict[str, Any]:
    return _message(kind="avls-position", status="-",
                    position={"lat": 52.14, "lon": 4.53, **fix})


def test_an_lsiv_message_is_read_with_its_whole_vehicle() -> None:
    message = read_message(_message(), RECEIVED)
    assert message.vehicle == LsivVehicle("amb-16-123", "16-123", "vr16", "A")
    assert message.vehicle.capabilities == ["A1", "A2", "B"]
    assert (message.kind, message.message_id, message.status) == (
        "vehicle-status", "b7e2c1d4", "6")


@pytest.mark.parametrize("length", [1, 128])
def test_a_message_id_of_1_to_128_characters_is_kept(length: int) -> None:
    assert read_message(_message(message_id="m" * length), RECEIVED).message_id == "m" * length


def test_an_lsiv_vehicle_with_its_longest_id_and_call_sign_is_kept() -> None:
    vehicle = {"id": "a" * 64, "call_sign": "c" * 32, "rav_region": "vr16", "type": "B"}
    assert read_message(_message(vehicle=vehicle), RECEIVED).vehicle == LsivVehicle(
        "a" * 64, "c" * 32, "vr16", "B")


@pytest.mark.parametrize(("vehicle", "code"), [("-", "required"), ("amb-16-123", "structure")])
def test_a_message_without_a_vehicle_object_is_refused_naming_it(vehicle: Any,
                                                                  code: str) -> None:
    # The stream stages read a feed message before any adapter's `location_of`.
    assert refusal(read_message, _message(vehicle=vehicle), RECEIVED) == [
        ("vehicle", code, "give vehicle as a JSON object")]


def test_a_message_without_message_id_is_refused_naming_it() -> None:
    assert refusal(read_message, _message(message_id="-"), RECEIVED) == [
        ("message_id", "required", "give message_id as text of 1 to 128 characters")]


def test_an_lsiv_message_that_is_no_object_is_refused_by_read_message() -> None:
    assert refusal(read_message, ["vehicle-status"], RECEIVED) == [
        ("LSIV message", "structure", "expected a JSON object for LSIV message")]


def test_an_avls_fix_on_the_upper_edge_of_every_range_is_kept() -> None:
    message = read_message(_position(lat=54.0, lon=8.0, speed_kmh=300, heading_deg=360,
                                     accuracy_m=10_000), RECEIVED)
    assert message.position is not None
    assert (message.position.latitude, message.position.longitude) == (54.0, 8.0)
    assert (message.position.speed_kmh, message.position.heading_deg,
            message.position.accuracy_m) == (300.0, 360.0, 10_000.0)


def _lsiv_meta(subject: str) -> MessageMeta:
    return MessageMeta(uuid.UUID(int=12), "rav-vr16", subject, RECEIVED, "lsiv/v1", "ambulance")


def test_a_status_is_observed_at_the_vehicle_the_message_names() -> None:
    [status] = LSIV.parse(_message(), _lsiv_meta("raw-subject")).observations
    assert (status.location_id, status.value) == ("amb-16-123", "6")


def test_a_status_the_status_definition_does_not_list_is_refused() -> None:
    # read_message checks the status against the reference list of vehicle statuses; the
    # observation is checked again against the definition in force at the message's moment.
    message = LsivMessage("vehicle-status", "b7e2c1d4", LsivVehicle("amb-16-123", "16-123",
                                                                   "vr16", "A"),
                          datetime(2026, 11, 22, 12, 41, tzinfo=UTC), status="11")
    [(expression, code, diagnostics)] = refusal(_status_result, message,
                                                _lsiv_meta("amb-16-123"))
    assert (expression, code) == ("status", "value")
    assert "'11'" in diagnostics


# Fleet snapshots ---------------------------------------------------------------------------

def test_a_snapshot_lists_its_vehicles_by_id_whatever_their_order() -> None:
    vehicles = [{"id": "amb-16-202", "type": "B", "status": "8"},
                {"id": "amb-16-101", "type": "A", "status": "5"}]
    sent = snapshot("vr16", datetime(2026, 11, 22, 12, 40, tzinfo=UTC), vehicles)
    assert [v["id"] for v in sent["vehicles"]] == ["amb-16-101", "amb-16-202"]


def _fleet_meta(subject: str) -> MessageMeta:
    return MessageMeta(uuid.UUID(int=13), "lsiv", subject, RECEIVED, "lsiv/fleet", "ambulance")


def test_a_fleet_snapshot_is_mapped_at_the_region_it_names() -> None:
    body = {"rav_region": "vr16", "observed_at": "2026-11-22T13:40:00+01:00",
            "vehicles": [{"id": "amb-16-101", "type": "A", "status": "5"}]}
    result = FLEET.parse(body, _fleet_meta("raw-subject"))
    assert {o.location_id for o in result.observations} == {"rav-vr16"}


def test_parsing_a_fleet_snapshot_checks_its_region_and_its_shape() -> None:
    assert refusal(FLEET.parse, {"rav_region": "vr99", "vehicles": []}, _fleet_meta("x")) == [
        ("rav_region", "value", "rav_region must be a veiligheidsregio code (vr01-vr25)")]
    assert refusal(FLEET.parse, [], _fleet_meta("x")) == [
        ("fleet snapshot", "structure", "expected a JSON object for fleet snapshot")]
