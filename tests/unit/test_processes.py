"""Starting and stopping by PID: nothing left behind, stale PID files never kill strangers."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import psutil
import pytest

from stack import processes


def test_start_then_stop_leaves_nothing_running(tmp_path: Path) -> None:
    argv = [sys.executable, "-c", "import time; time.sleep(60)", "sleeper-marker"]
    managed = processes.start("sleeper", argv, marker="sleeper-marker", pid_dir=tmp_path,
                              log_dir=tmp_path)
    assert managed.is_running()
    assert processes.stop(tmp_path, "sleeper", timeout=5)
    assert not managed.is_running()
    assert processes.find(tmp_path, "sleeper") is None


def test_a_process_ignoring_sigterm_is_killed(tmp_path: Path) -> None:
    code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"
    managed = processes.start("stubborn", [sys.executable, "-c", code, "stubborn-marker"],
                              marker="stubborn-marker", pid_dir=tmp_path, log_dir=tmp_path)
    assert processes.stop(tmp_path, "stubborn", timeout=0.5, first_signal=signal.SIGTERM)
    assert not managed.is_running()


def test_a_stale_pid_file_does_not_signal_another_process(tmp_path: Path) -> None:
    # Our own PID, but with a marker we do not carry: must be left alone.
    (tmp_path / "ghost.pid").write_text(f"{Path('/proc/self').resolve().name}\nnot-this\n")
    assert not processes.stop(tmp_path, "ghost", timeout=0.5)
    assert not (tmp_path / "ghost.pid").exists()


def test_a_process_showing_an_empty_command_line_counts_as_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    argv = [sys.executable, "-c", "import time; time.sleep(60)", "blank-marker"]
    managed = processes.start("blank", argv, marker="blank-marker", pid_dir=tmp_path,
                              log_dir=tmp_path)
    # What psutil reports while node rewrites its argv right after exec.
    monkeypatch.setattr(psutil.Process, "cmdline", lambda self: [])
    assert managed.is_running()
    monkeypatch.undo()
    assert processes.stop(tmp_path, "blank", timeout=5)
    assert not managed.is_running()


def test_a_stepped_system_clock_does_not_make_a_running_process_a_stranger(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Seen on a busy CI machine: the wall clock stepped 17 s, psutil's creation times (boot
    time + ticks) moved with it, and every running service looked like another process. The
    start is kept in ticks since boot, which no clock step moves."""
    argv = [sys.executable, "-c", "import time; time.sleep(60)", "clock-marker"]
    managed = processes.start("clock", argv, marker="clock-marker", pid_dir=tmp_path,
                              log_dir=tmp_path)
    found = processes.find(tmp_path, "clock")
    assert found == managed and managed.created is not None
    real_create_time = psutil.Process.create_time
    monkeypatch.setattr(psutil.Process, "create_time",
                        lambda self: real_create_time(self) + 17.0)
    assert found.is_running()
    monkeypatch.undo()
    assert processes.stop(tmp_path, "clock", timeout=5)
    assert not found.is_running()


def test_a_pid_file_of_an_older_stack_leaves_the_decision_to_the_marker(tmp_path: Path) -> None:
    # Its third line held a wall-clock creation time; this one is not ours to signal.
    own = Path("/proc/self").resolve().name
    (tmp_path / "old.pid").write_text(f"{own}\nnot-this\n1796647908.4\n")
    old = processes.find(tmp_path, "old")
    assert old is not None and old.created is None and not old.is_running()
