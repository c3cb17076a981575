"""Applies the SQL migrations in order, once each, under an advisory lock.

Run against any database: `python -m storage.migrate` (reads DATABASE_URL).
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import structlog

from core.logs import configure_logging
from core.settings import get_settings
from storage.reference import seed_rav_regions

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# Any constant shared by all migrators; serialises concurrent start-ups.
LOCK_KEY = 727_001

log = structlog.get_logger()


def pending(applied: set[str]) -> list[Path]:
    """Migration files not yet applied, in order."""
    return [p for p in sorted(MIGRATIONS.glob("*.sql")) if p.stem not in applied]


def migrate(database_url: str) -> list[str]:
    """Apply every pending migration; returns the names applied."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migration ("
                " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            applied = {row[0] for row in conn.execute("SELECT name FROM schema_migration")}
            done = []
            for path in pending(applied):
                with conn.transaction():
                    conn.execute(path.read_text(encoding="utf-8").encode())
                    conn.execute("INSERT INTO schema_migration (name) VALUES (%s)", (path.stem,))
                log.info("migration_applied", migration=path.stem)
                done.append(path.stem)
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
