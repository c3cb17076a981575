"""Every Prometheus metric of the platform, declared once with its help text.

Label sets are bounded: source formats, sectors, reasons and stages are small closed sets.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

MESSAGES_RECEIVED = Counter(
    "zc_messages_received_total",
    "Provider messages received over HTTP, before validation.",
    ["source_format"],
)
MESSAGES_REJECTED = Counter(
    "zc_messages_rejected_total",
    "Messages refused, at the API (4xx) or in the streams (dead-lettered), by reason.",
    ["stage", "reason"],
)
MESSAGE_WARNINGS = Counter(
    "zc_message_warnings_total",
    "Warnings on accepted messages: parts not stored (unknown codes, future-stamped positions)"
    " and broken warn rules between figures (business-rule), by issue type.",
    ["source_format", "code"],
)
MESSAGES_PRODUCED = Counter(
    "zc_messages_produced_total",
    "Messages acknowledged by the broker (acks=all), per topic.",
    ["topic"],
)
MESSAGES_CONSUMED = Counter(
    "zc_messages_consumed_total",
    "Messages taken from a topic by a stream agent.",
    ["topic"],
)
OBSERVATIONS_WRITTEN = Counter(
    "zc_observations_written_total",
    "Canonical observations upserted into the store (replays count again).",
)
POSITIONS_WRITTEN = Counter(
    "zc_positions_written_total",
    "Positions of mobile units stored (a repeated report of the same moment stores nothing).",
)
POSITION_DUPLICATES = Counter(
    "zc_position_duplicates_total",
    "Position reports dropped because the same unit and moment was stored before.",
)
SINK_BATCH_SECONDS = Histogram(
    "zc_sink_batch_seconds",
    "Time to upsert one batch of observations, in one transaction.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
SINK_WRITE_RETRIES = Counter(
    "zc_sink_write_retries_total",
    "Failed batch writes that were retried (the batch is never acknowledged unwritten).",
)
END_TO_END_LATENCY = Histogram(
    "zc_end_to_end_latency_seconds",
    "From receipt by the API to the observation being stored.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
)
LAST_WRITE_TIMESTAMP = Gauge(
    "zc_sink_last_write_timestamp_seconds",
    "Unix time of the last successful batch write.",
)
UNEXPECTED_ERRORS = Counter(
    "zc_unexpected_errors_total",
    "Requests the API answered 500 because something unexpected failed (a bug: every refusal "
    "of bad input is a 4xx); each is logged as unexpected_error with its request id.",
)
ACCESS_REFUSED = Counter(
    "zc_access_refused_total",
    "Requests refused for who sent them: 401 (no valid token), 403 (not allowed), 429 (rate "
    "limit), by the caller's role ('none' without a valid token).",
    ["status", "role"],
)
RATE_LIMITED = Counter(
    "zc_rate_limited_total",
    "Requests answered 429 because the client exceeded its role's token bucket.",
    ["role"],
)
TOKENS_ISSUED = Counter(
    "zc_tokens_issued_total",
    "Access tokens issued by POST /oauth/token, by role.",
    ["role"],
)
AUDIT_WRITTEN = Counter(
    "zc_audit_records_written_total",
    "Audit records appended to the hash-chained trail.",
)
AUDIT_BUFFERED = Gauge(
    "zc_audit_records_buffered",
    "Audit records waiting in this process to be written (grows while the database is away).",
)
AUDIT_DROPPED = Counter(
    "zc_audit_records_dropped_total",
    "Audit records dropped because the buffer was full (the database away for very long).",
)
ALERTS_RAISED = Counter(
    "zc_alert_notifications_total",
    "Notifications raised by alert rules (firing or cleared).",
)
WEBHOOK_DELIVERIES = Counter(
    "zc_webhook_deliveries_total",
    "Tries to deliver a notification to its rule's webhook: delivered, retry (failed, tried "
    "again later), failed (every try failed; the owner sees it on GET /v1/alert-rules).",
    ["outcome"],
)
STREAM_CLIENTS = Gauge(
    "zc_stream_clients",
    "Clients connected to /v1/stream on this API process.",
)
STAGE_HALTS = Counter(
    "zc_stage_halts_total",
    "Stream stages that halted the worker before acknowledging a batch (a bug, or dead letters "
    "beyond the stage's limit).",
    ["stage"],
)
MESSAGES_RECONCILED = Counter(
    "zc_messages_reconciled_total",
    "Archived messages sent to the ingest topic again because the broker lost them.",
    ["reason"],
)
BROKER_LOG_LOSSES = Counter(
    "zc_broker_log_losses_total",
    "Times the ingest topic's log was found shorter than before (a broker lost messages).",
)
ROLLUP_BUCKETS_REFRESHED = Counter(
    "zc_rollup_buckets_refreshed_total",
    "5-minute buckets recomputed by the plain path's roll-up refresher.",
)
ROLLUP_BACKLOG = Gauge(
    "zc_rollup_backlog_buckets",
    "Touched 5-minute buckets waiting for the plain path's roll-up refresher.",
)
LIVE_STATE_MARKS_REFRESHED = Counter(
    "zc_live_state_marks_refreshed_total",
    "Marks of written locations whose live documents the refresher rewrote (one mark per "
    "writing statement).",
)
LIVE_STATE_BACKLOG = Gauge(
    "zc_live_state_backlog_marks",
    "Marks of written locations waiting for the live-state refresher (live queries compute "
    "those locations' figures on the spot meanwhile).",
)
LIVE_STATE_LAG = Gauge(
    "zc_live_state_lag_seconds",
    "Age of the oldest mark waiting for the live-state refresher (0 when none waits).",
)
PRODUCER_RESETS = Counter(
    "zc_producer_resets_total",
    "Times the API's Kafka producer was recreated after a fatal error.",
)
PARTITIONS_ASSIGNED = Gauge(
    "zc_stream_partitions_assigned",
    "Partitions of each topic this stream worker holds (workers in one group share them).",
    ["topic"],
)
TIMER_FAILURES = Counter(
    "zc_stream_timer_failures_total",
    "Rounds of a stream worker's timer (reconcile, refresh-rollups, refresh-live-state, ...) "
    "that failed and wait for the next round.",
    ["timer"],
)

# Labelled metrics have no series until their first sample, and a halt exits the worker before
# the next scrape would see it: start the known stages and timers at 0 (streams/store.py,
# streams/lsiv.py, streams/app.py), so that the dashboard and alerts always have a series and
# increase() counts the first event.
for _outcome in ("delivered", "retry", "failed"):
    WEBHOOK_DELIVERIES.labels(outcome=_outcome)
for _stage in ("store", "lsiv", "alerts"):
    STAGE_HALTS.labels(stage=_stage)
for _reason in ("log lost", "overtaken", "waited"):
    MESSAGES_RECONCILED.labels(reason=_reason)
for _timer in ("reconcile", "refresh-rollups", "refresh-live-state", "stale-watcher",
               "webhooks", "planning"):
    TIMER_FAILURES.labels(timer=_timer)
PLANNING_REQUESTS = Counter(
    "zc_planning_requests_total",
    "Planning requests (kind: appointment, hold, visit) by the provider's sector and what"
    " became of them: requested, conflict (refused 409: the slot or place was taken),"
    " accepted, declined, cancelled, completed, expired.",
    ["kind", "sector", "outcome"],
)
PLANNING_ANSWER_SECONDS = Histogram(
    "zc_planning_answer_seconds",
    "Time from a planning request to the provider's answer (accepted or declined).",
    ["kind", "sector"],
    buckets=(5, 15, 30, 60, 120, 300, 600, 900, 1800, 3600),
)
PLANNING_OPEN_REQUESTS = Gauge(
    "zc_planning_open_requests",
    "Planning requests waiting for the provider's answer now (from the database, by the"
    " stream worker).",
    ["kind", "sector"],
)
PLANNING_OLDEST_OPEN_SECONDS = Gauge(
    "zc_planning_oldest_open_request_seconds",
    "Age of the oldest planning request still waiting for the provider's answer; 0 when none.",
    ["kind", "sector"],
)
PLANNING_EVENTS_SENT = Counter(
    "zc_planning_events_sent_total",
    "Planning events sent from the outbox to the events topic.",
)
PLANNING_OUTCOMES = ("requested", "conflict", "accepted", "declined", "cancelled", "completed",
                     "expired")


def declare_planning(pairs: list[tuple[str, str]]) -> None:
    """Give every (kind, sector) the planning module serves its series before the first
    request (a panel's increase() then counts the first one); pairs from
    definitions/planning.py `metric_pairs`."""
    for kind, sector in pairs:
        for outcome in PLANNING_OUTCOMES:
            PLANNING_REQUESTS.labels(kind=kind, sector=sector, outcome=outcome)
        PLANNING_ANSWER_SECONDS.labels(kind=kind, sector=sector)
        PLANNING_OPEN_REQUESTS.labels(kind=kind, sector=sector)
        PLANNING_OLDEST_OPEN_SECONDS.labels(kind=kind, sector=sector)
