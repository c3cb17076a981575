"""Alert rules on the running stack: thresholds with hysteresis at a location and over a region's
roll-up, SEH stop, a feed falling silent, acknowledgement, scoping, and signed webhooks retried
against a local receiver."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from core.alerts import SIGNATURE_HEADER, verify
from stack.demo import location_resource
from tests.identities import Platform, Site
from tests.integration.helpers import push
from tests.integration.sse import Listener
from tests.integration.test_planning import ELV, _elv, _figure
from tests.integration.test_planning import _site as _planning_site
from tests.waiting import wait_for

AVAILABLE = "hospital.beds.ic.available"


def _site(platform: Platform, region: str = "west", org: str | None = None) -> Site:
    suffix = uuid.uuid4().hex[:8]
    org = org or f"org-alert-{suffix}"
    location = f"loc-alert-{suffix}"
    client = platform.provider(org, f"Ziekenhuis {suffix}")
    client.put(f"/fhir/Location/{location}", json=location_resource(
        location, org, f"Ziekenhuis {suffix}", region, 52.1, 4.4)).raise_for_status()
    return Site(location, org, client)


def _rule(client: httpx.Client, **rule: Any) -> dict[str, Any]:
    answer = client.post("/v1/alert-rules", json={"name": "test", **rule})
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


def _rule_refused(client: httpx.Client, **rule: Any) -> list[str]:
    """The elements a refused rule's OperationOutcome names."""
    answer = client.post("/v1/alert-rules", json={"name": "test", **rule})
    assert answer.status_code == 422, answer.text
    return [e for issue in answer.json()["issue"] for e in issue.get("expression", [])]


def _notifications(client: httpx.Client, rule_id: int) -> list[dict[str, Any]]:
    answer = client.get("/v1/alerts", params={"state": "all"})
    answer.raise_for_status()
    found = [a for a in answer.json()["alerts"] if a["rule_id"] == rule_id]
    return sorted(found, key=lambda a: a["id"])


def _states(client: httpx.Client, rule_id: int) -> list[tuple[str, Any]]:
    return [(a["state"], a["value"]) for a in _notifications(client, rule_id)]


def _push_available(site: Site, value: int, at: datetime) -> None:
    assert push(site.client, site.location_id, {"numICUBedsAvail": value}, at).status_code == 202


def _stored(client: httpx.Client, site: Site, value: int) -> bool:
    live = client.get("/v1/availability", params={"region": "west", "item": AVAILABLE})
    return any(f["value"] == value for loc in live.json()["locations"]
               if loc["location_id"] == site.location_id for f in loc["figures"])


def test_a_threshold_with_hysteresis_fires_and_clears_once(platform: Platform) -> None:
    site = _site(platform)
    rule = _rule(site.client, kind="threshold", location_id=site.location_id,
                 definition=AVAILABLE, operator="below", threshold=5, hysteresis=2)
    start = datetime.now(UTC) - timedelta(minutes=5)
    # 10 (ok) 3 (fires) 4 5 6 (hovering: still firing) 7 (clears) 4 (fires again)
    expected_after = {10: [], 3: [("firing", 3.0)], 6: [("firing", 3.0)],
                      7: [("firing", 3.0), ("cleared", 7.0)],
                      4: [("firing", 3.0), ("cleared", 7.0), ("firing", 4.0)]}
    values = [10, 3, 4, 5, 6, 7, 4]

    def states_are(want: list[tuple[str, float]]) -> bool:
        return _states(site.client, rule["id"]) == want

    for n, value in enumerate(values):
        _push_available(site, value, start + timedelta(seconds=n))
        wait_for(partial(_stored, site.client, site, value), what=f"{value} stored")
        if value in expected_after and (value != 4 or n == len(values) - 1):
            want = expected_after[value]
            wait_for(partial(states_are, want), timeout=20, what=f"notifications {want}")
    assert _states(site.client, rule["id"]) == expected_after[4]


def test_a_region_rollup_threshold_follows_the_sum_of_the_region(platform: Platform) -> None:
    zcv = platform.zcv(("zuidwest",))
    first, second = _site(platform, "zuidwest"), _site(platform, "zuidwest")
    live = zcv.get("/v1/availability", params={"region": "zuidwest", "item": AVAILABLE})
    before = sum(f["value"] or 0 for loc in live.json()["locations"] for f in loc["figures"]
                 if f["definition"] == AVAILABLE)
    rule = _rule(zcv, kind="threshold", roaz_region="zuidwest", definition=AVAILABLE,
                 operator="above", threshold=before + 15, hysteresis=2)
    now = datetime.now(UTC)
    _push_available(first, 10, now)
    wait_for(lambda: _notifications(zcv, rule["id"]) == [] and _region_sum(zcv) == before + 10,
             what="the first location counted")
    _push_available(second, 10, now)
    wait_for(lambda: _states(zcv, rule["id"]) == [("firing", before + 20.0)], timeout=20,
             what="the region above its threshold")
    _push_available(first, 0, now + timedelta(seconds=1))
    wait_for(lambda: _states(zcv, rule["id"]) == [("firing", before + 20.0),
                                                   ("cleared", before + 10.0)], timeout=20,
             what="the region back under its threshold")
    (alert,) = [a for a in _notifications(zcv, rule["id"]) if a["state"] == "cleared"]
    assert alert["roaz_region"] == "zuidwest" and alert["location_id"] is None


def _region_sum(zcv: httpx.Client) -> float:
    live = zcv.get("/v1/availability", params={"region": "zuidwest", "item": AVAILABLE})
    return float(sum(f["value"] or 0 for loc in live.json()["locations"]
                     for f in loc["figures"] if f["definition"] == AVAILABLE))


def test_an_seh_stop_raises_an_alert_on_the_stream_that_can_be_acknowledged(
    platform: Platform,
) -> None:
    zcv = platform.zcv(("west",))
    site = _site(platform)
    rule = _rule(zcv, kind="status", location_id=site.location_id,
                 definition="hospital.seh.status", severity="critical")
    listener = Listener(zcv, {"region": "west"}).open()
    try:
        now = datetime.now(UTC)
        status = {"location": site.location_id, "observed_at": now.isoformat(),
                  "seh": {"status": "stop", "reason": "no-beds",
                          "expected_end": (now + timedelta(hours=2)).isoformat()}}
        answer = site.client.post("/v1/hospital/seh-status", json=status)
        assert answer.status_code == 202, answer.text
        event = listener.wait("alert", lambda d: d["rule_id"] == rule["id"])
        assert (event.data["state"], event.data["value"]) == ("firing", "stop")
        listener.wait("status", lambda d: d["location_id"] == site.location_id
                      and d["value"] == "stop")
    finally:
        listener.close()
    open_alerts = zcv.get("/v1/alerts").json()["alerts"]
    (alert,) = [a for a in open_alerts if a["rule_id"] == rule["id"]]
    assert alert["severity"] == "critical" and "stop" in alert["message"]
    _, other = platform.new_client("zcv-other-west", "zcv", ["west"])
    assert other.post(f"/v1/alerts/{alert['id']}/acknowledge").status_code == 404
    done = zcv.post(f"/v1/alerts/{alert['id']}/acknowledge")
    assert done.status_code == 200, done.text
    assert done.json()["acknowledged_at"] is not None
    assert done.json()["acknowledged_by"]


def test_a_feed_that_falls_silent_raises_a_stale_alert_and_a_new_figure_clears_it(
    platform: Platform,
) -> None:
    site = _site(platform)
    rule = _rule(site.client, kind="stale", location_id=site.location_id,
                 definition="hospital.beds.ic")
    deadline = timedelta(minutes=15)  # hospital.beds.ic.available's freshness
    _push_available(site, 4, datetime.now(UTC) - deadline + timedelta(seconds=3))
    wait_for(lambda: _states(site.client, rule["id"]) == [("firing", None)], timeout=30,
             what="the stale alert")
    (alert,) = _notifications(site.client, rule["id"])
    assert "freshness deadline" in alert["message"] and alert["definition"] == "hospital.beds.ic"
    _push_available(site, 5, datetime.now(UTC))
    wait_for(lambda: [s for s, _ in _states(site.client, rule["id"])] == ["firing", "cleared"],
             timeout=30, what="the alert cleared by a fresh figure")


def test_rules_stay_within_what_the_owner_may_see(platform: Platform) -> None:
    west_zcv = platform.zcv(("west",))
    north = _site(platform, "noord-nederland")
    west = _site(platform, "west")
    outside = west_zcv.post("/v1/alert-rules", json={
        "name": "x", "kind": "threshold", "roaz_region": "noord-nederland",
        "definition": AVAILABLE, "operator": "below", "threshold": 1})
    assert outside.status_code == 403
    theirs = west.client.post("/v1/alert-rules", json={
        "name": "x", "kind": "stale", "location_id": north.location_id,
        "definition": AVAILABLE})
    assert theirs.status_code == 403
    nonsense = west.client.post("/v1/alert-rules", json={
        "name": "x", "kind": "threshold", "location_id": west.location_id,
        "definition": "hospital.seh.status", "operator": "below", "threshold": 1})
    assert nonsense.status_code == 422
    assert "not a number" in nonsense.json()["issue"][0]["diagnostics"]
    rule = _rule(west.client, kind="stale", location_id=west.location_id, definition=AVAILABLE)
    assert rule["id"] not in [r["id"] for r in north.client.get("/v1/alert-rules").json()]
    assert north.client.delete(f"/v1/alert-rules/{rule['id']}").status_code == 404
    assert west.client.delete(f"/v1/alert-rules/{rule['id']}").status_code == 204
    assert rule["id"] not in [r["id"] for r in west.client.get("/v1/alert-rules").json()]


class _Receiver(BaseHTTPRequestHandler):
    failures_left = 2
    received: list[tuple[dict[str, str], bytes]] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((dict(self.headers), body))
        failing = type(self).failures_left > 0
        type(self).failures_left -= 1
        self.send_response(500 if failing else 204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    _Receiver.failures_left, _Receiver.received = 2, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()


def test_a_webhook_is_signed_and_retried_until_delivered(platform: Platform,
                                                         receiver: str) -> None:
    site = _site(platform)
    rule = _rule(site.client, kind="threshold", location_id=site.location_id,
                 definition=AVAILABLE, operator="below", threshold=2, webhook_url=receiver)
    secret = rule["webhook_secret"]
    assert secret and secret not in site.client.get("/v1/alert-rules").text  # shown once
    _push_available(site, 1, datetime.now(UTC))
    wait_for(lambda: len(_Receiver.received) >= 3, timeout=60,
             what="two failed tries and a delivery")
    bodies = {body for _, body in _Receiver.received}
    assert len(bodies) == 1  # the same notification each time
    for headers, body in _Receiver.received:
        assert verify(secret, headers[SIGNATURE_HEADER], body), headers
        assert not verify("another secret", headers[SIGNATURE_HEADER], body)
    (sent,) = [httpx.Response(200, content=b).json() for b in bodies]
    assert (sent["rule_id"], sent["state"], sent["value"]) == (rule["id"], "firing", 1.0)

    def delivered() -> dict[str, Any] | None:
        rules = site.client.get("/v1/alert-rules").json()
        mine = next(r for r in rules if r["id"] == rule["id"])
        return mine if mine["webhooks_delivered"] == 1 else None

    shown = wait_for(delivered, timeout=20, what="the delivery recorded")
    assert shown["webhooks_failed"] == 0 and shown["webhooks_pending"] == 0


def test_a_providers_system_learns_of_a_hold_by_webhook(platform: Platform,
                                                        receiver: str) -> None:
    """A planning rule: a new request at the provider's location fires (its webhook is
    called, signed), and the request's close clears it."""
    _Receiver.failures_left = 0
    vvt = _planning_site(platform, "vvt")
    rule = _rule(vvt.client, kind="planning", location_id=vvt.location_id,
                 definition="planning.hold", webhook_url=receiver)
    assert _rule_refused(vvt.client, kind="planning", location_id=vvt.location_id,
                         definition="planning.everything") == ["definition"]
    zcv = platform.zcv(("west",))
    _elv(vvt, 1)
    wait_for(lambda: (_figure(zcv, vvt, ELV) or {}).get("value") == 1, what="ELV stored")
    held = zcv.post("/v1/holds", json={"location_id": vvt.location_id,
                                       "category": "vvt.beds.elv_low_complex",
                                       "reason": "ELV after a fall"})
    assert held.status_code == 201, held.text
    sent = wait_for(lambda: [httpx.Response(200, content=body).json()
                             for _, body in _Receiver.received], timeout=60,
                    what="the webhook of the new hold")
    assert (sent[0]["rule_id"], sent[0]["state"]) == (rule["id"], "firing")
    assert f"(Task/{held.json()['id']}) is hold requested" in sent[0]["message"]
    headers, body = _Receiver.received[0]
    assert verify(rule["webhook_secret"], headers[SIGNATURE_HEADER], body)
    declined = vvt.client.post(f"/v1/holds/{held.json()['id']}/decline",
                               json={"reason": "no staff tonight"})
    assert declined.status_code == 200, declined.text
    wait_for(lambda: len(_Receiver.received) >= 2, timeout=60, what="the webhook of the close")
    closed = httpx.Response(200, content=_Receiver.received[1][1]).json()
    assert (closed["state"], closed["rule_id"]) == ("cleared", rule["id"])
    assert _states(vvt.client, rule["id"]) == [("firing", "hold requested"),
                                               ("cleared", "hold rejected")]
