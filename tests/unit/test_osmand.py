"""The OsmAnd (Traccar) position adapter and its /osmand routes, without the stack."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from adapters import AdapterError, AdapterResult, MessageMeta
from adapters.base import Payload, error
from adapters.mobile.osmand import ADAPTER
from api import deps, osmand_routes
from api.access import declared_routes
from api.audit import AuditContext
from core.identity import Principal

RECEIVED = datetime(2026, 11, 22, 13, 0, tzinfo=UTC)
UNIX = int((RECEIVED - timedelta(minutes=5)).timestamp())  # 12:55:00Z


def meta(sector: str = "hap", unit: str = "hap-leiden-visite-1") -> MessageMeta:
    return MessageMeta(uuid.UUID(int=7), "org-hap-leiden", unit, RECEIVED, "osmand", sector)


def query(**params: str) -> dict[str, Any]:
    return {"query": {"id": "hap-leiden-visite-1", "lat": "52.15995", "lon": "4.49281",
                      "timestamp": str(UNIX), **params}}


def report(timestamp: str = "2026-11-22T12:48:12Z", **coords: Any) -> dict[str, Any]:
    return {"timestamp": timestamp, "coords": {"latitude": 52.011578, "longitude": 4.359211,
                                               "accuracy": 11.2, "speed": 8.3, "heading": 92.4,
                                               "altitude": 0.0, **coords},
            "is_moving": True, "battery": {"level": 0.64, "is_charging": False}}


def body(*reports: dict[str, Any]) -> dict[str, Any]:
    location: Any = reports[0] if len(reports) == 1 else list(reports)
    return {"body": {"device_id": "wijkzorg-delft-3", "location": location}}


def parse(payload: dict[str, Any], sector: str = "hap") -> AdapterResult:
    return ADAPTER.parse(payload, meta(sector))


def refusal(payload: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(AdapterError) as caught:
        parse(payload)
    return {i.expression: i.diagnostics for i in caught.value.issues}


# Units -------------------------------------------------------------------------------------

def test_query_speed_in_knots_becomes_kmh() -> None:
    (position,) = parse(query(speed="10", bearing="184.5", accuracy="6")).positions
    assert position.speed_kmh == 18.52  # 1 kn = 1.852 km/h
    assert (position.heading_deg, position.accuracy_m) == (184.5, 6.0)


def test_json_speed_in_metres_per_second_becomes_kmh() -> None:
    (position,) = parse(body(report(speed=10))).positions
    assert position.speed_kmh == 36.0  # 1 m/s = 3.6 km/h
    assert (position.heading_deg, position.accuracy_m) == (92.4, 11.2)


def test_json_negative_figures_mean_not_known() -> None:
    (position,) = parse(body(report(speed=-1, heading=-1, accuracy=-1))).positions
    assert (position.speed_kmh, position.heading_deg, position.accuracy_m) == (None, None, None)


def test_heading_may_come_as_heading_and_location_as_one_parameter() -> None:
    payload = {"query": {"deviceid": "hap-leiden-visite-1", "location": "52.090737,5.12142",
                         "heading": "90", "timestamp": str(UNIX)}}
    (position,) = parse(payload).positions
    assert (position.latitude, position.longitude, position.heading_deg) == (52.090737, 5.12142,
                                                                             90.0)
    assert position.speed_kmh is None


@pytest.mark.parametrize(("sector", "kind"), [("hap", "hap-visit-car"), ("vvt", "district-nurse"),
                                              ("ambulance", "ambulance")])
def test_unit_kind_and_provider_come_from_the_registered_unit(sector: str, kind: str) -> None:
    (position,) = parse(query(), sector).positions
    assert (position.unit_kind, position.provider, position.unit_id) == (
        kind, "org-hap-leiden", "hap-leiden-visite-1")
    assert (position.source_format, position.received_at) == ("osmand", RECEIVED)


def test_a_unit_of_another_sector_is_refused() -> None:
    with pytest.raises(AdapterError, match="positions are kept for ambulance"):
        parse(query(), "hospital")


# Timestamps --------------------------------------------------------------------------------

@pytest.mark.parametrize("sent", [str(UNIX), str(UNIX * 1000), f"{UNIX}.0",
                                  "2026-11-22T12:55:00Z", "2026-11-22T13:55:00+01:00",
                                  "2026-11-22 13:55:00+01:00"])
def test_timestamp_forms(sent: str) -> None:
    (position,) = parse(query(timestamp=sent)).positions
    assert position.observed_at == datetime(2026, 11, 22, 12, 55, tzinfo=UTC)


def test_json_timestamp_keeps_milliseconds() -> None:
    (position,) = parse(body(report("2026-11-22T12:48:12.510Z"))).positions
    assert position.observed_at == datetime(2026, 11, 22, 12, 48, 12, 510000, tzinfo=UTC)


def test_query_without_timestamp_is_stamped_at_receipt_with_a_warning() -> None:
    payload = query()
    del payload["query"]["timestamp"]
    result = parse(payload)
    assert result.positions[0].observed_at == RECEIVED
    assert [w.expression for w in result.warnings] == ["query.timestamp"]


@pytest.mark.parametrize(("sent", "rule"), [("2026-11-22 13:55:00", "give a timezone"),
                                            ("gisteren", "not an ISO 8601 date-time")])
def test_timestamp_without_timezone_or_unreadable_is_refused(sent: str, rule: str) -> None:
    assert rule in refusal(query(timestamp=sent))["query.timestamp"]


def test_future_beyond_five_minutes_is_filtered_within_is_kept() -> None:
    six = int((RECEIVED + timedelta(minutes=6)).timestamp())
    filtered = parse(query(timestamp=str(six)))
    assert filtered.positions == []
    assert [w.expression for w in filtered.warnings] == ["query.timestamp"]
    assert "lies in the future" in filtered.warnings[0].diagnostics
    assert "not stored" in filtered.warnings[0].diagnostics
    four = RECEIVED + timedelta(minutes=4)
    assert parse(query(timestamp=str(int(four.timestamp())))).positions[0].observed_at == four


def test_one_future_report_in_a_batch_is_dropped_and_the_rest_kept() -> None:
    late = report("2026-11-22T13:30:00Z")
    result = parse(body(report(), late))
    assert len(result.positions) == 1
    assert [w.expression for w in result.warnings] == ["location[1].timestamp"]


# Duplicates and reports without a position -------------------------------------------------

def test_a_repeated_moment_within_a_payload_is_kept_once() -> None:
    first = report("2026-11-22T12:40:30Z", latitude=52.1671)
    again = report("2026-11-22T13:40:30+01:00", latitude=52.1699)  # the same moment
    other = report("2026-11-22T12:41:00Z")
    result = parse(body(first, again, other))
    assert [p.latitude for p in result.positions] == [52.1671, 52.011578]
    assert [w.expression for w in result.warnings] == ["location[1].timestamp"]
    assert "location[0]" in result.warnings[0].diagnostics


def test_a_heartbeat_without_coords_stores_nothing() -> None:
    heartbeat = {"timestamp": "2026-11-22T12:41:00Z", "event": "heartbeat", "is_moving": False}
    result = parse(body(report(), heartbeat))
    assert len(result.positions) == 1
    assert [w.expression for w in result.warnings] == ["location[1].coords"]


@pytest.mark.parametrize("params", [{"valid": "false"}, {"lat": "0", "lon": "0"}])
def test_no_fix_stores_nothing_but_is_acknowledged(params: dict[str, str]) -> None:
    result = parse(query(**params))
    assert result.positions == [] and result.warnings


def test_unknown_parameters_are_warned_about_not_refused() -> None:
    result = parse(query(altitude="2.1", batt="87", motion="true"))
    assert len(result.positions) == 1
    assert [w.diagnostics for w in result.warnings] == ["ignored parameter(s): motion"]


# Refusals: every problem of the payload at once ---------------------------------------------

def test_all_problems_are_reported_together() -> None:
    problems = refusal(query(lat="152.1", speed="fast", bearing="400"))
    assert "outside -90..90" in problems["query.lat"]
    assert "not a number" in problems["query.speed"]
    assert "not within 0..360" in problems["query.bearing"]


def test_missing_position_is_refused() -> None:
    payload = query()
    del payload["query"]["lat"]
    assert "give the position" in refusal(payload)["query.lat"]


@pytest.mark.parametrize("location", ["52.09", "52.09,", "a,b"])
def test_malformed_location_parameter_is_refused(location: str) -> None:
    payload = {"query": {"id": "x", "location": location, "timestamp": str(UNIX)}}
    assert "query.location" in refusal(payload)


def test_json_report_must_have_timestamp_and_numeric_coordinates() -> None:
    no_time = report()
    del no_time["timestamp"]
    problems = refusal(body(no_time, report(latitude="52.0")))
    assert "give the time of the fix" in problems["location[0].timestamp"]
    assert "not a number" in problems["location[1].coords.latitude"]
    assert "location" in refusal({"body": {"device_id": "x", "location": []}})


def test_location_of_reads_the_device_id_of_either_form() -> None:
    assert ADAPTER.location_of(query()) == "hap-leiden-visite-1"
    assert ADAPTER.location_of({"query": {"deviceid": "u-2"}}) == "u-2"
    assert ADAPTER.location_of(body(report())) == "wijkzorg-delft-3"
    refused: list[tuple[Payload, str]] = [({"query": {"lat": "52"}}, "query.id"),
                                          ({"body": {"location": {}}}, "device_id"),
                                          ({"other": {}}, "payload")]
    for payload, where in refused:
        with pytest.raises(AdapterError) as caught:
            ADAPTER.location_of(payload)
        assert caught.value.issues[0].expression == where


# The routes: the payload they build and the status they answer ------------------------------

class Recorder:
    """Stands in for api.ingest.accept: records payloads, or refuses with `refusal`."""

    def __init__(self) -> None:
        self.payloads: list[Any] = []
        self.refusal: AdapterError | None = None

    async def __call__(self, payload: Any, adapter: Any, **_: Any) -> JSONResponse:
        self.payloads.append(payload)
        if self.refusal is not None:
            raise self.refusal
        return JSONResponse({"resourceType": "OperationOutcome", "issue": []}, status_code=202)


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    recorder = Recorder()
    monkeypatch.setattr(osmand_routes, "accept", recorder)
    return recorder


def _device(request: Request) -> Principal:
    # Stands in for the route's access rule: a tracker whose key was accepted.
    principal = Principal(subject="device:u-1", organization="org", role="device", unit_id="u-1")
    request.state.principal = principal
    request.state.audit = AuditContext(action="push osmand", kind="write", principal=principal)
    return principal


class Client:
    """Calls the routes in-process over ASGI, with database, broker and sign-in stubbed out."""

    def __init__(self) -> None:
        self.app = FastAPI()
        self.app.include_router(osmand_routes.router())
        for dependency in (deps.get_conn, deps.get_producer, deps.get_settings_dep,
                           deps.get_locations_cache):
            self.app.dependency_overrides[dependency] = _nothing
        for route in declared_routes(self.app):
            for rule in route.rules:
                assert callable(rule)  # a Rule instance is its own dependency callable
                self.app.dependency_overrides[rule] = _device

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        async def call() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
                return await client.request(method, url, **kwargs)
        return asyncio.run(call())

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)


async def _nothing() -> None:
    return None


@pytest.fixture
def client(recorder: Recorder) -> Client:
    return Client()


def test_get_and_post_query_forms_wrap_the_query_and_answer_200(
    client: Client, recorder: Recorder,
) -> None:
    params = {"id": "u-1", "lat": "52.1", "lon": "4.4", "timestamp": str(UNIX)}
    assert client.get("/osmand", params=params).status_code == 200
    assert client.post("/osmand", params=params).status_code == 200
    assert client.post("/osmand", content="id=u-1&lat=52.1&lon=4.4",
                       headers={"Content-Type": "application/x-www-form-urlencoded"}
                       ).status_code == 200
    assert recorder.payloads == [{"query": params}, {"query": params},
                                 {"query": {"id": "u-1", "lat": "52.1", "lon": "4.4"}}]


def test_post_json_wraps_the_body(client: Client, recorder: Recorder) -> None:
    sent = body(report())["body"]
    assert client.post("/osmand", json=sent).status_code == 200
    assert recorder.payloads == [{"body": sent}]


def test_unknown_device_is_404_other_refusals_400(client: Client, recorder: Recorder) -> None:
    recorder.refusal = AdapterError([error("not-found", "unit", "mobile unit x is not registered")])
    answer = client.get("/osmand", params={"id": "x"})
    assert answer.status_code == 404 and "not registered" in answer.text
    recorder.refusal = AdapterError([error("business-rule", "query.timestamp",
                                           "lies in the future")])
    answer = client.post("/osmand", params={"id": "x"})
    assert answer.status_code == 400 and "lies in the future" in answer.text


def test_malformed_json_is_400_without_reaching_the_adapter(
    client: Client, recorder: Recorder,
) -> None:
    for sent in ("{not json", "[1, 2]"):
        answer = client.post("/osmand", content=sent, headers={"Content-Type": "application/json"})
        assert answer.status_code == 400
        assert answer.json()["issue"][0]["expression"] == ["body"]
    assert recorder.payloads == []


# JSON reports that cannot be read: each named, with the rule -------------------------------

@pytest.mark.parametrize(("location", "where", "words"), [
    ("52.0,4.3", "location[1]", "a location report must be an object"),
    ({"coords": {"latitude": 52.0, "longitude": 4.3}}, "location[1].timestamp",
     "give the time of the fix (ISO 8601 with timezone)"),
    ({"timestamp": "2026-11-22T12:48:12Z", "coords": [52.0, 4.3]}, "location[1].coords",
     "coords must be an object"),
    ({"timestamp": "2026-11-22T12:48:12Z", "coords": {"longitude": 4.3}},
     "location[1].coords.latitude", "give latitude in WGS84 decimal degrees"),
    ({"timestamp": "2026-11-22T12:48:12Z", "coords": {"latitude": 52.0}},
     "location[1].coords.longitude", "give longitude in WGS84 decimal degrees"),
])
def test_a_json_report_that_cannot_be_read_is_named_with_its_rule(
    location: Any, where: str, words: str,
) -> None:
    assert refusal(body(report(), location)) == {where: words}


@pytest.mark.parametrize(("latitude", "longitude", "where"), [
    (90.5, 4.3, "location.coords.latitude"), (-91, 4.3, "location.coords.latitude"),
    (52.0, 180.5, "location.coords.longitude"), (52.0, -181, "location.coords.longitude"),
])
def test_a_json_coordinate_past_its_range_is_refused(latitude: float, longitude: float,
                                                     where: str) -> None:
    assert list(refusal(body(report(latitude=latitude, longitude=longitude)))) == [where]


@pytest.mark.parametrize("location", [None, [], "here"])
def test_a_json_body_without_location_reports_is_refused(location: Any) -> None:
    payload = {"body": {"device_id": "wijkzorg-delft-3", "location": location}}
    assert list(refusal(payload)) == ["location"]


def test_a_json_report_is_read_with_its_figures_and_its_element() -> None:
    [fix] = parse(body(report(latitude=52.5, longitude=6.1, accuracy=4.0, speed=10.0,
                              heading=180.0))).positions
    assert (fix.latitude, fix.longitude, fix.accuracy_m, fix.heading_deg) == (52.5, 6.1, 4.0,
                                                                         180.0)
    assert fix.speed_kmh == pytest.approx(36.0)
    assert fix.observed_at == datetime(2026, 11, 22, 12, 48, 12, tzinfo=UTC)


# Query-string reports: coordinates, the location parameter, validity, the unit's id -----------

@pytest.mark.parametrize(("params", "expected"), [
    ({"lat": None}, {"query.lat": "give the position in WGS84 decimal degrees as lat and lon"}),
    ({"lat": None, "lon": None},
     {"query.lat": "give the position in WGS84 decimal degrees as lat and lon",
      "query.lon": "give the position in WGS84 decimal degrees as lat and lon"}),
    ({"lat": None, "lon": None, "location": "52.1"},
     {"query.location": "give location as 'latitude,longitude', got '52.1'"}),
])
def test_a_query_without_its_coordinates_is_refused_naming_each(
    params: dict[str, str | None], expected: dict[str, str],
) -> None:
    sent = {k: v for k, v in {**query()["query"], **params}.items() if v is not None}
    assert refusal({"query": sent}) == expected


@pytest.mark.parametrize(("lat", "lon", "where"), [
    ("90.5", "4.4", "query.lat"), ("-90.5", "4.4", "query.lat"), ("north", "4.4", "query.lat"),
    ("52.1", "180.5", "query.lon"), ("52.1", "-181", "query.lon"),
])
def test_a_query_coordinate_past_its_range_or_unreadable_is_refused(lat: str, lon: str,
                                                                    where: str) -> None:
    assert list(refusal(query(lat=lat, lon=lon))) == [where]


def test_a_query_position_may_come_as_location_and_its_parts_are_named_there() -> None:
    sent = {k: v for k, v in query()["query"].items() if k not in ("lat", "lon")}
    [fix] = parse({"query": {**sent, "location": "52.2,4.5"}}).positions
    assert (fix.latitude, fix.longitude) == (52.2, 4.5)
    assert list(refusal({"query": {**sent, "location": "52.2,east"}})) == ["query.location"]


@pytest.mark.parametrize("valid", ["false", "FALSE", "0"])
def test_a_query_without_a_valid_fix_stores_nothing_and_says_so(valid: str) -> None:
    result = parse(query(valid=valid))
    assert result.positions == []
    assert [(w.expression, w.diagnostics) for w in result.warnings] == [
        ("query.valid", "the tracker reports no valid fix; no position stored")]


@pytest.mark.parametrize("valid", ["true", "1"])
def test_a_query_with_a_valid_fix_is_stored(valid: str) -> None:
    assert len(parse(query(valid=valid)).positions) == 1


def test_empty_query_parameters_are_skipped_as_traccar_does() -> None:
    result = parse(query(speed="", accuracy="", motion=""))
    assert len(result.positions) == 1 and result.warnings == []


def test_bearing_is_named_where_it_was_sent() -> None:
    assert list(refusal(query(bearing="400"))) == ["query.bearing"]
    assert list(refusal(query(heading="400"))) == ["query.heading"]


@pytest.mark.parametrize(("payload", "unit"), [
    ({"query": {"id": "car-1"}}, "car-1"), ({"query": {"deviceid": "car-2"}}, "car-2"),
    ({"query": {"id": "", "deviceid": "car-3"}}, "car-3"), ({"query": {"id": 42}}, "42"),
    ({"body": {"device_id": "nurse-3"}}, "nurse-3"),
])
def test_the_unit_is_the_trackers_device_id(payload: dict[str, Any], unit: str) -> None:
    assert ADAPTER.location_of(payload) == unit


@pytest.mark.parametrize(("payload", "where", "words"), [
    ({"query": {"lat": "52.1"}}, "query.id", "give the unit's id as parameter id"),
    ({"query": {"id": True}}, "query.id", "give the unit's id as parameter id"),
    ({"body": {"device_id": ""}}, "device_id", "give the unit's id as device_id"),
    ({"body": {"device_id": ["car"]}}, "device_id", "give the unit's id as device_id"),
])
def test_a_report_without_the_units_id_is_refused(payload: dict[str, Any], where: str,
                                                  words: str) -> None:
    with pytest.raises(AdapterError) as caught:
        ADAPTER.location_of(payload)
    [issue] = caught.value.issues
    assert (issue.expression, issue.code) == (where, "required")
    assert issue.diagnostics == f"{words} (registered with PUT /v1/mobile-units/{{id}})"


def test_a_query_without_timestamp_is_stamped_at_receipt() -> None:
    sent = {k: v for k, v in query()["query"].items() if k != "timestamp"}
    result = parse({"query": sent})
    assert [p.observed_at for p in result.positions] == [RECEIVED]
    assert [(w.expression, w.code) for w in result.warnings] == [("query.timestamp", "required")]


@pytest.mark.parametrize(("raw", "words"), [
    ("fast", "not a number: 'fast'"), ("nan", "not a number: 'nan'"),
    ("inf", "not a number: 'inf'"),
])
def test_a_query_figure_that_is_no_finite_number_is_refused(raw: str, words: str) -> None:
    assert refusal(query(speed=raw)) == {"query.speed": words}


def test_a_json_figure_sent_as_text_is_refused_saying_to_send_a_number() -> None:
    assert refusal(body(report(speed="8.3"))) == {
        "location.coords.speed": "not a number: '8.3' (give a JSON number, not text)"}
    assert refusal(body(report(speed=True))) == {"location.coords.speed": "not a number: True"}


@pytest.mark.parametrize(("sent", "moment"), [
    (str(UNIX), datetime(2026, 11, 22, 12, 55, tzinfo=UTC)),
    (str(UNIX * 1000), datetime(2026, 11, 22, 12, 55, tzinfo=UTC)),  # milliseconds
    (str(UNIX * 1000 + 250), datetime(2026, 11, 22, 12, 55, 0, 250_000, tzinfo=UTC)),
])
def test_a_unix_time_may_be_seconds_or_milliseconds(sent: str, moment: datetime) -> None:
    [fix] = parse(query(timestamp=sent)).positions
    assert fix.observed_at == moment


def test_position_zero_zero_is_no_fix_and_the_rest_of_a_batch_is_kept() -> None:
    result = parse(body(report(latitude=0, longitude=0), report("2026-11-22T12:49:00Z")))
    assert [p.observed_at for p in result.positions] == [
        datetime(2026, 11, 22, 12, 49, tzinfo=UTC)]
    assert [(w.expression, w.diagnostics) for w in result.warnings] == [(
        "location[0]", "position 0,0 means the tracker has no fix; no position stored")]
    [only_latitude_zero] = parse(body(report(latitude=0.0, longitude=4.3))).positions
    assert (only_latitude_zero.latitude, only_latitude_zero.longitude) == (0.0, 4.3)


@pytest.mark.parametrize("payload", [{}, {"form": {}}, {"query": "id=1"}, [1]])
def test_a_payload_not_wrapped_by_the_route_is_refused(payload: Any) -> None:
    with pytest.raises(AdapterError) as caught:
        parse(payload)
    assert caught.value.issues[0].code == "structure"


def test_a_unit_of_a_sector_without_positions_is_refused_naming_the_unit() -> None:
    with pytest.raises(AdapterError) as caught:
        ADAPTER.parse(query(), meta(sector="hospital", unit="bed-1"))
    [issue] = caught.value.issues
    assert (issue.expression, issue.code) == ("unit", "business-rule")
    assert issue.diagnostics == (
        "mobile unit bed-1 has sector 'hospital'; positions are kept for ambulance, hap (visit "
        "car) and vvt (district nurse) units")
