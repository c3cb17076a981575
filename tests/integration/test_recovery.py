"""Faults on the running stack while pushes stream in: every 202 is stored exactly once,
ingestion comes back without hands, and /healthz says what is down.

Each test kills one part with SIGKILL (the broker loses its in-memory log; PostgreSQL, the
worker and the API die mid-work) and lets the stack's supervisor start it again, as a
container runtime would. Exact checks: every accepted report's two figures are stored with
their values, nothing is stored that was not sent, and every accepted message is archived and
processed once. Two workers in one consumer group share the partitions.
"""

from __future__ import annotations

import os
import re
import signal
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest

from core.settings import REPO_ROOT
from core.topics import ingest_topic
from stack import lifecycle, processes
from stack.config import StackConfig
from stack.demo import location_resource
from tests.identities import Platform
from tests.integration.helpers import push
from tests.waiting import wait_for

ACCEPTED_AS = re.compile(r"accepted as message ([0-9a-f-]{36})")


@dataclass
class Pushes:
    """A stream of reports to one location, and what each push was answered."""

    client: httpx.Client
    location: str
    start: datetime
    accepted: dict[int, str] = field(default_factory=dict)  # report number -> message id
    failed: dict[int, str] = field(default_factory=dict)  # report number -> answer
    stop: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)

    def observed_at(self, n: int) -> datetime:
        """When report n says its figures were observed (each report its own moment)."""
        return self.start + timedelta(seconds=n)

    def run(self) -> None:
        """Push until stopped; a failed push is not retried (its figures may or may not land)."""
        n = 0
        while not self.stop.is_set():
            try:
                answer = push(self.client, self.location, {"numICUBeds": 40,
                                                           "numICUBedsOcc": n % 40},
                              self.observed_at(n))
                if answer.status_code == 202:
                    found = ACCEPTED_AS.search(answer.text)
                    assert found is not None, answer.text
                    self.accepted[n] = found.group(1)
                else:
                    self.failed[n] = f"{answer.status_code} {answer.text[:200]}"
            except httpx.HTTPError as exc:
                self.failed[n] = f"{type(exc).__name__}"
            n += 1
            time.sleep(0.02)
        self.finished.set()


@dataclass
class Health:
    """/healthz sampled every 0.1 s: (seconds since start, status, checks)."""

    url: str
    samples: list[tuple[float, int, dict[str, Any]]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        """Sample until stopped."""
        started = time.monotonic()
        while not self.stop.is_set():
            try:
                answer = httpx.get(f"{self.url}/healthz", timeout=3.0)
                self.samples.append((time.monotonic() - started, answer.status_code,
                                     answer.json()["checks"]))
            except httpx.HTTPError:
                self.samples.append((time.monotonic() - started, 0, {}))
            self.stop.wait(0.1)

    def said_down(self, part: str) -> bool:
        """Whether some sample answered 503 naming `part` as not ok."""
        return any(status == 503 and checks.get(part) not in (None, "ok")
                   for _, status, checks in self.samples)


@pytest.fixture
def location(platform: Platform) -> tuple[httpx.Client, str]:
    org, location_id = "org-recovery", f"loc-recovery-{uuid.uuid4().hex[:8]}"
    client = platform.provider(org, "Ziekenhuis Herstel")
    client.put(f"/fhir/Location/{location_id}", json=location_resource(
        location_id, org, "Ziekenhuis Herstel", "west", 52.16, 4.48)).raise_for_status()
    return client, location_id


@pytest.fixture
def pushes(location: tuple[httpx.Client, str], stack: StackConfig,
           ) -> Iterator[tuple[Pushes, Health]]:
    client, location_id = location
    stream = Pushes(client, location_id, datetime.now(UTC) - timedelta(days=1))
    health = Health(stack.api_url)
    threads = [threading.Thread(target=stream.run), threading.Thread(target=health.run)]
    for thread in threads:
        thread.start()
    try:
        yield stream, health
    finally:
        stream.stop.set()
        health.stop.set()
        for thread in threads:
            thread.join(30)


def kill(stack: StackConfig, name: str) -> None:
    """SIGKILL a service's process group; its PID file stays, so the supervisor restarts it."""
    managed = processes.find(stack.pid_dir, name)
    assert managed is not None and managed.is_running(), f"{name} is not running"
    os.killpg(managed.pid, signal.SIGKILL)


def _stored(db: psycopg.Connection[Any], location: str) -> dict[datetime, float]:
    rows = db.execute("SELECT observed_at, value FROM observation WHERE location_id = %s"
                      " AND definition = 'hospital.beds.ic.occupied'", (location,)).fetchall()
    return {row[0]: row[1] for row in rows}


def check_every_202_stored_once(stream: Pushes, db: psycopg.Connection[Any]) -> None:
    """Every accepted report stored with its values, nothing that was not sent, every accepted
    message archived and processed once."""
    sent = {stream.observed_at(n): float(n % 40) for n in (*stream.accepted, *stream.failed)}
    wanted = {stream.observed_at(n): float(n % 40) for n in stream.accepted}

    def all_stored() -> bool:
        return set(wanted) <= set(_stored(db, stream.location))

    wait_for(all_stored, timeout=120, what=f"{len(wanted)} accepted reports stored")
    stored = _stored(db, stream.location)
    assert set(stored) <= set(sent), "figures stored that were never sent"
    assert all(stored[moment] == value for moment, value in wanted.items())
    totals = db.execute("SELECT count(*) FROM observation WHERE location_id = %s"
                        " AND definition = 'hospital.beds.ic.staffed'",
                        (stream.location,)).fetchone()
    assert totals == (len(stored),)  # both figures of every stored report, each once
    ids = list(stream.accepted.values())
    archived = db.execute("SELECT count(*), count(processed_at) FROM raw_message"
                          " WHERE message_id = ANY(%s::uuid[])", (ids,)).fetchone()
    assert archived == (len(ids), len(ids))


def _running(stack: StackConfig, name: str) -> bool:
    managed = processes.find(stack.pid_dir, name)
    return managed is not None and managed.is_running()


def _says_down(stack: StackConfig, part: str) -> bool:
    try:
        answer = httpx.get(f"{stack.api_url}/healthz", timeout=5.0)
    except httpx.HTTPError:
        return False
    return answer.status_code == 503 and answer.json()["checks"].get(part) != "ok"


def run_fault(stack: StackConfig, stream: Pushes, name: str,
              health_part: str | None = None, hold_until_refused: bool = False) -> float:
    """Let pushes flow, kill `name`, wait for pushes to be accepted again; returns how many
    seconds after the kill the first push was accepted again. With `health_part`, the
    supervisor is held until /healthz has said that part is down (and, with
    `hold_until_refused`, until a push was refused): on a busy machine a quick restart could
    otherwise fall between two samples or two pushes."""
    wait_for(lambda: len(stream.accepted) >= 30, timeout=60, what="pushes before the fault")
    before = max(stream.accepted)
    supervisor = processes.find(stack.pid_dir, "supervisor")
    assert supervisor is not None and supervisor.is_running()
    if health_part is not None:
        os.kill(supervisor.pid, signal.SIGSTOP)
    try:
        kill(stack, name)
        if health_part is not None:
            wait_for(lambda: _says_down(stack, health_part), timeout=60,
                     what=f"/healthz naming the {health_part} down")
        if hold_until_refused:
            wait_for(lambda: bool(stream.failed), timeout=60, what="a push refused")
    finally:
        if health_part is not None:
            os.kill(supervisor.pid, signal.SIGCONT)
    killed = time.monotonic()
    wait_for(lambda: max(stream.accepted) > before + 20, timeout=90,
             what=f"pushes accepted again after the {name} was killed")
    back_after = time.monotonic() - killed
    wait_for(lambda: _running(stack, name), timeout=60, what=f"the {name} running again")
    stream.stop.set()
    # The push in flight is answered before anything is compared.
    assert stream.finished.wait(60), "the pushes did not stop"
    return back_after


def test_a_broker_that_loses_its_log_loses_no_accepted_report(
    stack: StackConfig, pushes: tuple[Pushes, Health], db: psycopg.Connection[Any],
) -> None:
    stream, health = pushes

    def log_seen() -> tuple[Any, ...] | None:
        return db.execute("SELECT topic_id, lost_at FROM broker_log").fetchone()

    # The reconciler knows the ingest topic's id before the kill: the new log's new id is the
    # loss signal that no race hides (streams/recovery.py).
    wait_for(lambda: log_seen() is not None, timeout=60, what="the ingest topic's id remembered")
    old_id, _ = log_seen() or (None, None)
    back_after = run_fault(stack, stream, "broker", health_part="broker")
    assert back_after < 45
    check_every_202_stored_once(stream, db)
    new_id, lost_at = log_seen() or (None, None)
    assert new_id != old_id and lost_at is not None
    wait_for(lambda: httpx.get(f"{stack.api_url}/healthz").status_code == 200, timeout=60,
             what="healthy again")


def test_a_database_killed_mid_write_loses_no_accepted_report(
    stack: StackConfig, pushes: tuple[Pushes, Health], db: psycopg.Connection[Any],
) -> None:
    stream, health = pushes
    run_fault(stack, stream, "postgres", health_part="database", hold_until_refused=True)
    assert stream.failed, "a database outage must refuse pushes (503), not accept them"
    assert all(reason.startswith(("503", "Read", "Remote")) for reason in stream.failed.values())
    assert health.said_down("database"), health.samples[-20:]
    with psycopg.connect(stack.database_url, autocommit=True) as fresh:
        check_every_202_stored_once(stream, fresh)


def test_a_killed_worker_loses_nothing_and_doubles_nothing(
    stack: StackConfig, pushes: tuple[Pushes, Health], db: psycopg.Connection[Any],
) -> None:
    stream, health = pushes
    run_fault(stack, stream, "streams")
    assert not stream.failed  # the API takes pushes while the worker is away
    check_every_202_stored_once(stream, db)
    assert all(status == 200 for _, status, _ in health.samples)  # the API was fine throughout


def test_a_killed_api_loses_no_accepted_report(
    stack: StackConfig, pushes: tuple[Pushes, Health], db: psycopg.Connection[Any],
) -> None:
    stream, _ = pushes
    back_after = run_fault(stack, stream, "api")
    assert back_after < 45
    check_every_202_stored_once(stream, db)


def _metrics(port: int) -> str:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    except httpx.HTTPError:
        return ""  # still starting


def _worker_metric(port: int, name: str, topic: str) -> float:
    text = _metrics(port)
    found = re.search(rf'^{name}{{topic="{re.escape(topic)}"}} (\S+)$', text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def _written(port: int) -> float:
    text = _metrics(port)
    found = re.search(r"^zc_observations_written_total (\S+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def test_two_workers_in_one_group_share_the_partitions(
    stack: StackConfig, platform: Platform, db: psycopg.Connection[Any], tmp_path: Any,
) -> None:
    topic = ingest_topic(lifecycle.platform_settings(stack))
    second_port = stack.worker_metrics_port + 1
    env = {**stack.service_env(), "WORKER_METRICS_PORT": str(second_port),
           "STREAMS_DATA_DIR": str(tmp_path / "streams-2")}
    processes.start("streams-2", [sys.executable, "-m", "streams"], marker="-m streams",
                    pid_dir=stack.pid_dir, log_dir=stack.log_dir, env=env, cwd=REPO_ROOT)
    try:
        ports = (stack.worker_metrics_port, second_port)

        def shared() -> bool:
            held = [_worker_metric(p, "zc_stream_partitions_assigned", topic) for p in ports]
            return all(h > 0 for h in held) and sum(held) == 6

        wait_for(shared, timeout=90, what="both workers holding ingest partitions")
        written_before = [_written(p) for p in ports]
        org = "org-two-workers"
        client = platform.provider(org, "Zorggroep Twee")
        locations = [f"loc-two-{uuid.uuid4().hex[:6]}-{i}" for i in range(12)]
        start = datetime.now(UTC) - timedelta(hours=2)
        for i, location_id in enumerate(locations):
            client.put(f"/fhir/Location/{location_id}", json=location_resource(
                location_id, org, f"Locatie {i}", "west", 52.1, 4.4)).raise_for_status()
            for n in range(5):
                push(client, location_id, {"numICUBedsAvail": n},
                     start + timedelta(minutes=n)).raise_for_status()
        count = ("SELECT count(*) FROM observation WHERE location_id = ANY(%s)")
        wait_for(lambda: db.execute(count, (locations,)).fetchone() == (60,), timeout=60,
                 what="60 figures stored by the two workers")
        gained = [_written(p) - before for p, before in zip(ports, written_before, strict=True)]
        assert all(g > 0 for g in gained), gained  # each worker wrote its partitions' share
    finally:
        processes.stop(stack.pid_dir, "streams-2", timeout=30.0)
    # The first worker takes over the second one's partitions.
    wait_for(lambda: _worker_metric(stack.worker_metrics_port, "zc_stream_partitions_assigned",
                                    topic) == 6, timeout=90, what="one worker holding all")
