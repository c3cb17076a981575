"""End to end, on a stack of its own: pushes over HTTP (wrk) until the figures are stored.

`.bench/e2e/`: tansu, PostgreSQL, the stream worker and the API, all on this machine with the
load generator, as in the issue's measurements. Figures (written under `e2e`):

- **sse**: N clients (BENCH_SSE_CLIENTS, default 500) connected to /v1/stream, a figure pushed
  every 200 ms: stored -> event received p50 / p99 over every client and figure (bench/sse.py).
- **single**: single SANER MeasureReports flat out (wrk, 16 connections): reports accepted per
  second, and stored per second over the same window; the backlog left and how long it takes
  to drain.
- **latency**: push -> queryable (the figure in `latest_observation`, what the live queries
  read) for a probe report every 100 ms, under a background load paced at 10x and at 100x the
  national load (20 SANER reports/s, issue 9): p50 / p99.
- **batched**: VVT spreadsheets of 1,000 rows (2,000 figures each) flat out: figures stored per
  second end to end, next to a raw COPY of as many new rows into the same `observation` table
  in the same run (the ratio).
- **replay**: an archive of N hours (BENCH_REPLAY_HOURS, default 12) of the bench's 250 sites
  replayed with `streams.replay` after their figures were deleted: messages and figures per
  second until all are stored again, and the time one national day (17M figures) would take
  at that rate.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import psutil
import psycopg
import structlog
from prometheus_client.parser import text_string_to_metric_families

from adapters import map_raw
from bench.database import STATE_DIR
from bench.push import parse_wrk
from bench.sse import measure_fanout
from core.ingest import ingest_message, mapped_of
from core.messages import RawMessage
from core.settings import Settings
from stack import lifecycle, processes
from stack.config import StackConfig
from stack.credentials import access_token, read_credentials, register_client_over_api, signed_in
from stack.demo import location_resource, measure_report, organization_resource
from storage.jsonb import jsonb
from streams.replay import replay

log = structlog.get_logger()
E2E_DIR = STATE_DIR / "e2e"
HOSPITALS, VVT_SITES = 50, 200
CARE_TYPES = ("elv_low_complex", "elv_high_complex", "elv_palliative", "grz", "wlz_crisis")
FIGURES: dict[str, int | None] = {"numTotBeds": 900, "numbeds": 800, "numBedsOcc": 700,
                                  "numBedsAvail": 50,
           "numICUBeds": 40, "numICUBedsOcc": 30, "numICUBedsAvail": 8}
NATIONAL_REPORTS_PER_S = 20
SSE_CLIENTS = int(os.environ.get("BENCH_SSE_CLIENTS", "500"))
# One national day of figures (issue 9): what a replay after an outage has to get through.
NATIONAL_DAY_FIGURES = 17_000_000
ENV = (("RATE_LIMIT_PROVIDER", "1000000/1000000"), ("RATE_LIMIT_ZCV", "1000000/1000000"),
       ("LOG_LEVEL", "WARNING"))


def e2e_config() -> StackConfig:
    """The e2e bench's stack: its own state and ports."""
    return StackConfig(state_dir=E2E_DIR, broker_port=35692, postgres_port=35633,
                       api_port=38380, worker_metrics_port=39402, external_kafka=None,
                       external_database=None, extra_env=ENV)


def _wrk(url: str, script: Path, connections: int, seconds: int) -> dict[str, float]:
    done = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency",
                           "-s", str(script), url], capture_output=True, text=True,
                          timeout=seconds + 120, check=True)
    run = parse_wrk(done.stdout)
    return {"requests_per_s": run.requests_per_s, "p50_ms": run.p50_ms, "p99_ms": run.p99_ms}


def _lua_reports(path: Path, token: str, delay_ms: float | None = None) -> Path:
    """wrk script: SANER reports, each for one of the hospitals at a moment of its own."""
    body = json.dumps(measure_report("bench-h0", FIGURES, datetime(2026, 1, 1, tzinfo=UTC)))
    pacing = f"function delay() return {delay_ms} end" if delay_ms else ""
    path.write_text(f'''
counter = math.random(1, 1000000000)
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/fhir+json"
wrk.headers["Authorization"] = "Bearer {token}"
template = {json.dumps(body)}
{pacing}
request = function()
  counter = counter + 1
  local t = os.time() - 7200 + (counter % 7000)
  local stamp = os.date("!%Y-%m-%dT%H:%M:%S", t) .. string.format(".%06d+00:00", counter % 999983)
  local b = string.gsub(template, "2026%-01%-01T00:00:00%+00:00", stamp)
  b = string.gsub(b, "bench%-h0", "bench-h" .. (counter % {HOSPITALS}))
  return wrk.format(nil, nil, nil, b)
end
''')
    return path


def _lua_csv(path: Path, token: str) -> Path:
    """wrk script: the VVT organisation's spreadsheet, 1,000 rows, each request a new moment."""
    path.write_text(f'''
counter = math.random(1, 1000000000)
wrk.method = "POST"
wrk.headers["Content-Type"] = "text/csv"
wrk.headers["Authorization"] = "Bearer {token}"
types = {{"elv_low_complex", "elv_high_complex", "elv_palliative", "grz", "wlz_crisis"}}
request = function()
  counter = counter + 1
  local t = os.time() - 7200 + (counter % 7000)
  local stamp = os.date("!%Y-%m-%dT%H:%M:%S", t) .. string.format(".%06d+00:00", counter % 999983)
  local rows = {{"locatie;zorgsoort;beschikbaar;totaal;tijdstip"}}
  for site = 0, {VVT_SITES - 1} do
    for _, kind in ipairs(types) do
      rows[#rows + 1] = "bench-v" .. site .. ";" .. kind .. ";" .. (site % 5) .. ";20;" .. stamp
    end
  end
  return wrk.format(nil, nil, nil, table.concat(rows, "\\n") .. "\\n")
end
''')
    return path


def _count(config: StackConfig, sql: str, params: tuple[Any, ...] = ()) -> int:
    with psycopg.connect(config.database_url) as conn:
        row = conn.execute(sql, params).fetchone()
    return int(row[0]) if row else 0


def _observations(config: StackConfig) -> int:
    return _count(config, "SELECT count(*) FROM observation")


UNPROCESSED = "SELECT count(*) FROM raw_message WHERE processed_at IS NULL"


def _unprocessed(config: StackConfig) -> int:
    return _count(config, UNPROCESSED)


def _written(config: StackConfig) -> float:
    """The stream worker's count of observations written (its Prometheus counter): polled
    instead of counting rows, which would cost the database as much as the writes it times."""
    url = f"http://127.0.0.1:{config.worker_metrics_port}/metrics"
    with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 - loopback
        text = answer.read().decode()
    return sum(sample.value for family in text_string_to_metric_families(text)
               for sample in family.samples if sample.name == "zc_observations_written_total")


def _until_none_left(config: StackConfig, sql: str, what: str, every: float,
                     timeout: float = 1800.0) -> float:
    """Seconds until the count `sql` reads is zero, polled every `every` seconds."""
    started = time.monotonic()
    while _count(config, sql) > 0:
        if time.monotonic() - started > timeout:
            raise RuntimeError(f"{what} did not drain")
        time.sleep(every)
    return time.monotonic() - started


def _rollups_settled(config: StackConfig) -> float:
    """Seconds until the plain path's roll-up refresher has no touched bucket left (polled
    once a second: the count reads the whole queue)."""
    return _until_none_left(config, "SELECT count(*) FROM rollup_dirty", "the roll-up queue",
                            1.0)


def _drain(config: StackConfig) -> float:
    """Seconds until nothing accepted waits to be stored."""
    return _until_none_left(config, UNPROCESSED, "the backlog", 0.2)


def _register(config: StackConfig) -> tuple[str, str]:
    """The bench's hospitals and VVT sites, each organisation with its provider; their tokens."""
    credentials = read_credentials(config.admin_credentials)
    assert credentials is not None
    tokens = []
    with signed_in(config.api_url, credentials) as admin:
        for org, sector, prefix, count in (("bench-hospitals", "hospital", "bench-h", HOSPITALS),
                                           ("bench-vvt", "vvt", "bench-v", VVT_SITES)):
            admin.put(f"/fhir/Organization/{org}", json=organization_resource(
                org, org, "12345678")).raise_for_status()
            provider = register_client_over_api(admin, org, "provider")
            with signed_in(config.api_url, provider) as client:
                for n in range(count):
                    client.put(f"/fhir/Location/{prefix}{n}", json=location_resource(
                        f"{prefix}{n}", org, f"{org} {n}", "west", 52.1, 4.4, sector,
                    )).raise_for_status()
            tokens.append(access_token(config.api_url, provider))
    return tokens[0], tokens[1]


def _zcv_token(config: StackConfig) -> str:
    """A national coordination centre's token, for the stream's clients."""
    credentials = read_credentials(config.admin_credentials)
    assert credentials is not None
    with signed_in(config.api_url, credentials) as admin:
        zcv = register_client_over_api(admin, "bench-zcv", "zcv", [], True)
    return access_token(config.api_url, zcv)


# The stack's parts whose CPU a report costs (PID files of stack/processes.py).
PARTS = ("api", "streams", "broker", "postgres")


def _cpu_seconds(config: StackConfig) -> dict[str, float]:
    """CPU time used so far by each part, with its children (PostgreSQL's backends, the API's
    worker processes)."""
    used: dict[str, float] = {}
    for part in PARTS:
        managed = processes.find(config.pid_dir, part)
        if managed is None:
            continue
        try:
            root = psutil.Process(managed.pid)
            tree = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
        total = 0.0
        for process in tree:
            with contextlib.suppress(psutil.NoSuchProcess):
                times = process.cpu_times()
                total += times.user + times.system
        used[part] = total
    return used


def cpu_per_report(before: dict[str, float], after: dict[str, float],
                   reports: int) -> dict[str, float]:
    """CPU ms each part spent per stored report, and their sum: on a machine with n cores the
    stack cannot store more than n × 1000 ÷ total reports per second, however it is tuned
    around the parts. Measured on the process tree, so a busy machine changes it little."""
    spent = {part: round((after[part] - before.get(part, 0.0)) * 1000 / max(reports, 1), 3)
             for part in after}
    return {**spent, "total": round(sum(spent.values()), 3)}


def measure_single(config: StackConfig, token: str, seconds: int = 15) -> dict[str, Any]:
    """Single reports flat out: accepted and stored per second, the backlog and its drain, and
    what each report cost in CPU per part of the stack."""
    script = _lua_reports(E2E_DIR / "single.lua", token)
    before = _observations(config)
    cpu_before = _cpu_seconds(config)
    started = time.monotonic()
    load = _wrk(f"{config.api_url}/fhir/MeasureReport", script, 16, seconds)
    stored_in_window = _observations(config) - before
    window = time.monotonic() - started
    backlog = _unprocessed(config)
    drain = _drain(config)
    stored = _observations(config) - before
    cpu = cpu_per_report(cpu_before, _cpu_seconds(config), stored // len(FIGURES))
    return {"connections": 16, "seconds": seconds, "cpu_ms_per_report": cpu,
            "ceiling_reports_per_s": round((os.cpu_count() or 1) * 1000 / cpu["total"]),
            "accepted_reports_per_s": round(load["requests_per_s"], 1),
            "stored_reports_per_s": round(stored_in_window / len(FIGURES) / window, 1),
            "backlog_reports_at_end": backlog, "drain_seconds": round(drain, 1),
            "reports_stored": stored // len(FIGURES),
            "push_p50_ms": load["p50_ms"], "push_p99_ms": load["p99_ms"]}


class Probe:
    """Pushes one report every 100 ms and times each until its figure is queryable."""

    def __init__(self, config: StackConfig, token: str) -> None:
        self.config = config
        self.token = token
        self.latencies: list[float] = []
        self.stop = threading.Event()

    def run(self) -> None:
        """Until stopped."""
        import httpx

        location = "bench-h0"
        with httpx.Client(base_url=self.config.api_url, timeout=30,
                          headers={"Authorization": f"Bearer {self.token}"}) as client, \
                psycopg.connect(self.config.database_url, autocommit=True) as conn:
            while not self.stop.is_set():
                moment = datetime.now(UTC) + timedelta(microseconds=uuid.uuid4().int % 1000)
                sent = time.monotonic()
                answer = client.post("/fhir/MeasureReport", json=measure_report(
                    location, {"numICUBedsAvail": 3}, moment))
                if answer.status_code == 202:
                    self._await(conn, location, moment, sent)
                self.stop.wait(0.1)

    def _await(self, conn: psycopg.Connection[Any], location: str, moment: datetime,
               sent: float) -> None:
        deadline = sent + 60
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT 1 FROM observation WHERE location_id = %s AND observed_at = %s"
                " AND definition = 'hospital.beds.ic.available'", (location, moment)).fetchone()
            if row:
                self.latencies.append(time.monotonic() - sent)
                return
            time.sleep(0.005)


def measure_latency(config: StackConfig, token: str, times_national: int,
                    seconds: int = 20) -> dict[str, Any]:
    """Push -> queryable under background load paced at `times_national` x 20 reports/s."""
    rate = NATIONAL_REPORTS_PER_S * times_national
    connections = max(2, min(64, rate // 25))
    script = _lua_reports(E2E_DIR / f"paced-{times_national}.lua", token,
                          delay_ms=round(1000 * connections / rate, 1))
    probe = Probe(config, token)
    thread = threading.Thread(target=probe.run)
    thread.start()
    try:
        load = _wrk(f"{config.api_url}/fhir/MeasureReport", script, connections, seconds)
    finally:
        probe.stop.set()
        thread.join(90)
    _drain(config)
    ordered = sorted(probe.latencies)

    def pct(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)

    return {"load": f"{times_national}x national ({rate} reports/s asked)",
            "background_reports_per_s": round(load["requests_per_s"], 1),
            "probes": len(ordered), "push_to_queryable_p50_ms": pct(0.5),
            "push_to_queryable_p99_ms": pct(0.99)}


def _copy_rows(config: StackConfig, rows: int) -> float:
    """Rows per second of one COPY of `rows` new observations into `observation`."""
    now = datetime.now(UTC)
    message = uuid.uuid4()
    with psycopg.connect(config.database_url) as conn:
        started = time.perf_counter()
        with conn.cursor() as cur, cur.copy(
                "COPY observation (location_id, definition, observed_at, definition_version,"
                " value, received_at, provider, source_format, raw_message_id) FROM STDIN") as copy:
            for n in range(rows):
                copy.write_row((f"bench-copy-{n % 1000}", "hospital.beds.ic.available",
                                now - timedelta(seconds=n // 1000), 1, 3.0, now, "bench",
                                "bench", message))
        conn.commit()
        seconds = time.perf_counter() - started
        conn.execute("DELETE FROM observation WHERE provider = 'bench'")
        conn.commit()
    return rows / seconds


def measure_batched(config: StackConfig, token: str, seconds: int = 15) -> dict[str, Any]:
    """Spreadsheets of 2,000 figures flat out: stored per second end to end, against COPY."""
    script = _lua_csv(E2E_DIR / "csv.lua", token)
    before = _observations(config)
    started = time.monotonic()
    load = _wrk(f"{config.api_url}/v1/vvt/beds.csv", script, 2, seconds)
    _drain(config)
    elapsed = time.monotonic() - started
    stored = _observations(config) - before
    e2e = stored / elapsed
    copy = _copy_rows(config, max(stored, 100_000))
    return {"figures_per_request": 2 * len(CARE_TYPES) * VVT_SITES,
            "requests_per_s": round(load["requests_per_s"], 1), "figures_stored": stored,
            "seconds_until_stored": round(elapsed, 1),
            "stored_figures_per_s": round(e2e), "copy_rows_per_s": round(copy),
            "share_of_copy": round(e2e / copy, 3)}


def _day_archive(hours: float, end: datetime) -> list[RawMessage]:
    """`hours` of the bench's sites' messages: every hospital a SANER report and every VVT
    site its beds every 5 minutes."""
    messages = []
    slots = int(hours * 12)
    for slot in range(slots):
        moment = end - timedelta(minutes=5 * (slots - slot))
        for n in range(HOSPITALS):
            messages.append(RawMessage(
                message_id=uuid.uuid4(), source_format="fhir-r4/MeasureReport",
                sector="hospital", provider="bench-hospitals", location_id=f"bench-h{n}",
                received_at=moment, payload=measure_report(f"bench-h{n}", FIGURES, moment)))
        for n in range(VVT_SITES):
            beds = {kind: {"available": n % 5, "total": 20} for kind in CARE_TYPES}
            messages.append(RawMessage(
                message_id=uuid.uuid4(), source_format="json/vvt-beds", sector="vvt",
                provider="bench-vvt", location_id=f"bench-v{n}", received_at=moment,
                payload={"location": f"bench-v{n}", "observed_at": moment.isoformat(),
                         "beds": beds}))
    return messages


def _archive(config: StackConfig, messages: list[RawMessage]) -> None:
    """The archive as the API leaves it: each message with what its adapter made of it."""
    with psycopg.connect(config.database_url) as conn, conn.cursor() as cur, cur.copy(
            "COPY raw_message (message_id, received_at, source_format, sector, provider,"
            " location_id, payload, context, mapped, processed_at) FROM STDIN") as copy:
        for m in messages:
            result = map_raw(m)
            rows = mapped_of(ingest_message(m, result.observations, result.positions))
            copy.write_row((m.message_id, m.received_at, m.source_format, m.sector, m.provider,
                            m.location_id, jsonb(m.payload), jsonb({}), rows, m.received_at))


def measure_replay(config: StackConfig, hours: float) -> dict[str, Any]:
    """Replay `hours` of the archive after their figures were lost; the day at that rate."""
    end = datetime.now(UTC) - timedelta(days=2)
    messages = _day_archive(hours, end)
    _archive(config, messages)
    start = end - timedelta(hours=hours, minutes=1)
    settings = Settings(kafka_bootstrap_servers=config.kafka_bootstrap_servers,
                        database_url=config.database_url)
    _rollups_settled(config)  # the batched part's backlog is not the replay's
    written_before = _written(config)
    started = time.monotonic()
    sent = asyncio.run(replay(settings, start=start, end=end, location=None,
                              progress_to=StringIO()))
    window = "observed_at >= %s AND observed_at < %s"
    expected = len(FIGURES) * HOSPITALS * int(hours * 12) + 2 * len(CARE_TYPES) * VVT_SITES * int(
        hours * 12)

    def stored() -> int:
        return _count(config, f"SELECT count(*) FROM observation WHERE {window}"
                              " AND location_id LIKE 'bench-%%'", (start, end))

    while _written(config) - written_before < expected:
        if time.monotonic() - started > 3600:
            raise RuntimeError("the replay was not written")
        time.sleep(0.1)
    elapsed = time.monotonic() - started
    if stored() != expected:  # written is not yet stored: say so rather than time it
        raise RuntimeError(f"the replay wrote {expected} figures but {stored()} are stored")
    figures_per_s = expected / elapsed
    rollups = elapsed + _rollups_settled(config)
    return {"hours_replayed": hours, "messages": sent.sent, "figures": expected,
            "seconds": round(elapsed, 1), "rollups_caught_up_seconds": round(rollups, 1),
            "messages_per_s": round(len(messages) / elapsed),
            "figures_per_s": round(figures_per_s),
            "national_day_figures": NATIONAL_DAY_FIGURES,
            "national_day_minutes_at_this_rate": round(
                NATIONAL_DAY_FIGURES / figures_per_s / 60, 1)}


def measure_e2e(progress: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """Every end-to-end figure, on a fresh stack stopped afterwards."""
    config = e2e_config()
    lifecycle.down(config)
    shutil.rmtree(E2E_DIR, ignore_errors=True)
    try:
        lifecycle.up(config)
        hospitals, vvt = _register(config)
        results: dict[str, Any] = {}
        progress("single reports flat out")
        results["single"] = measure_single(config, hospitals)
        progress(f"SSE fan-out to {SSE_CLIENTS} clients")
        results["sse"] = measure_fanout(config, _zcv_token(config), hospitals, SSE_CLIENTS)
        progress("push -> queryable at 10x and 100x national load")
        results["latency"] = [measure_latency(config, hospitals, x) for x in (10, 100)]
        progress("batched spreadsheets against COPY")
        results["batched"] = measure_batched(config, vvt)
        hours = float(os.environ.get("BENCH_REPLAY_HOURS", "12"))
        progress(f"replay of {hours:g} h of a national day")
        results["replay"] = measure_replay(config, hours)
        return results
    finally:
        lifecycle.down(config)

