"""Alert rules, their state, notifications and webhook deliveries (migration 0011)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import class_row

from core.alerts import AlertRule, Notification, Transition

Conn = psycopg.AsyncConnection[Any]
RULE_COLUMNS = ("id, owner_organization_id, name, kind, location_id, roaz_region, definition,"
                " operator, threshold, hysteresis, statuses, severity, webhook_url,"
                " webhook_secret")


@dataclass(frozen=True)
class NewRule:
    """A rule as its owner defines it."""

    owner_organization_id: str
    created_by: str
    name: str
    kind: str
    location_id: str | None
    roaz_region: str | None
    definition: str
    operator: str | None
    threshold: float | None
    hysteresis: float
    statuses: list[str] | None
    severity: str
    webhook_url: str | None
    webhook_secret: str | None


async def add_rule(conn: Conn, rule: NewRule) -> AlertRule:
    """Store a rule; returns it with its id."""
    fields = list(vars(rule))
    async with conn.cursor(row_factory=class_row(AlertRule)) as cur:
        await cur.execute(
            f"INSERT INTO alert_rule ({', '.join(fields)})"
            f" VALUES ({', '.join(f'%({f})s' for f in fields)}) RETURNING {RULE_COLUMNS}",
            vars(rule))
        row = await cur.fetchone()
    assert row is not None
    return row


async def rules_of(conn: Conn, organization: str) -> list[dict[str, Any]]:
    """An organisation's rules, with how their webhooks fare (secrets left out)."""
    async with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        await cur.execute(
            "SELECT r.id, r.name, r.kind, r.location_id, r.roaz_region, r.definition,"
            " r.operator, r.threshold, r.hysteresis, r.statuses, r.severity, r.webhook_url,"
            " r.created_by, r.created_at,"
            " count(d.delivered_at) AS webhooks_delivered,"
            " count(d.failed_at) AS webhooks_failed,"
            " count(*) FILTER (WHERE d.notification_id IS NOT NULL AND d.delivered_at IS NULL"
            "  AND d.failed_at IS NULL) AS webhooks_pending,"
            " (array_agg(d.last_error ORDER BY n.id DESC) FILTER (WHERE d.last_error IS NOT"
            "  NULL))[1] AS webhook_last_error"
            " FROM alert_rule r LEFT JOIN alert_notification n ON n.rule_id = r.id"
            " LEFT JOIN webhook_delivery d ON d.notification_id = n.id"
            " WHERE r.owner_organization_id = %s AND r.deleted_at IS NULL"
            " GROUP BY r.id ORDER BY r.id", (organization,))
        return await cur.fetchall()


async def delete_rule(conn: Conn, organization: str, rule_id: int) -> bool:
    """Retire an organisation's rule; False when it has no such rule."""
    cur = await conn.execute(
        "UPDATE alert_rule SET deleted_at = now() WHERE id = %s"
        " AND owner_organization_id = %s AND deleted_at IS NULL", (rule_id, organization))
    return cur.rowcount == 1


async def active_rules(conn: Conn) -> list[AlertRule]:
    """Every rule in force, for the alerts stage."""
    async with conn.cursor(row_factory=class_row(AlertRule)) as cur:
        await cur.execute(f"SELECT {RULE_COLUMNS} FROM alert_rule WHERE deleted_at IS NULL")
        return await cur.fetchall()


async def rules_version(conn: Conn) -> tuple[int, int]:
    """Changes when a rule is added or retired: (newest id, rules in force)."""
    cur = await conn.execute("SELECT coalesce(max(id), 0), count(*) FILTER (WHERE deleted_at"
                             " IS NULL) FROM alert_rule")
    row = await cur.fetchone()
    return (0, 0) if row is None else (int(row[0]), int(row[1]))


async def firing_states(conn: Conn, keys: list[tuple[int, str]]) -> dict[tuple[int, str], bool]:
    """Whether each (rule, subject) fires now, locked until the transaction ends."""
    if not keys:
        return {}
    cur = await conn.execute(
        "SELECT rule_id, subject, firing FROM alert_state WHERE (rule_id, subject) IN"
        " (SELECT * FROM unnest(%s::bigint[], %s::text[])) ORDER BY rule_id, subject"
        " FOR UPDATE", ([k[0] for k in keys], [k[1] for k in keys]))
    return {(row[0], row[1]): row[2] for row in await cur.fetchall()}


NOTIFICATION_SELECT = (
    "SELECT n.id, n.rule_id, r.name AS rule_name, r.owner_organization_id, r.kind,"
    " r.severity, n.state, n.message, n.location_id, n.roaz_region, n.definition, n.value,"
    " n.value_text, n.threshold, n.raised_at, n.acknowledged_at, n.acknowledged_by"
    " FROM alert_notification n JOIN alert_rule r ON r.id = n.rule_id"
)


async def record(conn: Conn, transitions: list[Transition]) -> list[Notification]:
    """Store the new states and their notifications (an event seen before raises nothing);
    webhook deliveries are queued for rules with a webhook."""
    raised: list[int] = []
    for t in transitions:
        await conn.execute(
            "INSERT INTO alert_state (rule_id, subject, firing, since) VALUES (%s, %s, %s, now())"
            " ON CONFLICT (rule_id, subject) DO UPDATE SET firing = EXCLUDED.firing,"
            " since = EXCLUDED.since", (t.rule.id, t.subject, t.firing))
        cur = await conn.execute(
            "INSERT INTO alert_notification (rule_id, subject, state, message, location_id,"
            " roaz_region, definition, value, value_text, threshold, source_event)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (rule_id, subject, source_event) DO NOTHING RETURNING id",
            (t.rule.id, t.subject, "firing" if t.firing else "cleared", t.message,
             t.location_id, t.roaz_region, t.rule.definition, t.value, t.value_text,
             t.rule.threshold, t.source_event))
        row = await cur.fetchone()
        if row is None:
            continue
        if t.rule.webhook_url:
            await conn.execute("INSERT INTO webhook_delivery (notification_id) VALUES (%s)",
                               (row[0],))
        raised.append(row[0])
    # Read back once for the whole batch, oldest first (the order they were raised in).
    return sorted(await notifications(conn, ids=raised), key=lambda n: n.id) if raised else []


async def notifications(conn: Conn, *, ids: list[int] | None = None,
                        organization: str | None = None, open_only: bool = False,
                        limit: int = 200) -> list[Notification]:
    """Notifications by id, or an organisation's newest (`open_only`: firing and still so)."""
    where = ["(%(ids)s::bigint[] IS NULL OR n.id = ANY(%(ids)s))",
             "(%(org)s::text IS NULL OR r.owner_organization_id = %(org)s)"]
    if open_only:
        where += ["n.state = 'firing'", "r.deleted_at IS NULL",
                  "EXISTS (SELECT 1 FROM alert_state s WHERE s.rule_id = n.rule_id AND"
                  " s.subject = n.subject AND s.firing)",
                  "NOT EXISTS (SELECT 1 FROM alert_notification later WHERE later.rule_id ="
                  " n.rule_id AND later.subject = n.subject AND later.id > n.id)"]
    async with conn.cursor(row_factory=class_row(Notification)) as cur:
        await cur.execute(f"{NOTIFICATION_SELECT} WHERE {' AND '.join(where)}"
                          " ORDER BY n.id DESC LIMIT %(limit)s",
                          {"ids": ids, "org": organization, "limit": limit})
        return await cur.fetchall()


async def acknowledge(conn: Conn, organization: str, notification_id: int,
                      by: str) -> Notification | None:
    """Acknowledge an organisation's notification (the first acknowledgement stands)."""
    await conn.execute(
        "UPDATE alert_notification n SET acknowledged_at = now(), acknowledged_by = %s"
        " FROM alert_rule r WHERE r.id = n.rule_id AND n.id = %s"
        " AND r.owner_organization_id = %s AND n.acknowledged_at IS NULL",
        (by, notification_id, organization))
    found = await notifications(conn, ids=[notification_id], organization=organization)
    return found[0] if found else None


async def region_value(conn: Conn, region: str, definition: str, rollup: str) -> float | None:
    """A region's roll-up of an item over its locations' latest reported figures: the sum
    (`sum`, `cumulative`) or the most recently observed (`latest`); None when none reported."""
    if rollup == "latest":
        sql = ("SELECT o.value FROM latest_observation o JOIN location l ON l.id = o.location_id"
               " WHERE l.roaz_region = %s AND o.definition = %s AND o.value IS NOT NULL"
               " ORDER BY o.observed_at DESC LIMIT 1")
    else:
        sql = ("SELECT sum(o.value) FROM latest_observation o JOIN location l"
               " ON l.id = o.location_id WHERE l.roaz_region = %s AND o.definition = %s")
    cur = await conn.execute(sql, (region, definition))
    row = await cur.fetchone()
    return None if row is None or row[0] is None else float(row[0])


@dataclass(frozen=True)
class DueDelivery:
    """A webhook delivery to try now."""

    notification_id: int
    attempts: int
    webhook_url: str
    webhook_secret: str


async def due_deliveries(conn: Conn, limit: int = 50) -> list[DueDelivery]:
    """Deliveries to try now, locked (other workers skip them) until the transaction ends."""
    async with conn.cursor(row_factory=class_row(DueDelivery)) as cur:
        await cur.execute(
            "SELECT d.notification_id, d.attempts, r.webhook_url, r.webhook_secret"
            " FROM webhook_delivery d JOIN alert_notification n ON n.id = d.notification_id"
            " JOIN alert_rule r ON r.id = n.rule_id"
            " WHERE d.delivered_at IS NULL AND d.failed_at IS NULL AND d.next_attempt_at <= now()"
            " ORDER BY d.next_attempt_at LIMIT %s FOR UPDATE OF d SKIP LOCKED", (limit,))
        return await cur.fetchall()


async def delivery_done(conn: Conn, notification_id: int, *, delivered: bool,
                        status: int | None, error: str | None, retry_in: float | None) -> None:
    """Record a try: delivered, to be tried again in `retry_in` s, or failed for good."""
    await conn.execute(
        "UPDATE webhook_delivery SET attempts = attempts + 1, last_status = %s,"
        " last_error = %s,"
        " delivered_at = CASE WHEN %s THEN now() END,"
        " failed_at = CASE WHEN NOT %s AND %s::float8 IS NULL THEN now() END,"
        " next_attempt_at = now() + make_interval(secs => coalesce(%s::float8, 0))"
        " WHERE notification_id = %s",
        (status, error, delivered, delivered, retry_in, retry_in, notification_id))


async def location_facts(conn: Conn, location_id: str) -> tuple[str, str] | None:
    """(organisation, ROAZ region) of a registered location."""
    cur = await conn.execute("SELECT organization_id, roaz_region FROM location WHERE id = %s",
                             (location_id,))
    row = await cur.fetchone()
    return None if row is None else (row[0], row[1])
