"""Retention on the plain PostgreSQL path: deletes what TimescaleDB's retention policies drop.

On TimescaleDB the policies of migration 0005 drop whole chunks on their own schedule and this
module does nothing. On plain PostgreSQL, run it daily (cron, or by hand on the local stack):
`python -m storage.retention` (reads DATABASE_URL). The defaults are the same on both paths;
storage/README.md says how to change them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import structlog

from core.logs import configure_logging
from core.retention import OBSERVATION_RETENTION, POSITION_RETENTION, ROLLUP_5M_RETENTION
from core.settings import get_settings
from storage import audit
from storage.paths import current_path

log = structlog.get_logger()


@dataclass(frozen=True)
class Rule:
    """Rows of `relation` whose `time_column` is older than `keep` are deleted."""

    relation: str
    time_column: str
    keep: timedelta


# Keep in step with the add_retention_policy calls in 0005_timeseries.timescale.sql.
# observation_1h, latest_observation and latest_position are kept for good.
RULES = (
    Rule("observation", "observed_at", OBSERVATION_RETENTION),
    Rule("position", "observed_at", POSITION_RETENTION),
    Rule("observation_5m", "bucket", ROLLUP_5M_RETENTION),
)


def apply_retention(conn: psycopg.Connection[Any], now: datetime,
                    audit_keep: timedelta = timedelta(days=365)) -> dict[str, int]:
    """Delete rows past their retention, in the caller's transaction; returns rows per relation.

    The audit trail (kept `audit_keep`, AUDIT_RETENTION_DAYS) on both paths; the time series
    only on plain PostgreSQL: on TimescaleDB the retention policies do that.
    """
    conn.execute(audit.ALLOW_RETENTION)
    deleted = {"audit_event": conn.execute(audit.RETENTION,
                                           {"before": now - audit_keep}).rowcount}
    if current_path(conn) == "timescale":
        return deleted
    for rule in RULES:
        cur = conn.execute(
            f"DELETE FROM {rule.relation} WHERE {rule.time_column} < %s", (now - rule.keep,))
        deleted[rule.relation] = cur.rowcount
    return deleted


def main() -> None:
    """CLI entry point: apply retention to DATABASE_URL's database now."""
    settings = get_settings()
    configure_logging(settings.log_level, process="retention")
    with psycopg.connect(settings.database_url) as conn:
        path = current_path(conn)
        deleted = apply_retention(conn, datetime.now(UTC),
                                  timedelta(days=settings.audit_retention_days))
    log.info("retention_applied", storage_path=path, deleted=deleted)


if __name__ == "__main__":
    main()
