"""Hostile and careless input on the running stack: every case is refused with the status, an
OperationOutcome naming the element and the rule, and nothing stored; one odd stored row
degrades only its own location; and the API keeps answering while the largest CSV it takes
is processed.

"Nothing stored" is checked in the archive and the history right after the refusal: a refused
message never reaches either (the archive row is written in the request's own transaction, only
for a message the broker took), so there is nothing to wait for.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import httpx
import psycopg
import pytest

from definitions import load_catalogue
from stack.demo import location_resource, measure_report
from tests.identities import Platform, Site
from tests.integration.helpers import all_figures_of, raw_count, stored_count
from tests.waiting import wait_for

FHIR_JSON = {"Content-Type": "application/fhir+json"}
JSON = {"Content-Type": "application/json"}
CSV = {"Content-Type": "text/csv; charset=utf-8"}
FIGURES = {"numTotBeds": 20, "numbeds": 10, "numBedsOcc": 5, "numBedsAvail": 5}
AVAILABLE = "hospital.beds.inpatient.available"
LPZ_MAPPING = {"departments": {"IC": "ic", "A3": "ward"}, "ignore": ["DAGBEH"]}
FIGURES_CODES = {str(load_catalogue().by_mapping("saner", code)) for code in FIGURES}
# The defaults of core/settings.py: the test stack runs with them.
BODY_LIMIT_BYTES = 512 * 1024
CSV_MAX_ROWS = 10_000


def refused(answer: httpx.Response, status: int, element: str) -> str:
    """The rule of the issue naming `element`, once the answer is `status` with an
    OperationOutcome."""
    assert answer.status_code == status, answer.text
    outcome = answer.json()
    assert outcome["resourceType"] == "OperationOutcome", outcome
    for issue in outcome["issue"]:
        if element in issue["expression"]:
            assert issue["severity"] == "error" and issue["diagnostics"]
            return str(issue["diagnostics"])
    raise AssertionError(f"no issue names {element}: {outcome['issue']}")


def nothing_stored(db: psycopg.Connection[Any], location_id: str) -> None:
    assert raw_count(db, location_id) == 0, "archived"
    assert stored_count(db, location_id) == 0, "stored"


def report(location_id: str, observed_at: datetime | None = None) -> dict[str, Any]:
    return measure_report(location_id, FIGURES, observed_at or datetime.now(UTC))


def post_fhir(client: httpx.Client, body: dict[str, Any] | bytes) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post("/fhir/MeasureReport", content=content, headers=FHIR_JSON)


def with_placeholder(body: dict[str, Any], placeholder: str, raw: str) -> bytes:
    """`body` as JSON with the string `placeholder` replaced by raw JSON text."""
    return json.dumps(body).replace(f'"{placeholder}"', raw).encode()


def lpz_csv(location_id: str, rows: list[str]) -> bytes:
    observed = datetime.now(UTC).isoformat()
    lines = [f"#location={location_id}", "afdeling;kamer;bed;status;tijdstip",
             *(f"{row};{observed}" for row in rows)]
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
def lpz_site(hospital_site: Site) -> Site:
    """`hospital_site` with its LPZ CSV mapping table registered."""
    hospital_site.client.put(f"/v1/mappings/{hospital_site.location_id}/csv/lpz-beds",
                             json=LPZ_MAPPING).raise_for_status()
    return hospital_site


# 1. Limits before work -------------------------------------------------------------------------

def test_a_body_past_its_limit_is_413_from_content_length(
    hospital_site: Site, db: psycopg.Connection[Any],
) -> None:
    body = report(hospital_site.location_id)
    body["identifier"] = [{"system": "urn:x", "value": "x" * 9_000} for _ in range(70)]
    answer = post_fhir(hospital_site.client, body)
    rule = refused(answer, 413, "body")
    assert "BODY_LIMIT_FHIR_BYTES" in rule and "Content-Length" in rule
    nothing_stored(db, hospital_site.location_id)


def test_a_streamed_body_is_refused_once_it_passes_the_limit(
    lpz_site: Site, db: psycopg.Connection[Any],
) -> None:
    def chunks() -> Iterator[bytes]:  # no Content-Length: sent chunked, 1 MiB in all
        yield f"#location={lpz_site.location_id}\nafdeling;kamer;bed;status;tijdstip\n".encode()
        for _ in range(256):
            yield b"IC;1;1;vrij;2026-11-22T13:45:02+01:00\n" * 100

    answer = lpz_site.client.post("/v1/hospital/lpz-beds.csv", content=chunks(), headers=CSV)
    assert "BODY_LIMIT_CSV_BYTES" in refused(answer, 413, "body")
    nothing_stored(db, lpz_site.location_id)


def test_a_csv_with_more_rows_than_the_limit_is_413(
    lpz_site: Site, db: psycopg.Connection[Any],
) -> None:
    rows = [f"IC;K{i};1;vrij" for i in range(CSV_MAX_ROWS - 1)]  # with its 2 heading lines
    answer = lpz_site.client.post("/v1/hospital/lpz-beds.csv",
                                  content=lpz_csv(lpz_site.location_id, rows), headers=CSV)
    assert "10,000 rows" in refused(answer, 413, f"row {CSV_MAX_ROWS + 1}")
    nothing_stored(db, lpz_site.location_id)


@pytest.mark.parametrize(("cell", "element", "words"), [
    ("k" * 1_025, "row 4, column kamer", "at most 1,024"),
    ("k" * 131_073, "row 4", "field limit"),  # the 128 KiB cell that was once a 500
])
def test_a_csv_cell_over_the_limit_is_400_naming_row_and_column(
    lpz_site: Site, db: psycopg.Connection[Any], cell: str, element: str, words: str,
) -> None:
    body = lpz_csv(lpz_site.location_id, ["IC;1;1;vrij", f'IC;"{cell}";2;vrij'])
    answer = lpz_site.client.post("/v1/hospital/lpz-beds.csv", content=body, headers=CSV)
    assert words in refused(answer, 400, element)
    nothing_stored(db, lpz_site.location_id)


@pytest.mark.parametrize(("method", "path", "content_type", "body"), [
    ("POST", "/v1/hospital/lpz-beds.csv", "application/json", b"{}"),
    ("POST", "/fhir/MeasureReport", "text/plain", b"{}"),
    ("PUT", "/v1/mobile-units/{unit}", None,
     b'{"kind": "hap-visit-car", "organization_id": "{org}", "label": "V1", '
     b'"roaz_region": "west"}'),
    ("PUT", "/v1/mappings/{location}/csv/lpz-beds", None, b'{"departments": {"IC": "ic"}}'),
    ("PUT", "/fhir/Location/{location}", "text/csv", b"{}"),
    ("POST", "/v1/hap/status", "application/json; charset=iso-8859-1", b"{}"),
])
def test_a_content_type_the_endpoint_does_not_take_is_415(
    hospital_site: Site, db: psycopg.Connection[Any], method: str, path: str,
    content_type: str | None, body: bytes,
) -> None:
    unit = f"hostile-car-{uuid.uuid4().hex[:8]}"
    names = {"unit": unit, "location": hospital_site.location_id,
             "org": hospital_site.organization_id}
    for name, value in names.items():
        path, body = path.replace(f"{{{name}}}", value), body.replace(f"{{{name}}}".encode(),
                                                                       value.encode())
    headers = {"Content-Type": content_type} if content_type else {}
    answer = hospital_site.client.request(method, path, content=body, headers=headers)
    refused(answer, 415, "Content-Type")
    nothing_stored(db, hospital_site.location_id)
    assert db.execute("SELECT count(*) FROM mobile_unit WHERE id = %s", (unit,)).fetchone() \
        == (0,)
    assert db.execute("SELECT count(*) FROM source_mapping WHERE location_id = %s",
                      (hospital_site.location_id,)).fetchone() == (0,)


def test_a_message_that_would_not_fit_the_broker_is_413_not_503(
    lpz_site: Site, db: psycopg.Connection[Any],
) -> None:
    # Within the body limit, but every quote doubles when the CSV travels as JSON text.
    quotes = '"' + '""' * 500 + '"'
    rows = [f"IC;{quotes};{bed};vrij" for bed in range(480)]
    body = lpz_csv(lpz_site.location_id, rows)
    assert len(body) < BODY_LIMIT_BYTES
    answer = lpz_site.client.post("/v1/hospital/lpz-beds.csv", content=body, headers=CSV)
    assert "INGEST_MESSAGE_MAX_BYTES" in refused(answer, 413, "body")
    nothing_stored(db, lpz_site.location_id)


# 2. Malformed input: 400/422 naming the element ---------------------------------------------

def test_json_nested_10000_deep_is_400(hospital_site: Site,
                                       db: psycopg.Connection[Any]) -> None:
    deep = report(hospital_site.location_id)
    deep["contained"] = "DEEP"
    body = with_placeholder(deep, "DEEP", "[" * 10_000 + "]" * 10_000)
    answer = post_fhir(hospital_site.client, body)
    assert "32 levels" in refused(answer, 400, "body")
    nothing_stored(db, hospital_site.location_id)


def test_nesting_past_the_depth_limit_is_named_where_it_happens(
    hospital_site: Site, db: psycopg.Connection[Any],
) -> None:
    body = report(hospital_site.location_id)
    nested: list[Any] = []
    for _ in range(32):
        nested = [nested]
    body["contained"] = nested  # 33 arrays, the outermost at the second level
    answer = post_fhir(hospital_site.client, body)
    refused(answer, 400, "MeasureReport.contained" + "[0]" * 31)
    nothing_stored(db, hospital_site.location_id)


@pytest.mark.parametrize("digits", [400, 5_000])
def test_huge_integers_are_400(hospital_site: Site, db: psycopg.Connection[Any],
                               digits: int) -> None:
    body = report(hospital_site.location_id)
    body["group"][0]["population"][0]["count"] = "HUGE"
    answer = post_fhir(hospital_site.client, with_placeholder(body, "HUGE", "7" * digits))
    rule = refused(answer, 400, "MeasureReport.group[0].population[0].count")
    assert f"{digits:,} characters" in rule
    nothing_stored(db, hospital_site.location_id)


def test_duplicate_json_keys_are_refused(hospital_site: Site,
                                         db: psycopg.Connection[Any]) -> None:
    body = json.dumps(report(hospital_site.location_id))
    body = body.replace('"status": "complete"', '"status": "complete", "status": "pending"')
    answer = post_fhir(hospital_site.client, body.encode())
    assert "more than once" in refused(answer, 400, "MeasureReport.status")
    status = {"location": hospital_site.location_id, "observed_at": datetime.now(UTC).isoformat()}
    sent = json.dumps(status).replace('"location"', '"location": "elsewhere", "location"')
    answer = hospital_site.client.post("/v1/hospital/seh-status", content=sent, headers=JSON)
    refused(answer, 400, "body.location")
    nothing_stored(db, hospital_site.location_id)


@pytest.mark.parametrize("text", ["\ud800", "a\udfffb", "\x00", "Bedden\x00IC"])
def test_nul_and_lone_surrogates_in_free_text_are_400(
    hospital_site: Site, db: psycopg.Connection[Any], text: str,
) -> None:
    body = report(hospital_site.location_id)
    body["group"][0]["code"]["text"] = text
    answer = post_fhir(hospital_site.client, json.dumps(body).encode())  # escaped as \\uXXXX
    rule = refused(answer, 400, "MeasureReport.group[0].code.text")
    assert "NUL" in rule or "surrogate" in rule
    nothing_stored(db, hospital_site.location_id)


def test_after_a_refused_nul_the_next_message_is_stored_alone(
    hospital_site: Site, zcv: httpx.Client, db: psycopg.Connection[Any],
) -> None:
    body = report(hospital_site.location_id)
    body["group"][0]["code"]["text"] = "Bedden\x00"
    refused(post_fhir(hospital_site.client, body), 400, "MeasureReport.group[0].code.text")
    assert post_fhir(hospital_site.client, report(hospital_site.location_id)).status_code == 202
    wait_for(lambda: all_figures_of(zcv, hospital_site.location_id, {AVAILABLE}),
             timeout=30, what="the good message's figures")
    assert raw_count(db, hospital_site.location_id) == 1


def test_nul_in_ids_and_names_is_400(hospital_site: Site, platform: Platform,
                                     db: psycopg.Connection[Any], api: httpx.Client) -> None:
    client, org = hospital_site.client, hospital_site.organization_id
    new_id = f"hostile-{uuid.uuid4().hex[:8]}"
    place = location_resource(new_id, org, "Ziekenhuis", "west", 52.1665, 4.4782)
    refused(client.put(f"/fhir/Location/{new_id}%00x", json=place), 400, "path")
    named = {**place, "name": "Zieken\x00huis"}
    refused(client.put(f"/fhir/Location/{new_id}", content=json.dumps(named).encode(),
                       headers=FHIR_JSON), 400, "Location.name")
    with_id = {**place, "id": f"{new_id}\x00"}
    refused(client.put(f"/fhir/Location/{new_id}", content=json.dumps(with_id).encode(),
                       headers=FHIR_JSON), 400, "Location.id")
    subject = report(f"{hospital_site.location_id}\x00")
    refused(post_fhir(client, subject), 400, "MeasureReport.subject.reference")
    # A tracker's unit id, with a device key and with the provider's token.
    refused(client.get("/osmand", params={"id": "car\x001", "lat": "52.1", "lon": "4.4"}),
            400, "id")
    refused(api.get("/osmand", params={"id": "car\x001", "lat": "52.1", "key": "k"}), 400, "id")
    unit = {"kind": "hap-visit-car", "organization_id": org, "label": "Visite\x00",
            "roaz_region": "west"}
    refused(client.put(f"/v1/mobile-units/{new_id}", json=unit), 400, "body.label")
    assert db.execute("SELECT count(*) FROM location WHERE id LIKE %s",
                      (f"{new_id}%",)).fetchone() == (0,)
    assert db.execute("SELECT count(*) FROM mobile_unit WHERE id = %s", (new_id,)).fetchone() \
        == (0,)
    nothing_stored(db, hospital_site.location_id)


@pytest.mark.parametrize(("latitude", "longitude", "name", "element", "words"), [
    (999, 4.4782, "Ziekenhuis", "Location.position.latitude", "outside the Netherlands"),
    (48.8566, 2.3522, "Ziekenhuis", "Location.position.latitude", "outside the Netherlands"),
    (4.4782, 52.1665, "Ziekenhuis", "Location.position.longitude", "outside the Netherlands"),
    (52.1665, 4.4782, "Z" * 201, "Location.name", "at most 200"),
])
def test_an_implausible_location_is_422(
    hospital_site: Site, db: psycopg.Connection[Any], latitude: float, longitude: float,
    name: str, element: str, words: str,
) -> None:
    new_id = f"hostile-{uuid.uuid4().hex[:8]}"
    place = location_resource(new_id, hospital_site.organization_id, name, "west", latitude,
                              longitude)
    answer = hospital_site.client.put(f"/fhir/Location/{new_id}", json=place)
    assert words in refused(answer, 422, element)
    assert db.execute("SELECT count(*) FROM location WHERE id = %s", (new_id,)).fetchone() \
        == (0,)


def test_a_mobile_unit_label_over_the_limit_is_422(hospital_site: Site,
                                                   db: psycopg.Connection[Any]) -> None:
    unit_id = f"hostile-car-{uuid.uuid4().hex[:8]}"
    answer = hospital_site.client.put(f"/v1/mobile-units/{unit_id}", json={
        "kind": "hap-visit-car", "organization_id": hospital_site.organization_id,
        "label": "V" * 201, "roaz_region": "west"})
    refused(answer, 422, "label")
    assert db.execute("SELECT count(*) FROM mobile_unit WHERE id = %s",
                      (unit_id,)).fetchone() == (0,)


@pytest.mark.parametrize(("element", "value"), [("national", 0), ("national", "true"),
                                                 ("regions", "oost")])
def test_a_json_value_of_another_type_than_the_schema_is_422_not_coerced(
    admin: httpx.Client, element: str, value: object,
) -> None:
    """Found by the fuzzer in CI: `"national": 0` registered a client (pydantic read 0 as
    false). A body value is taken only as the JSON type the document names."""
    organization = f"lax-{uuid.uuid4().hex[:8]}"
    body = {"organization": organization, "role": "zcv", "regions": ["oost"], "national": False}
    answer = admin.post("/v1/admin/clients", json={**body, element: value})
    refused(answer, 422, element)
    listed = admin.get("/v1/admin/clients", params={"organization": organization})
    assert listed.status_code == 200 and listed.json() == []


def test_figures_older_than_the_history_kept_are_422(hospital_site: Site,
                                                     db: psycopg.Connection[Any]) -> None:
    old = datetime.now(UTC) - timedelta(days=91)
    answer = post_fhir(hospital_site.client, report(hospital_site.location_id, old))
    assert "90 days" in refused(answer, 422, "MeasureReport.date")
    status = {"location": hospital_site.location_id, "observed_at": old.isoformat(),
              "seh": {"status": "open"}}
    answer = hospital_site.client.post("/v1/hospital/seh-status", json=status)
    assert "90 days" in refused(answer, 422, "body.observed_at")
    nothing_stored(db, hospital_site.location_id)


def test_a_measure_report_dated_year_1_is_422_and_the_region_still_answers(
    hospital_site: Site, zcv: httpx.Client, db: psycopg.Connection[Any],
) -> None:
    body = report(hospital_site.location_id)
    body["date"] = "0001-01-01T00:00:00+01:00"
    body["period"] = {"start": body["date"], "end": body["date"]}
    answer = post_fhir(hospital_site.client, body)
    assert "before 1900" in refused(answer, 422, "MeasureReport.date")
    nothing_stored(db, hospital_site.location_id)
    assert zcv.get("/v1/availability", params={"region": "west"}).status_code == 200
    answer = zcv.get("/v1/history", params={"definition": AVAILABLE, "region": "west",
                                            "from": "0001-01-01T00:00:00+01:00",
                                            "to": "0001-06-01T00:00:00+01:00"})
    refused(answer, 422, "from")


# Defence in depth: one odd stored row degrades one location ----------------------------------

def _location_of(answer: httpx.Response, location_id: str) -> dict[str, Any]:
    assert answer.status_code == 200, answer.text
    (found,) = [loc for loc in answer.json()["locations"] if loc["location_id"] == location_id]
    return dict(found)


def test_an_odd_stored_time_flags_its_location_and_the_region_still_answers(
    platform: Platform, zcv: httpx.Client, db: psycopg.Connection[Any],
) -> None:
    suffix = uuid.uuid4().hex[:8]
    provider = platform.provider(f"org-odd-{suffix}")
    sites = [f"odd-{suffix}", f"even-{suffix}"]
    for site in sites:
        place = location_resource(site, f"org-odd-{suffix}", f"Ziekenhuis {site}", "west",
                                  52.16, 4.48)
        provider.put(f"/fhir/Location/{site}", json=place).raise_for_status()
        assert post_fhir(provider, report(site)).status_code == 202
    for site in sites:
        wait_for(partial(all_figures_of, zcv, site, FIGURES_CODES), timeout=30,
                 what=f"{site}'s figures")
    # What the platform refuses today, written around it: 00:00 at +01:00 in year 1 is 1 BC
    # in UTC, which PostgreSQL keeps and Python cannot hold.
    db.execute("UPDATE latest_observation SET observed_at = '0001-01-01 00:00:00+01'"
               " WHERE location_id = %s AND definition = %s", (sites[0], AVAILABLE))
    try:
        for params in ({"region": "west"}, {"region": "west", "neighbours": "true"}, {}):
            answer = zcv.get("/v1/availability", params=params)
            odd = {f["definition"]: f for f in _location_of(answer, sites[0])["figures"]}
            flagged = odd[AVAILABLE]
            assert flagged["stale"] is True
            assert [f["rule"] for f in flagged["flags"]] == ["platform.observed-time-plausible"]
            assert flagged["observed_at"].startswith("0001-01-01")
            assert all(not f["flags"] for code, f in odd.items() if code != AVAILABLE)
            even = _location_of(answer, sites[1])["figures"]
            assert all(not f["flags"] and not f["stale"] for f in even)
        history = zcv.get("/v1/history", params={"definition": AVAILABLE, "region": "west",
                                                 "resolution": "raw"})
        assert history.status_code == 200, history.text
    finally:
        db.execute("DELETE FROM latest_observation WHERE location_id = %s", (sites[0],))



# The largest bodies: accepted, stored, and the API answering meanwhile -----------------------

WARD_BEDS = 3_500  # within the ward's range (at most 4,000): the other rows are day care


def max_size_csv(location_id: str) -> bytes:
    """An LPZ CSV at the row limit, each row padded so that the file is just under the body
    limit."""
    head = lpz_csv(location_id, [])
    observed = datetime.now(UTC).isoformat()
    rows = CSV_MAX_ROWS - 2
    length = (BODY_LIMIT_BYTES - len(head) - 64) // rows
    departments = ["A3" if i < WARD_BEDS else "DAGBEH" for i in range(rows)]
    return lpz_csv(location_id, [
        f"{dept};{str(i).zfill(length - len(f'{dept};;1;vrij;{observed}{chr(10)}'))};1;vrij"
        for i, dept in enumerate(departments)])


def test_the_api_answers_healthz_within_a_second_while_the_largest_csv_is_processed(
    lpz_site: Site, zcv: httpx.Client, api: httpx.Client,
) -> None:
    body = max_size_csv(lpz_site.location_id)
    assert BODY_LIMIT_BYTES * 0.98 < len(body) <= BODY_LIMIT_BYTES
    answers: list[httpx.Response] = []
    pusher = threading.Thread(target=lambda: answers.append(lpz_site.client.post(
        "/v1/hospital/lpz-beds.csv", content=body, headers=CSV, timeout=60)))
    timings = []
    pusher.start()
    while pusher.is_alive():
        started = time.monotonic()
        health = api.get("/healthz", timeout=5)
        timings.append(time.monotonic() - started)
        assert health.status_code == 200, health.text
    pusher.join()
    assert answers and answers[0].status_code == 202, answers[0].text if answers else None
    assert len(timings) >= 3, f"the push finished before /healthz was asked: {timings}"
    assert max(timings) < 1.0, timings
    # The largest CSV fits the broker and is stored.
    figures = wait_for(lambda: all_figures_of(zcv, lpz_site.location_id,
                                              {"hospital.beds.ward.total"}),
                       timeout=60, what="the largest CSV's figures")
    assert figures["hospital.beds.ward.total"]["value"] == WARD_BEDS


def test_the_largest_fhir_body_is_accepted_and_stored(hospital_site: Site, zcv: httpx.Client,
                                                      db: psycopg.Connection[Any]) -> None:
    body = report(hospital_site.location_id)
    body["identifier"] = [{"system": "urn:x", "value": "x" * 9_900} for _ in range(52)]
    size = len(json.dumps(body).encode())
    assert BODY_LIMIT_BYTES * 0.97 < size <= BODY_LIMIT_BYTES
    assert post_fhir(hospital_site.client, body).status_code == 202
    wait_for(lambda: all_figures_of(zcv, hospital_site.location_id, {AVAILABLE}), timeout=60,
             what="the largest MeasureReport's figures")
    assert raw_count(db, hospital_site.location_id) == 1


def test_no_hostile_case_was_an_unexpected_error(api: httpx.Client) -> None:
    metrics = api.get("/metrics").text
    found = re.search(r"^zc_unexpected_errors_total (\S+)$", metrics, re.MULTILINE)
    assert found is not None, "zc_unexpected_errors_total is not declared"
    assert float(found.group(1)) == 0.0
