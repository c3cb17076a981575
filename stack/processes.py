"""Starting and stopping background processes by PID, leaving nothing behind.

Each process is started in its own session (process group) with its output in a log file, and
its PID is written next to a marker from its command line and the moment the process was
created, so a stale PID file never makes us signal an unrelated process that happens to reuse
the number. The creation time decides when it is known: a process may rewrite its command line
(faust's worker shows "[Faust:Worker] …"), and taking it for dead would start a second one.

That moment is counted from boot (clock ticks, `/proc/<pid>/stat`), not on the wall clock: a
process's wall-clock creation time is boot time plus those ticks, and boot time moves whenever
the system clock is stepped (NTP, a VM's clock sync). A step of 17 s on a busy CI machine made
every running service look like a stranger: the supervisor restarted them in a loop and the
stack's stop left them running.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil


@dataclass(frozen=True)
class Managed:
    """A process the stack started: its name, PID, command-line marker and creation time."""

    name: str
    pid: int
    marker: str
    created: float | None = None  # clock ticks since boot when it started (`_created`)

    def is_running(self) -> bool:
        """True while the PID is alive and still runs the command we started."""
        try:
            process = psutil.Process(self.pid)
            if process.status() == psutil.STATUS_ZOMBIE:
                return False
            if self.created is not None:
                return _created(self.pid) == self.created
            cmdline = process.cmdline()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return False
        # Just after exec a process can show an empty command line for a moment (node rewrites
        # its argv): it is alive and the PID is the one we started, so count it as running.
        return not cmdline or self.marker in " ".join(cmdline)


# The PID file's third line says how its fourth counts the start (a file of an older stack
# held a wall-clock time there: then the marker decides).
TICKS = "start: clock ticks since boot"


def _pid_file(pid_dir: Path, name: str) -> Path:
    return pid_dir / f"{name}.pid"


# Starts "$@" in a session of its own, in the background, and prints its PID: the shell
# exits at once, so the service is nobody's child here (its parent becomes init, which reaps
# it). A service killed while it is the child of a long-lived process would linger as a
# zombie, and PostgreSQL refuses to start while its old postmaster's PID still exists.
_DETACH = 'setsid "$@" >>"$ZC_LOG" 2>&1 </dev/null & echo $!'


def start(
    name: str, argv: Sequence[str], *, marker: str, pid_dir: Path, log_dir: Path,
    env: dict[str, str] | None = None, cwd: Path | None = None, user: str | None = None,
) -> Managed:
    """Start `argv` in the background, detached, logging to log_dir/name.log; record its PID.

    `marker` is a piece of the command line that identifies this process later.
    """
    pid_dir.mkdir(parents=True, exist_ok=True)
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / f"{name}.log"
    log.touch()
    if user is not None:
        shutil.chown(log, user)
    launched = subprocess.run(  # noqa: S603 - argv is ours, never user input
        ["/bin/sh", "-c", _DETACH, "sh", *argv], capture_output=True, text=True, check=True,
        env={**(env if env is not None else os.environ), "ZC_LOG": str(log)}, cwd=cwd,
        user=user)
    pid = int(launched.stdout.strip())
    managed = Managed(name, pid, marker, _created(pid))
    created = "" if managed.created is None else repr(managed.created)
    # Written whole or not at all: the supervisor and the tests read it while it is replaced.
    path = _pid_file(pid_dir, name)
    partial = path.with_suffix(".pid.partial")
    partial.write_text(f"{managed.pid}\n{managed.marker}\n{TICKS}\n{created}\n")
    partial.replace(path)
    return managed


def _created(pid: int) -> float | None:
    """When `pid` started, in clock ticks since boot (field 22 of /proc/<pid>/stat, after the
    command name, which may hold spaces and parentheses); None when it is gone (the marker then
    decides: it finds nothing)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return float(stat.rsplit(")", 1)[1].split()[19])


def find(pid_dir: Path, name: str) -> Managed | None:
    """The process recorded under `name`, if a PID file exists."""
    try:
        lines = _pid_file(pid_dir, name).read_text().splitlines()
    except FileNotFoundError:
        return None  # never started, or stopped
    created = float(lines[3]) if len(lines) > 3 and lines[2] == TICKS and lines[3] else None
    return Managed(name, int(lines[0]), lines[1], created)


def stop(pid_dir: Path, name: str, *, timeout: float = 15.0,
         first_signal: signal.Signals = signal.SIGTERM) -> bool:
    """Stop the process group of `name`: first_signal, then SIGKILL after `timeout`.

    Returns True when something was running. The PID file is removed either way.
    """
    managed = find(pid_dir, name)
    if managed is None:
        return False
    # The PID file goes first: the supervisor restarts a service whose file is there and whose
    # process is gone, and must not take this stop for a death.
    _pid_file(pid_dir, name).unlink(missing_ok=True)
    was_running = managed.is_running()
    if was_running:
        _signal_group(managed.pid, first_signal)
        if not _wait_gone(managed, timeout):
            _signal_group(managed.pid, signal.SIGKILL)
            _wait_gone(managed, 5.0)
    return was_running


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)


def _wait_gone(managed: Managed, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not managed.is_running():
            _reap(managed.pid)
            return True
        time.sleep(0.1)
    return False


def _reap(pid: int) -> None:
    # A child of this very process must be waited for, or it lingers as a zombie.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
