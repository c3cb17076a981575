"""Stopping the stream worker in the middle of a stream loses nothing and doubles nothing."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest

from stack import lifecycle, processes
from stack.config import StackConfig
from streams.app import DATABASE_APPLICATION
from tests.integration.helpers import (
    push,
    raw_count,
    stored_count,
    worker_committed_everything,
)
from tests.waiting import wait_for

REPORTS = 300
FIGURES_PER_REPORT = 2


def _worker_sessions(db: psycopg.Connection[Any]) -> int:
    """The stream worker's database sessions still open (a killed worker's end once the
    server has finished what they had sent, a COMMIT included)."""
    row = db.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                     (DATABASE_APPLICATION,)).fetchone()
    return int(row[0]) if row else 0


def _push_stream(provider: httpx.Client, location_id: str, t0: datetime,
                 sent: list[int]) -> None:
    for i in range(REPORTS):
        figures = {"numICUBeds": 400, "numICUBedsOcc": i % 400}
        push(provider, location_id, figures, t0 + timedelta(seconds=i)).raise_for_status()
        sent.append(i)
        time.sleep(0.01)  # pacing, not waiting: a steady stream the worker is stopped amid


@pytest.mark.parametrize("crash", [False, True], ids=["sigterm", "sigkill"])
def test_every_report_is_stored_exactly_once_across_a_worker_restart(
    crash: bool, stack: StackConfig, provider: httpx.Client, hospital: str,
    db: psycopg.Connection[Any],
) -> None:
    t0 = datetime.now(UTC) - timedelta(hours=1)
    sent: list[int] = []
    pusher = threading.Thread(target=_push_stream, args=(provider, hospital, t0, sent))
    pusher.start()
    try:
        wait_for(lambda: stored_count(db, hospital) >= 40, timeout=30, what="worker busy")
        lifecycle.stop_worker(stack, kill=crash)
        # A batch whose COMMIT the killed worker had sent is still written by the server.
        wait_for(lambda: _worker_sessions(db) == 0, timeout=30,
                 what="the stopped worker's database sessions to end")
        stored_while_down = stored_count(db, hospital)
        wait_for(lambda: len(sent) > REPORTS // 2, timeout=30, what="more pushes")
        assert stored_count(db, hospital) == stored_while_down  # really stopped
    finally:
        pusher.join()
        # Started again whatever happened above: a worker left down fails every later test.
        found = processes.find(stack.pid_dir, "streams")
        if found is None or not found.is_running():
            lifecycle.start_worker(stack)
    assert len(sent) == REPORTS  # the API kept accepting while the worker was down

    expected = REPORTS * FIGURES_PER_REPORT
    wait_for(lambda: stored_count(db, hospital) >= expected, timeout=90, what="all rows")
    # A batch stored but not yet committed would be delivered again: once every offset is
    # committed, nothing more can come, and a redelivery would have shown as an extra row.
    wait_for(lambda: worker_committed_everything(stack.kafka_bootstrap_servers), timeout=30,
             what="the worker to commit every ingest offset")
    assert stored_count(db, hospital) == expected
    assert raw_count(db, hospital) == REPORTS
    rows = db.execute(
        "SELECT observed_at, value FROM observation WHERE location_id = %s"
        " AND definition = 'hospital.beds.ic.occupied' ORDER BY observed_at", (hospital,),
    ).fetchall()
    assert [int(value) for _, value in rows] == [i % 400 for i in range(REPORTS)]
    assert [when for when, _ in rows] == [t0 + timedelta(seconds=i) for i in range(REPORTS)]
