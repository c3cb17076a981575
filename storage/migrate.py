"""Applies the SQL migrations in order, once each, under an advisory lock.

Run against any database, plain PostgreSQL or TimescaleDB: `python -m storage.migrate` (reads
DATABASE_URL). The storage path is decided once per database (see `decide_path`) and logged at
start-up as the `storage_path` event. Migration files:

- `NNNN_name.sql` runs on both paths;
- `NNNN_name.timescale.sql` / `NNNN_name.plain.sql` run only on that path, right after the common
  file of the same name (or on their own when there is none).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import psycopg
import structlog

from core.logs import configure_logging
from core.settings import get_settings
from storage.paths import PATHS, StoragePath
from storage.reference import seed_rav_regions

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# Any constant shared by all migrators; serialises concurrent start-ups.
LOCK_KEY = 727_001

log = structlog.get_logger()

Conn = psycopg.Connection[Any]


def variant_of(path: Path) -> StoragePath | None:
    """The path a migration file is for: None for a common file, else "timescale" / "plain"."""
    parts = path.name.split(".")
    if len(parts) == 2:
        return None
    if len(parts) == 3 and parts[1] in PATHS:
        return parts[1]
    raise ValueError(f"migration {path.name}: expected NNNN_name[.timescale|.plain].sql")


def ordered(paths: Iterable[Path]) -> list[Path]:
    """Migration files in run order: by name, each common file before its variants."""
    return sorted(paths, key=lambda p: (p.name.split(".")[0], variant_of(p) is not None))


def migration_name(path: Path) -> str:
    """The name recorded in schema_migration: the file name without `.sql`."""
    return path.name.removesuffix(".sql")


def pending(applied: set[str], storage_path: StoragePath) -> list[Path]:
    """Migration files for `storage_path` not yet applied, in run order."""
    return [
        p for p in ordered(MIGRATIONS.glob("*.sql"))
        if variant_of(p) in (None, storage_path) and migration_name(p) not in applied
    ]


def _recorded_path(conn: Conn) -> StoragePath | None:
    row = conn.execute("SELECT path FROM storage_path").fetchone()
    return None if row is None else row[0]


def _timescaledb_installs(conn: Conn) -> bool:
    available = conn.execute(
        "SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'").fetchone()
    if available is None:
        return False
    try:
        with conn.transaction():
            conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
    except psycopg.Error as exc:
        # Installed but not loadable (e.g. missing from shared_preload_libraries): say so loudly,
        # the platform still works on the plain path.
        log.warning("timescaledb_unusable", error=str(exc).strip())
        return False
    return True


def decide_path(conn: Conn) -> StoragePath:
    """The database's storage path: the recorded one, else decided now and recorded.

    A database never changes path: its earlier migrations were written for the recorded one.
    """
    conn.execute("CREATE TABLE IF NOT EXISTS storage_path ("
                 " path text NOT NULL CHECK (path IN ('timescale', 'plain')),"
                 " decided_at timestamptz NOT NULL DEFAULT now())")
    conn.execute("CREATE UNIQUE INDEX IF NOT EXISTS storage_path_one_row ON storage_path ((true))")
    recorded = _recorded_path(conn)
    if recorded is not None:
        log.info("storage_path", path=recorded, decided="earlier")
        return recorded
    chosen: StoragePath = "timescale" if _timescaledb_installs(conn) else "plain"
    conn.execute("INSERT INTO storage_path (path) VALUES (%s)", (chosen,))
    log.info("storage_path", path=chosen, decided="now")
    return chosen


def _apply(conn: Conn, storage_path: StoragePath) -> list[str]:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migration ("
        " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
    )
    applied = {row[0] for row in conn.execute("SELECT name FROM schema_migration")}
    done = []
    for path in pending(applied, storage_path):
        name = migration_name(path)
        with conn.transaction():
            conn.execute(path.read_text(encoding="utf-8").encode())
            conn.execute("INSERT INTO schema_migration (name) VALUES (%s)", (name,))
        log.info("migration_applied", migration=name)
        done.append(name)
    return done


def migrate(database_url: str) -> list[str]:
    """Apply every pending migration for the database's storage path; returns the names applied."""
    # No server-side prepared statements: the same code migrates PGlite (tests), which
    # serves them poorly, and a one-off run gains nothing from them.
    with psycopg.connect(database_url, autocommit=True, prepare_threshold=None) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        try:
            with conn.transaction():
                storage_path = decide_path(conn)
            done = _apply(conn, storage_path)
            with conn.transaction():
                seed_rav_regions(conn)
            return done
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))


def main() -> None:
    """CLI entry point."""
    settings = get_settings()
    configure_logging(settings.log_level, process="migrate")
    applied = migrate(settings.database_url)
    log.info("migrations_done", applied=applied)


if __name__ == "__main__":
    main()
