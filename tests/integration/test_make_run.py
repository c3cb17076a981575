"""`make run` (python -m stack run): a whole second stack, live figures, Ctrl-C leaves nothing."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx

from core.settings import REPO_ROOT
from tests.waiting import wait_for

PORTS = {"STACK_BROKER_PORT": 39092, "STACK_POSTGRES_PORT": 35432, "STACK_API_PORT": 38080,
         "STACK_WORKER_METRICS_PORT": 39102}


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _live_figures() -> int:
    try:
        body = httpx.get(f"http://127.0.0.1:{PORTS['STACK_API_PORT']}/v1/availability").json()
    except httpx.HTTPError:
        return 0
    return sum(len(location["figures"]) for location in body["locations"])


def test_run_shows_live_figures_and_ctrl_c_stops_everything(tmp_path: Path) -> None:
    env = {**os.environ, "STACK_STATE_DIR": str(tmp_path / "state"),
           **{k: str(v) for k, v in PORTS.items()}}
    env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    env.pop("DATABASE_URL", None)
    # Started with SIGINT ignored, as a shell starts a background job: Ctrl-C must still work.
    run = subprocess.Popen([sys.executable, "-m", "stack", "run"], cwd=REPO_ROOT, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    try:
        wait_for(_live_figures, timeout=90, what="demo figures from make run")
    finally:
        run.send_signal(signal.SIGINT)
        output, _ = run.communicate(timeout=90)
    assert "/v1/availability" in output and "stopped: api, streams, postgres, broker" in output
    assert run.returncode == 0
    assert not any(_listening(port) for port in PORTS.values())
    assert list((tmp_path / "state" / "pids").glob("*.pid")) == []
