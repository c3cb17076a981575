"""`make run` (python -m stack run): a whole second stack, live figures, Ctrl-C leaves nothing.

It prints a ZCV token (of region West) and an admin token; the ZCV token reads West's demo
figures and is refused a region it does not coordinate."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, TypeVar

import httpx
import pytest

from core.settings import REPO_ROOT
from tests.waiting import wait_for

# Below Linux's ephemeral range (32768-60999): a port there can be taken at any moment by the
# local end of some connection (on a busy CI machine the broker found 39092 in use).
PORTS = {"STACK_BROKER_PORT": 28092, "STACK_POSTGRES_PORT": 28432, "STACK_API_PORT": 28080,
         "STACK_WORKER_METRICS_PORT": 28102}
API = f"http://127.0.0.1:{PORTS['STACK_API_PORT']}"
DEMO_HOSPITAL_WEST = "lumc-leiden"
T = TypeVar("T")


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


class Output:
    """What `make run` prints, read as it comes (it keeps printing the logs until stopped)."""

    def __init__(self, stream: IO[str]) -> None:
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._reader.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.append(line)

    def exported(self, name: str) -> str | None:
        """The value of a printed `export NAME=value`, once it has been printed."""
        for line in list(self.lines):
            found = re.search(rf"export {name}=(\S+)", line)
            if found:
                return found.group(1)
        return None

    def awaited(self, probe: Callable[[], T | None], what: str) -> T:
        """`wait_for(probe)`; on time-out the failure shows what make run printed last."""
        try:
            found = wait_for(probe, timeout=90, what=what)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\nmake run printed last:\n"
                                 + "".join(self.lines[-80:])) from None
        assert found is not None
        return found

    def text(self) -> str:
        """Everything printed, once the process has closed its output."""
        self._reader.join(timeout=30)
        assert not self._reader.is_alive(), "make run's output was not closed"
        return "".join(self.lines)


def _west(token: str) -> dict[str, Any] | None:
    """West's live availability as the ZCV reads it, once the demo hospital has figures."""
    try:
        answer = httpx.get(f"{API}/v1/availability", params={"region": "west"},
                           headers={"Authorization": f"Bearer {token}"})
    except httpx.HTTPError:
        return None
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    shown = any(location["location_id"] == DEMO_HOSPITAL_WEST and location["figures"]
                for location in body["locations"])
    return body if shown else None


@pytest.fixture
def state_dir() -> Iterator[Path]:
    """The stack's state, outside pytest's temporary folder: PostgreSQL runs as another user
    and must reach its data folder, while every pytest session that starts on the machine (a
    `make mutation` beside `make test`) makes /tmp/pytest-of-<user> private again (seen: initdb
    failed)."""
    folder = Path(tempfile.mkdtemp(prefix="zc-make-run-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_run_shows_live_figures_and_ctrl_c_stops_everything(state_dir: Path) -> None:
    env = {**os.environ, "STACK_STATE_DIR": str(state_dir / "state"),
           **{k: str(v) for k, v in PORTS.items()}}
    env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    env.pop("DATABASE_URL", None)
    # Started with SIGINT ignored, as a shell starts a background job: Ctrl-C must still work.
    run = subprocess.Popen([sys.executable, "-m", "stack", "run"], cwd=REPO_ROOT, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    assert run.stdout is not None
    output = Output(run.stdout)
    try:
        token = output.awaited(lambda: output.exported("ZCV_TOKEN"),
                               "the ZCV token printed by make run")
        west = output.awaited(lambda: _west(token), "West's demo figures read by the ZCV")
        assert west["regions"] == ["west"]
        assert sum(len(location["figures"]) for location in west["locations"]) > 0
        # Region West's ZCV does not coordinate Noord-Nederland (nor a neighbour of West).
        refused = httpx.get(f"{API}/v1/availability", params={"region": "noord-nederland"},
                            headers={"Authorization": f"Bearer {token}"})
        assert refused.status_code == 403, refused.text
        issue = refused.json()["issue"][0]
        assert issue["code"] == "forbidden" and issue["expression"] == ["region"]
        # Without the token, nothing is read.
        assert httpx.get(f"{API}/v1/availability",
                         params={"region": "west"}).status_code == 401
    finally:
        run.send_signal(signal.SIGINT)
        try:
            run.wait(timeout=90)
        except subprocess.TimeoutExpired:
            run.kill()
            raise
    text = output.text()
    assert "/v1/availability" in text
    assert f"ZCV console        {API}/console" in text
    assert "stopped: supervisor, api, streams, forecast, postgres, broker" in text
    assert text.index("Look at:") < text.index("Tokens") < text.index("export ZCV_TOKEN=")
    assert output.exported("ADMIN_TOKEN")
    assert run.returncode == 0
    assert not any(_listening(port) for port in PORTS.values())
    assert list((state_dir / "state" / "pids").glob("*.pid")) == []
