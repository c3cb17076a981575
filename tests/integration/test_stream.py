"""/v1/stream on the running stack: live figures as pushed, resume by Last-Event-ID without gaps
or repeats, region scoping by token, two API processes serving the same stream."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from core.settings import REPO_ROOT
from stack import processes
from stack.config import StackConfig
from stack.demo import location_resource
from tests.identities import Platform, Site
from tests.integration.helpers import push
from tests.integration.sse import Listener, bearer
from tests.waiting import wait_for


def _site(platform: Platform, region: str, lat: float, lon: float) -> Site:
    suffix = uuid.uuid4().hex[:8]
    org, location = f"org-sse-{suffix}", f"loc-sse-{suffix}"
    client = platform.provider(org, f"Ziekenhuis {suffix}")
    client.put(f"/fhir/Location/{location}", json=location_resource(
        location, org, f"Ziekenhuis {suffix}", region, lat, lon)).raise_for_status()
    return Site(location, org, client)


@pytest.fixture
def west(platform: Platform) -> Site:
    return _site(platform, "west", 52.16, 4.48)


@pytest.fixture
def listeners() -> Iterator[list[Listener]]:
    opened: list[Listener] = []
    yield opened
    for listener in opened:
        listener.close()


def _listen(listeners: list[Listener], client: httpx.Client, base_url: str | None = None,
            last_event_id: str | None = None, **params: str) -> Listener:
    listener = Listener(client, params, last_event_id=last_event_id, base_url=base_url).open()
    listeners.append(listener)
    return listener


def _staffed(listener: Listener) -> list[float]:
    return [f["value"] for e in listener.named("figure") for f in e.data["figures"]
            if f["definition"] == "hospital.beds.ic.staffed"]


def _ids(listener: Listener) -> list[int]:
    return [int(str(e.id).split("-")[0]) for e in listener.events if e.id]


def _push_seen(site: Site, listener: Listener, n: int, at: datetime) -> None:
    """Push figure n and wait until the listener has it: figures pushed faster than the worker
    writes them may be folded into one change of the latest figure (one event)."""
    assert push(site.client, site.location_id, {"numICUBeds": n}, at).status_code == 202
    wait_for(lambda: float(n) in _staffed(listener), what=f"figure {n} on the stream")


def test_a_pushed_figure_arrives_with_the_fields_of_the_live_query(
    platform: Platform, west: Site, listeners: list[Listener],
) -> None:
    zcv = platform.zcv(("west",))
    listener = _listen(listeners, zcv, region="west", location=west.location_id)
    assert push(west.client, west.location_id, {"numICUBeds": 12}).status_code == 202
    event = listener.wait("figure", lambda d: d["location_id"] == west.location_id)
    assert event.id is not None
    (figure,) = event.data["figures"]
    live = zcv.get("/v1/availability", params={"region": "west", "item": figure["definition"]})
    (location,) = [loc for loc in live.json()["locations"]
                   if loc["location_id"] == west.location_id]
    assert set(event.data) == set(location)
    assert set(figure) == set(location["figures"][0])
    assert (figure["value"], figure["stale"], figure["reported"]) == (12, False, True)
    assert event.data["roaz_region"] == "west" and event.data["distance_km"] is None
    wait_for(lambda: "heartbeat" in listener.comments, timeout=10, what="a heartbeat")


def test_resuming_with_last_event_id_loses_nothing_and_repeats_nothing(
    platform: Platform, west: Site, listeners: list[Listener],
) -> None:
    zcv = platform.zcv(("west",))
    start = datetime.now(UTC) - timedelta(minutes=30)
    whole = _listen(listeners, zcv, region="west", location=west.location_id)
    first = _listen(listeners, zcv, region="west", location=west.location_id)
    for n in range(3):
        _push_seen(west, first, n, start + timedelta(seconds=n))
    first.close()
    resume_from = first.events[-1].id
    for n in range(3, 7):
        _push_seen(west, whole, n, start + timedelta(seconds=n))
    again = _listen(listeners, zcv, region="west", location=west.location_id,
                    last_event_id=resume_from)
    wait_for(lambda: len(_staffed(again)) >= 4, what="the four missed figures")
    assert _staffed(again) == [3.0, 4.0, 5.0, 6.0]
    cut = int(str(resume_from).split("-")[0])
    up_to = max(_ids(again))
    assert _ids(again) == [i for i in _ids(whole) if cut < i <= up_to]  # no gap, no repeat
    assert len(set(_ids(whole))) == len(_ids(whole))


def test_an_unknown_last_event_id_asks_for_a_reload(
    platform: Platform, west: Site, listeners: list[Listener],
) -> None:
    zcv = platform.zcv(("west",))
    for resume in ("99999999-1", "garbage"):
        listener = _listen(listeners, zcv, region="west", last_event_id=resume)
        event = listener.wait("reset")
        assert event.data["reason"]


def test_a_west_token_never_receives_noord_nederland_events(
    platform: Platform, west: Site, listeners: list[Listener],
) -> None:
    north = _site(platform, "noord-nederland", 53.22, 6.57)
    zcv_west = platform.zcv(("west",))
    national = platform.zcv(national=True)
    west_listener = _listen(listeners, zcv_west)  # its regions and their neighbours
    all_listener = _listen(listeners, national)
    forbidden = httpx.get(f"{zcv_west.base_url}/v1/stream", headers=bearer(zcv_west),
                          params={"region": "noord-nederland"})
    assert forbidden.status_code == 403
    assert push(north.client, north.location_id, {"numICUBeds": 5}).status_code == 202
    assert push(west.client, west.location_id, {"numICUBeds": 6}).status_code == 202
    all_listener.wait("figure", lambda d: d["location_id"] == north.location_id)
    all_listener.wait("figure", lambda d: d["location_id"] == west.location_id)
    west_listener.wait("figure", lambda d: d["location_id"] == west.location_id)
    regions = {e.data.get("roaz_region") for e in west_listener.events if e.event != "alert"}
    assert "noord-nederland" not in regions
    assert regions <= {"west", "noord-holland-flevoland", "midden-nederland", "zuidwest"}
    # A provider's stream holds only its own organisation's figures.
    own = _listen(listeners, west.client)
    push(north.client, north.location_id, {"numICUBeds": 7})
    push(west.client, west.location_id, {"numICUBeds": 8})
    own.wait("figure", lambda d: d["location_id"] == west.location_id)
    assert {e.data["organization_id"] for e in own.named("figure")} == {west.organization_id}


@pytest.fixture
def second_api(stack: StackConfig) -> Iterator[str]:
    port = stack.api_port + 7
    env = {**stack.service_env(), "API_PORT": str(port)}
    processes.start("api-2", [sys.executable, "-m", "api"], marker="-m api",
                    pid_dir=stack.pid_dir, log_dir=stack.log_dir, env=env, cwd=REPO_ROOT)
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        try:
            return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(healthy, timeout=60, what="the second API process")
        yield url
    finally:
        processes.stop(stack.pid_dir, "api-2", timeout=20.0)


def test_two_api_processes_serve_the_same_stream(
    platform: Platform, west: Site, listeners: list[Listener], second_api: str,
) -> None:
    zcv = platform.zcv(("west",))
    one = _listen(listeners, zcv, region="west", location=west.location_id)
    two = _listen(listeners, zcv, base_url=second_api, region="west",
                  location=west.location_id)
    start = datetime.now(UTC) - timedelta(minutes=10)
    for n in range(3):
        _push_seen(west, one, n, start + timedelta(seconds=n))
    wait_for(lambda: len(_staffed(two)) == 3, what="three figures on process two")
    assert [e.id for e in one.events] == [e.id for e in two.events]
    # A client resumes on the other process with the id the first one gave.
    two.close()
    push(west.client, west.location_id, {"numICUBeds": 9}, start + timedelta(seconds=9))
    wait_for(lambda: len(_staffed(one)) == 4, what="the fourth figure")
    resumed = _listen(listeners, zcv, base_url=second_api, region="west",
                      location=west.location_id, last_event_id=two.events[-1].id)
    wait_for(lambda: _staffed(resumed) == [9.0], what="the missed figure from process two")
