"""Trust over HTTP on the running stack: who may call what, whose data a caller touches, which
regions a ZCV reads, revocation, tokens, device keys, rate limits and the audit trail.

The 401/403 matrix is generated from the app's own route table, so a new route is in it at once.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import psycopg
import pytest

from api.access import DeclaredRoute, DeviceAccess, Public, declared_routes
from api.app import create_app
from api.keys import read_keys
from core.settings import Settings
from stack import demo, postgres, processes
from stack.config import StackConfig
from tests.identities import Platform, token_of
from tests.integration.helpers import push, raw_count, stored_count
from tests.integration.sse import bearer
from tests.waiting import wait_for

ROUTES = [r for r in declared_routes(create_app(Settings())) if not isinstance(r.rules[0], Public)]
PATH_VALUES = {"resource_id": "matrix-x", "unit_id": "matrix-x", "location_id": "matrix-x",
               "client_id": "matrix-x", "source_format:path": "csv/lpz-beds",
               "rule_id": "999999", "alert_id": "999999"}


@dataclass(frozen=True)
class Caller:
    """One identity of the matrix: its role, and how it signs its requests."""

    role: str
    client: httpx.Client
    params: dict[str, str]


@dataclass(frozen=True)
class World:
    """Two hospital organisations (one in West, one in Noord-Nederland) and a visit car."""

    west_org: str
    west_location: str
    west: httpx.Client
    north_org: str
    north_location: str
    north: httpx.Client
    car: str
    car_key: str


def _hospital(platform: Platform, org: str, location: str, region: str,
              lat: float, lon: float) -> httpx.Client:
    client = platform.provider(org, f"Ziekenhuis {org}")
    client.put(f"/fhir/Location/{location}", json=demo.location_resource(
        location, org, f"Ziekenhuis {location}", region, lat, lon)).raise_for_status()
    return client


@pytest.fixture(scope="module")
def world(platform: Platform) -> World:
    suffix = uuid.uuid4().hex[:8]
    west = _hospital(platform, f"tw-org-{suffix}", f"tw-loc-{suffix}", "west", 52.16, 4.48)
    north = _hospital(platform, f"tn-org-{suffix}", f"tn-loc-{suffix}", "noord-nederland",
                      53.22, 6.57)
    car = f"tw-car-{suffix}"
    made = west.put(f"/v1/mobile-units/{car}", json={
        "kind": "hap-visit-car", "organization_id": f"tw-org-{suffix}", "label": "Visite",
        "roaz_region": "west"})
    assert made.status_code == 201, made.text
    return World(f"tw-org-{suffix}", f"tw-loc-{suffix}", west, f"tn-org-{suffix}",
                 f"tn-loc-{suffix}", north, car, made.json()["device_key"])


@pytest.fixture(scope="module")
def callers(world: World, platform: Platform, admin: httpx.Client,
            api: httpx.Client) -> dict[str, Caller]:
    return {"none": Caller("none", api, {}),
            "provider": Caller("provider", world.west, {}),
            "zcv": Caller("zcv", platform.zcv(("west",)), {}),
            "admin": Caller("admin", admin, {}),
            "device": Caller("device", api, {"key": world.car_key})}


def _call(caller: Caller, route: DeclaredRoute, method: str) -> httpx.Response:
    path = route.path
    for name, value in PATH_VALUES.items():
        path = path.replace(f"{{{name}}}", value)
    params = {**caller.params, "region": "west"} if method == "GET" else caller.params
    if route.path != "/v1/stream":
        return caller.client.request(method, path, params=params, content=b"{}",
                                     headers={"Content-Type": "application/json"})
    # Without the client's auth flow (it reads whole bodies) and streamed: an admitted
    # /v1/stream never ends, its status is the answer.
    with httpx.stream(method, f"{caller.client.base_url}{path}", params=params,
                      headers=bearer(caller.client)) as answer:
        if not answer.headers.get("content-type", "").startswith("text/event-stream"):
            answer.read()
        return answer


def _diagnostics(answer: httpx.Response) -> str:
    outcome = answer.json()
    assert outcome["resourceType"] == "OperationOutcome", answer.text
    return str(outcome["issue"][0]["diagnostics"])


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{'/'.join(sorted(r.methods))} "
                                                      f"{r.path}")
def test_the_access_matrix_of_every_route(route: DeclaredRoute,
                                          callers: dict[str, Caller]) -> None:
    rule = route.rules[0]
    for method in route.methods:
        anonymous = _call(callers["none"], route, method)
        assert anonymous.status_code == 401, anonymous.text
        assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
        assert "access token" in _diagnostics(anonymous)
        for role in ("provider", "zcv", "admin", "device"):
            answer = _call(callers[role], route, method)
            if role == "device" and not isinstance(rule, DeviceAccess):
                assert answer.status_code == 401, (role, answer.text)
            elif role in rule.roles:
                assert answer.status_code not in (401, 429), (role, answer.text)
                assert not (answer.status_code == 403
                            and _diagnostics(answer).startswith("role ")), (role, answer.text)
            else:
                assert answer.status_code == 403, (role, answer.text)
                assert _diagnostics(answer).startswith(f"role {role} may not"), answer.text


def _audit(admin: httpx.Client, **filters: str) -> list[dict[str, Any]]:
    answer = admin.get("/v1/admin/audit", params=filters)
    answer.raise_for_status()
    records: list[dict[str, Any]] = answer.json()
    return records


def _client_id(client: httpx.Client) -> str:
    token = token_of(client)
    assert token is not None
    return str(jwt.decode(token, options={"verify_signature": False})["sub"])


def test_a_provider_cannot_take_over_another_organisations_location(
    world: World, admin: httpx.Client,
) -> None:
    takeover = demo.location_resource(world.west_location, world.north_org, "Overgenomen",
                                      "noord-nederland", 53.2, 6.5)
    answer = world.north.put(f"/fhir/Location/{world.west_location}", json=takeover)
    assert answer.status_code == 403
    assert (f"Location/{world.west_location} belongs to Organization/{world.west_org}"
            in _diagnostics(answer))
    current = world.west.get(f"/fhir/Location/{world.west_location}").json()
    assert current["managingOrganization"]["reference"] == f"Organization/{world.west_org}"
    refused = wait_for(lambda: _audit(admin, client_id=_client_id(world.north),
                                      action="register Location", outcome="refused"),
                       timeout=10, what="the refused takeover in the audit trail")
    assert refused[0]["target"] == f"Location/{world.west_location}"
    assert refused[0]["status"] == 403 and "belongs to" in refused[0]["reason"]


def test_a_provider_cannot_push_for_another_organisation(
    world: World, admin: httpx.Client, db: psycopg.Connection[Any],
) -> None:
    answer = push(world.north, world.west_location, {"numICUBeds": 1, "numICUBedsAvail": 0})
    assert answer.status_code == 403
    assert f"belongs to Organization/{world.west_org}" in _diagnostics(answer)
    # Ownership is checked first: a stranger does not even learn the location's sector.
    wrong_sector = world.north.post("/v1/hap/status", json={
        "location": world.west_location, "observed_at": datetime.now(UTC).isoformat(),
        "triagists_on_duty": 1})
    assert wrong_sector.status_code == 403, wrong_sector.text
    # The owner's own push afterwards is the barrier: once it is stored, the refused one
    # would have been too.
    push(world.west, world.west_location, {"numICUBeds": 9}).raise_for_status()
    wait_for(lambda: stored_count(db, world.west_location) >= 1, timeout=20,
             what="the owner's figure")
    assert raw_count(db, world.west_location) == 1
    assert db.execute("SELECT count(*) FROM observation WHERE location_id = %s AND value = 1",
                      (world.west_location,)).fetchone() == (0,)
    refused = wait_for(lambda: _audit(admin, client_id=_client_id(world.north),
                                      action="push fhir-r4/MeasureReport"),
                       timeout=10, what="the refused push in the audit trail")
    assert refused[0]["outcome"] == "refused" and refused[0]["status"] == 403
    assert refused[0]["organization"] == world.north_org
    assert refused[0]["target"] == f"Location/{world.west_location}"


def test_a_provider_registers_units_mappings_and_services_only_for_itself(
    world: World,
) -> None:
    unit = {"kind": "hap-visit-car", "organization_id": world.west_org, "label": "x",
            "roaz_region": "west"}
    assert world.north.put(f"/v1/mobile-units/{world.car}", json={
        **unit, "organization_id": world.north_org}).status_code == 403
    assert world.north.put("/v1/mobile-units/tw-stolen", json=unit).status_code == 403
    assert world.north.post(f"/v1/mobile-units/{world.car}/device-key").status_code == 403
    mapping = {"departments": {"IC": "ic"}}
    assert world.north.put(f"/v1/mappings/{world.west_location}/csv/lpz-beds",
                           json=mapping).status_code == 403
    service = {"resourceType": "HealthcareService", "id": "tw-service", "active": True,
               "providedBy": {"reference": f"Organization/{world.north_org}"},
               "location": [{"reference": f"Location/{world.west_location}"}], "name": "SEH"}
    answer = world.north.put("/fhir/HealthcareService/tw-service", json=service)
    assert answer.status_code == 403 and world.west_location in _diagnostics(answer)
    assert world.north.get(f"/fhir/Location/{world.west_location}").status_code == 403
    # An organisation is registered by the platform's administrators, not by a provider.
    other = demo.organization_resource("tw-new-org", "Nieuw", "11111111")
    assert world.west.put("/fhir/Organization/tw-new-org", json=other).status_code == 403


def _locations(client: httpx.Client, **params: str) -> set[str]:
    answer = client.get("/v1/availability", params=params)
    answer.raise_for_status()
    return {loc["location_id"] for loc in answer.json()["locations"]}


def test_a_zcv_reads_its_regions_and_neighbours_not_the_rest(
    world: World, platform: Platform, db: psycopg.Connection[Any],
) -> None:
    push(world.west, world.west_location, {"numICUBedsAvail": 3}).raise_for_status()
    push(world.north, world.north_location, {"numICUBedsAvail": 4}).raise_for_status()
    wait_for(lambda: stored_count(db, world.north_location) >= 1, timeout=20, what="figures")
    west = platform.zcv(("west",))
    assert world.west_location in _locations(west, region="west")
    assert world.west_location in _locations(west, region="west", neighbours="true")
    assert west.get("/v1/availability", params={"region": "midden-nederland"}).status_code == 200
    for params in ({"region": "noord-nederland"}, {}, {"region": "zuidwest",
                                                       "neighbours": "true"}):
        answer = west.get("/v1/availability", params=params)
        assert answer.status_code == 403, (params, answer.text)
    assert "noord-nederland is not coordinated" in _diagnostics(
        west.get("/v1/busyness/regions", params={"region": "noord-nederland"}))
    assert west.get("/v1/history", params={"definition": "hospital.beds.ic.available",
                                           "location": world.north_location}).status_code == 403
    assert west.get("/v1/units", params={"region": "noord-nederland"}).status_code == 403
    # Nearest units to a point in Groningen: only units in West and its neighbours come back.
    nearest = west.get("/v1/units/nearest", params={"near": "53.22,6.57", "n": 100,
                                                    "available": "false", "kind": "ambulance"})
    assert nearest.status_code == 200
    readable = {"west", "noord-holland-flevoland", "midden-nederland", "zuidwest"}
    assert {u["roaz_region"] for u in nearest.json()} <= readable
    national = platform.zcv(national=True)
    assert {world.west_location, world.north_location} <= _locations(national)
    north = platform.zcv(("noord-nederland",))
    assert world.north_location in _locations(north, region="noord-nederland")


def test_a_provider_reads_only_its_own_figures(world: World,
                                               db: psycopg.Connection[Any]) -> None:
    push(world.west, world.west_location, {"numICUBedsAvail": 2}).raise_for_status()
    push(world.north, world.north_location, {"numICUBedsAvail": 5}).raise_for_status()
    wait_for(lambda: stored_count(db, world.north_location) >= 1, timeout=20, what="figures")
    assert _locations(world.west) == {world.west_location}
    assert _locations(world.north) == {world.north_location}
    answer = world.west.get("/v1/history", params={"definition": "hospital.beds.ic.available",
                                                   "region": "west"})
    assert answer.status_code == 403
    assert world.west.get("/v1/history", params={
        "definition": "hospital.beds.ic.available",
        "location": world.west_location}).status_code == 200


def test_a_revoked_client_is_refused_on_its_next_request(
    platform: Platform, admin: httpx.Client,
) -> None:
    client_id, client = platform.new_client("zcv-revoke", "zcv", ["west"])
    assert client.get("/v1/availability", params={"region": "west"}).status_code == 200
    token = token_of(client)
    revoked = admin.delete(f"/v1/admin/clients/{client_id}")
    assert revoked.status_code == 200 and revoked.json()["revoked"] is True
    answer = httpx.get(f"{client.base_url}/v1/availability", params={"region": "west"},
                       headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 401 and "revoked" in _diagnostics(answer)
    with pytest.raises(httpx.HTTPStatusError):  # and it gets no new token either
        client.get("/v1/availability", params={"region": "west"})
    listed = {c["client_id"]: c for c in admin.get("/v1/admin/clients").json()}
    assert listed[client_id]["revoked"] is True
    assert "client_secret" not in listed[client_id] and "secret_hash" not in listed[client_id]
    client.close()


def test_the_operators_command_line_manages_clients(
    stack: StackConfig, platform: Platform,
) -> None:
    env = {**os.environ, "DATABASE_URL": stack.database_url}

    def clients(*args: str) -> Any:
        done = subprocess.run([sys.executable, "-m", "api.clients", *args], env=env,
                              capture_output=True, text=True, timeout=60, check=True)
        return json.loads(done.stdout)

    made = clients("add", "--organization", "zcv-cli", "--role", "zcv", "--region", "west")
    assert made["regions"] == ["west"] and made["client_secret"]
    assert made["client_id"] in {c["client_id"] for c in clients("list")}
    token = httpx.post(f"{stack.api_url}/oauth/token", auth=(made["client_id"],
                                                             made["client_secret"]),
                       data={"grant_type": "client_credentials"}).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    read = httpx.get(f"{stack.api_url}/v1/availability", params={"region": "west"},
                     headers=headers)
    assert read.status_code == 200
    assert clients("revoke", made["client_id"])["revoked"] is True
    after = httpx.get(f"{stack.api_url}/v1/availability", params={"region": "west"},
                      headers=headers)
    assert after.status_code == 401


def _stack_token(stack: StackConfig, **claims: Any) -> str:
    key = max(read_keys(stack.keys_dir), key=lambda k: k.created_at)
    settings = Settings()
    now = datetime.now(UTC)
    body = {"iss": settings.auth_platform_issuer, "aud": settings.auth_audience,
            "sub": "zcv-forged", "org": "zcv-west", "role": "zcv", "regions": ["west"],
            "iat": int(now.timestamp()), "exp": int((now + timedelta(minutes=5)).timestamp()),
            **claims}
    return jwt.encode(body, key.private_key, algorithm="ES256", headers={"kid": key.kid})


def test_expired_tampered_and_unknown_tokens_get_401(stack: StackConfig, api: httpx.Client,
                                                     platform: Platform) -> None:
    zcv = platform.zcv(("west",))
    zcv.get("/v1/definitions").raise_for_status()
    token = token_of(zcv)
    assert token is not None
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["national"] = True  # a ZCV granting itself national reads
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    past = int((datetime.now(UTC) - timedelta(minutes=5)).timestamp())
    cases = {
        "expired": _stack_token(stack, sub=_client_id(zcv), exp=past),
        "signature": f"{header}.{forged_payload}.{signature}",
        # Signed with the platform's key, but for a client the platform never registered.
        "revoked": _stack_token(stack),
    }
    for expected, bad in cases.items():
        answer = api.get("/v1/definitions", headers={"Authorization": f"Bearer {bad}"})
        assert answer.status_code == 401, (expected, answer.text)
        assert expected in _diagnostics(answer)
        assert 'error="invalid_token"' in answer.headers["WWW-Authenticate"]


def test_the_token_endpoint_speaks_oauth(stack: StackConfig, platform: Platform,
                                         admin: httpx.Client) -> None:
    made = admin.post("/v1/admin/clients", json={"organization": "zcv-oauth", "role": "zcv",
                                                 "regions": ["west"]}).json()
    url = f"{stack.api_url}/oauth/token"
    good = httpx.post(url, auth=(made["client_id"], made["client_secret"]),
                      data={"grant_type": "client_credentials"})
    assert good.status_code == 200 and good.headers["Cache-Control"] == "no-store"
    body = good.json()
    assert body["token_type"] == "Bearer" and 0 < body["expires_in"] <= 3600
    assert body["scope"] == "capacity:read"
    wrong_grant = httpx.post(url, data={"grant_type": "password", "client_id": "x"})
    assert wrong_grant.status_code == 400 and wrong_grant.json()["error"] == (
        "unsupported_grant_type")
    wrong_secret = httpx.post(url, data={"grant_type": "client_credentials",
                                         "client_id": made["client_id"],
                                         "client_secret": "guess"})
    assert wrong_secret.status_code == 401 and wrong_secret.json()["error"] == "invalid_client"
    assert wrong_secret.json()["resourceType"] == "OperationOutcome"
    not_provider_org = admin.post("/v1/admin/clients", json={"organization": "nobody-here",
                                                             "role": "provider"})
    assert not_provider_org.status_code == 404
    no_region = admin.post("/v1/admin/clients", json={"organization": "zcv-x", "role": "zcv"})
    assert no_region.status_code == 422 and "region" in _diagnostics(no_region)


def test_a_key_rollover_publishes_two_keys_and_old_tokens_keep_working(
    stack: StackConfig, platform: Platform, api: httpx.Client,
) -> None:
    zcv = platform.zcv(("west",))
    zcv.get("/v1/definitions").raise_for_status()
    before = api.get("/.well-known/jwks.json").json()["keys"]
    env = {**os.environ, "AUTH_KEYS_DIR": str(stack.keys_dir)}
    subprocess.run([sys.executable, "-m", "api.keys", "rotate"], env=env, check=True,
                   capture_output=True, timeout=60)
    after = wait_for(lambda: [k for k in api.get("/.well-known/jwks.json").json()["keys"]
                              if k not in before], timeout=10, what="the new key published")
    assert len(after) == 1 and after[0]["alg"] == "ES256" and after[0]["kty"] == "EC"
    assert zcv.get("/v1/definitions").status_code == 200  # the old key still verifies
    fresh = platform.new_client("zcv-rollover", "zcv", ["west"])[1]
    assert fresh.get("/v1/definitions").status_code == 200
    token = token_of(fresh)
    # Within the publish lead the old key still signs: verifiers had time to fetch the new one.
    assert jwt.get_unverified_header(str(token))["kid"] == before[-1]["kid"]
    fresh.close()


def test_a_device_key_reports_only_its_own_unit(world: World, api: httpx.Client,
                                                db: psycopg.Connection[Any]) -> None:
    moment = int(datetime.now(UTC).timestamp()) - 30
    report = {"id": world.car, "lat": "52.16", "lon": "4.49", "timestamp": str(moment)}
    answer = api.get("/osmand", params={**report, "key": world.car_key})
    assert answer.status_code == 200, answer.text
    other = world.north.put("/v1/mobile-units/tn-car-x", json={
        "kind": "hap-visit-car", "organization_id": world.north_org, "label": "x",
        "roaz_region": "noord-nederland"})
    assert other.status_code in (200, 201)
    answer = api.get("/osmand", params={**report, "id": "tn-car-x", "key": world.car_key})
    assert answer.status_code == 403 and world.car in _diagnostics(answer)
    assert api.get("/osmand", params={**report, "key": "guessed"}).status_code == 401
    raw = wait_for(lambda: db.execute("SELECT payload::text FROM raw_message WHERE "
                                      "location_id = %s", (world.car,)).fetchall(),
                   timeout=20, what="the raw report")
    assert all(world.car_key not in row[0] for row in raw)


def test_a_revoked_device_key_is_refused(world: World, api: httpx.Client) -> None:
    unit = f"{world.car}-b"
    made = world.west.put(f"/v1/mobile-units/{unit}", json={
        "kind": "district-nurse", "organization_id": world.west_org, "label": "Wijk 2",
        "roaz_region": "west"})
    key = made.json()["device_key"]
    report = {"id": unit, "lat": "52.16", "lon": "4.49",
              "timestamp": str(int(datetime.now(UTC).timestamp()) - 10), "key": key}
    assert api.get("/osmand", params=report).status_code == 200
    assert world.west.delete(f"/v1/mobile-units/{unit}/device-key").json()["revoked"] == 1
    answer = api.get("/osmand", params=report)
    assert answer.status_code == 401 and "revoked" in _diagnostics(answer)


def test_a_tracker_that_floods_is_slowed_down_others_are_not(
    world: World, api: httpx.Client, platform: Platform,
) -> None:
    unit = f"{world.car}-flood"
    key = world.west.put(f"/v1/mobile-units/{unit}", json={
        "kind": "hap-visit-car", "organization_id": world.west_org, "label": "Flood",
        "roaz_region": "west"}).json()["device_key"]
    start = int(datetime.now(UTC).timestamp()) - 120
    answers = [api.get("/osmand", params={"id": unit, "lat": "52.1", "lon": "4.4",
                                          "timestamp": str(start + i), "key": key})
               for i in range(45)]
    throttled = [a for a in answers if a.status_code == 429]
    assert throttled, [a.status_code for a in answers]
    assert int(throttled[0].headers["Retry-After"]) >= 1
    assert throttled[0].json()["issue"][0]["code"] == "throttled"
    assert platform.zcv(("west",)).get("/v1/definitions").status_code == 200
    metrics = api.get("/metrics").text
    assert 'zc_rate_limited_total{role="device"}' in metrics


@pytest.fixture
def superuser(stack: StackConfig) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(stack.database_url, autocommit=True) as conn:
        yield conn


def _verify(stack: StackConfig) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "api.audit", "verify"], timeout=120,
                          env={**os.environ, "DATABASE_URL": stack.database_url},
                          capture_output=True, text=True)


def test_the_audit_trail_records_reads_and_verifies_and_a_changed_row_breaks_it(
    stack: StackConfig, world: World, platform: Platform, admin: httpx.Client,
    superuser: psycopg.Connection[Any],
) -> None:
    zcv = platform.zcv(("west",))
    zcv.get("/v1/availability", params={"region": "west", "sector": "hospital"},
            headers={"X-Request-ID": "trust-read-1"}).raise_for_status()
    read = wait_for(lambda: [r for r in _audit(admin, client_id=_client_id(zcv),
                                               action="read availability")
                             if r["request_id"] == "trust-read-1"], timeout=10, what="the read")
    mine = read[0]
    assert mine["target"] == "/v1/availability?region=west&sector=hospital"
    assert mine["outcome"] == "accepted" and mine["role"] == "zcv"
    assert mine["organization"] == "zcv-west"
    since = _audit(admin, outcome="refused", limit="5")
    assert since and all(r["outcome"] == "refused" for r in since)
    intact = _verify(stack)
    assert intact.returncode == 0 and "intact" in intact.stdout, intact.stdout + intact.stderr
    # Nobody changes the trail through SQL by mistake...
    with pytest.raises(psycopg.errors.RaiseException):
        superuser.execute("UPDATE audit_event SET outcome = 'accepted' WHERE seq = %s",
                          (mine["seq"],))
    # ...and a superuser who switches the guard off is caught by the chain.
    original = mine["target"]
    superuser.execute("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only")
    try:
        superuser.execute("UPDATE audit_event SET target = '/v1/availability?region=zwolle'"
                          " WHERE seq = %s", (mine["seq"],))
        broken = _verify(stack)
        assert broken.returncode == 1
        assert f"BROKEN at record {mine['seq']}" in broken.stdout
    finally:
        superuser.execute("UPDATE audit_event SET target = %s WHERE seq = %s",
                          (original, mine["seq"]))
        superuser.execute("ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only")
    assert _verify(stack).returncode == 0


def test_a_database_outage_is_a_503_with_an_operation_outcome(
    stack: StackConfig, platform: Platform,
) -> None:
    zcv = platform.zcv(("west",))
    zcv.get("/v1/definitions").raise_for_status()
    assert processes.stop(stack.pid_dir, "postgres", timeout=20.0, first_signal=signal.SIGINT)
    try:
        answer = zcv.get("/v1/availability", params={"region": "west"})
        assert answer.status_code == 503, answer.text
        assert answer.headers["Retry-After"] == "5"
        assert answer.json()["issue"][0]["code"] == "transient"
    finally:
        postgres.start(stack)
    wait_for(lambda: zcv.get("/v1/availability", params={"region": "west"}).status_code == 200,
             timeout=60, what="the API answering again after the database is back")
