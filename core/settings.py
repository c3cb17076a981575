"""Typed settings, read once from the environment at start-up.

`KAFKA_BOOTSTRAP_SERVERS` and `DATABASE_URL` are the two switches between the embedded local
stack and a real Kafka cluster / TimescaleDB: the stack sets them for the processes it starts,
and production sets them in the deployment.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.ratelimit import Limit

REPO_ROOT = Path(__file__).resolve().parent.parent
LOCAL_ISSUER = "https://zorgcapaciteit.local"
LOOPBACK = re.compile(r"(^|[@/,])(127\.[0-9.]+|localhost|\[?::1\]?)([:/,]|$)")


def _loopback(address: str) -> bool:
    """Whether a bootstrap list or database URL points at this host."""
    return LOOPBACK.search(address) is not None
RATE_PATTERN = r"^[0-9]+(\.[0-9]+)?/[0-9]+$"
# What a dead letter adds to the message it carries besides base64: stage, reason, a detail of
# at most 4,000 characters (JSON-escaped, up to 6 bytes each) and the source.
DEAD_LETTER_RESERVE_BYTES = 32 * 1024


class Settings(BaseSettings):
    """Process configuration. Every field maps to an upper-case environment variable."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    # `production` refuses what only fits the embedded local stack (loopback broker and
    # database, the local token issuer): a deployment that forgot a setting fails at start
    # rather than talking to nothing, or to something else on the host.
    deployment: Literal["local", "production"] = "local"
    kafka_bootstrap_servers: str = "127.0.0.1:19092"
    database_url: str = "postgresql://postgres@127.0.0.1:15432/zorgcapaciteit"
    topic_prefix: str = Field(default="zc", pattern=r"^[a-z][a-z0-9_.-]*$")
    # tansu makes a group join take half the session timeout; 6 s keeps restarts quick.
    kafka_session_timeout_ms: int = Field(default=6000, ge=1000)
    kafka_partitions: int = Field(default=6, ge=1)
    kafka_replication_factor: int = Field(default=1, ge=1)

    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8080, ge=1, le=65535)
    worker_metrics_host: str = "127.0.0.1"
    worker_metrics_port: int = Field(default=9102, ge=1, le=65535)

    # faust keeps local state here (the local stack points it into its git-ignored folder).
    streams_data_dir: Path = REPO_ROOT / ".local" / "streams-data"
    # Dead-letter limits (see streams/deadletter.py DlqLimit): beyond them the worker halts.
    dlq_max_invalid_ratio: float = Field(default=0.5, gt=0, le=1)
    dlq_max_consecutive: int = Field(default=1000, ge=1)
    # How long the broker may hold the worker's fetch when no record waits (streams/transport.py:
    # the embedded broker answers only when the wait is over, so this bounds the delay).
    stream_fetch_max_wait_ms: int = Field(default=100, ge=1, le=1500)
    # The store stage's batches: messages per transaction, and the longest wait to fill one.
    sink_batch_size: int = Field(default=500, ge=1)
    sink_batch_seconds: float = Field(default=0.05, gt=0)
    # Store-stage transactions in flight at once per worker (writes are idempotent and
    # order-insensitive, so batches of one partition may be written side by side).
    sink_concurrency: int = Field(default=2, ge=1, le=16)
    # COPY into the staging table (off only for a database without COPY FROM STDIN: PGlite).
    sink_copy: bool = True
    # The write-ahead record: the API archives every accepted message in PostgreSQL before it
    # answers 202, and the reconciler sends what a broker lost again. Needed with a broker
    # that can lose acknowledged messages (the embedded one keeps its log in memory only);
    # with a replicated Kafka (acks=all, min.insync.replicas >= 2) it can be switched off.
    ingest_write_ahead: bool = True
    reconcile_seconds: float = Field(default=3.0, gt=0)
    # A halted worker that has not stopped after this long exits anyway (streams/app.py).
    halt_grace_seconds: float = Field(default=30.0, gt=0)
    # How often the plain path's roll-ups catch up with the buckets the writes touched.
    rollup_refresh_seconds: float = Field(default=1.0, gt=0)
    # How often the live state's documents catch up with the locations the writes marked
    # (storage/live_state.py). Live queries are exact at any lag; a shorter one keeps them cheap.
    live_state_refresh_seconds: float = Field(default=1.0, gt=0)
    # Live events (/v1/stream): how often the worker looks for figures that went past their
    # freshness deadline, the least time between two position events of one unit, how many
    # recent events each API process keeps for clients that reconnect, and the heartbeat.
    stale_check_seconds: float = Field(default=5.0, gt=0)
    position_event_seconds: float = Field(default=5.0, ge=0)
    stream_recent_events: int = Field(default=20000, ge=100)
    stream_heartbeat_seconds: float = Field(default=15.0, gt=0)
    # Webhooks of alert rules: looked at this often, tried this many times with backoff.
    webhook_poll_seconds: float = Field(default=1.0, gt=0)
    webhook_max_attempts: int = Field(default=8, ge=1)
    webhook_timeout_seconds: float = Field(default=5.0, gt=0)
    # The planning module (docs/planning.md): how often unanswered requests are expired and
    # planning events sent to the stream; how long a request's patient reference is kept.
    planning_sweep_seconds: float = Field(default=1.0, gt=0)
    planning_patient_retention_days: int = Field(default=7, ge=0, le=366)
    # Limits before work (README, "Limits"): the largest body each kind of endpoint reads
    # (refused 413 from Content-Length, or as soon as the stream passes it), CSV rows and
    # cells, and the form of JSON (nesting, text, numbers).
    body_limit_csv_bytes: int = Field(default=512 * 1024, ge=1024)
    body_limit_fhir_bytes: int = Field(default=512 * 1024, ge=1024)
    body_limit_json_bytes: int = Field(default=64 * 1024, ge=1024)
    csv_max_rows: int = Field(default=10_000, ge=1)
    csv_max_cell_chars: int = Field(default=1024, ge=16)
    json_max_depth: int = Field(default=32, ge=4, le=200)
    json_max_string_chars: int = Field(default=10_000, ge=64)
    json_max_number_chars: int = Field(default=32, ge=8, le=1000)
    # The producer's message.max.bytes: at most what the broker takes (Kafka's max.message.bytes
    # is 1,048,588 by default). An ingest message (the raw payload with its mapped rows) larger
    # than INGEST_MESSAGE_MAX_BYTES is refused 413; the limit leaves room for the dead letter
    # that may carry it base64-encoded (4/3 of it, plus its reason).
    kafka_message_max_bytes: int = Field(default=1_000_000, ge=100_000)
    ingest_message_max_bytes: int = Field(default=700_000, ge=64 * 1024)
    # Threads that parse, validate and map bodies off the event loop, so one large CSV or
    # Bundle never holds up the other requests (/healthz included).
    parse_workers: int = Field(default=2, ge=1, le=32)
    # Forecasts (python -m forecast): refitted this often from this much hourly history.
    forecast_refit_seconds: float = Field(default=900.0, gt=0)
    forecast_history_days: int = Field(default=35, ge=1, le=400)
    # Processes fitting at once (the local stack leaves the other core to everything else).
    forecast_workers: int = Field(default=1, ge=1, le=64)
    # API processes (uvicorn workers) on one host.
    api_workers: int = Field(default=1, ge=1, le=64)
    log_level: str = "INFO"

    # Authentication (docs/security.md). The platform signs its own tokens with the keys in
    # `auth_keys_dir` (python -m api.keys); production mounts that folder as a secret.
    auth_keys_dir: Path = REPO_ROOT / ".local" / "keys"
    auth_platform_issuer: str = LOCAL_ISSUER
    auth_audience: str = "zorgcapaciteit-api"
    auth_token_ttl_seconds: int = Field(default=1800, ge=60, le=3600)
    # A new signing key is published this long before it signs, so that every verifier that
    # caches the key set has it before the first token signed with it arrives.
    auth_key_publish_lead_seconds: int = Field(default=300, ge=0)
    # A region's own OpenID Connect issuer, trusted beside the platform (both or neither).
    auth_issuer: str | None = None
    auth_jwks_url: str | None = None
    auth_external_audience: str | None = None
    auth_external_algorithms: str = "RS256,ES256,EdDSA"
    # Where the external issuer's tokens carry what the platform's tokens carry.
    auth_claim_org: str = "org"
    auth_claim_role: str = "role"
    auth_claim_regions: str = "regions"
    auth_claim_national: str = "national"
    # Token buckets per client, "requests per second/burst", per role.
    rate_limit_provider: str = Field(default="50/500", pattern=RATE_PATTERN)
    rate_limit_zcv: str = Field(default="20/100", pattern=RATE_PATTERN)
    rate_limit_admin: str = Field(default="20/100", pattern=RATE_PATTERN)
    rate_limit_device: str = Field(default="2/30", pattern=RATE_PATTERN)
    # The audit trail: kept this long, written in batches at most this far apart.
    audit_retention_days: int = Field(default=365, ge=1)
    audit_flush_seconds: float = Field(default=0.25, gt=0)

    # The ZCV console's background map (/console): an XYZ tile URL template with {z}, {x}, {y}
    # (PDOK's BRT-Achtergrondkaart by default) and the credit shown with it. The console works
    # without tiles (offline, or a blocked tile server): locations and units are drawn anyway.
    console_tile_url: str = Field(
        default="https://service.pdok.nl/brt/achtergrondkaart/wmts/v2_0/standaard/EPSG:3857/"
                "{z}/{x}/{y}.png", pattern=r"^https?://[^\s]*\{z\}[^\s]*$")
    console_tile_attribution: str = "Kaart: BRT-Achtergrondkaart, © Kadaster (PDOK)"

    def rate_limit(self, role: str) -> Limit:
        """The token bucket of a role."""
        rate, burst = str(getattr(self, f"rate_limit_{role}")).split("/")
        return Limit(rate=float(rate), burst=float(burst))

    @field_validator("auth_issuer", "auth_jwks_url", "auth_external_audience", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # A deployment template passes an unset variable as "": that means "not configured".
        return None if value == "" else value

    @model_validator(mode="after")
    def _production_is_not_local(self) -> Settings:
        if self.deployment != "production":
            return self
        local = [name for name, value in (
            ("KAFKA_BOOTSTRAP_SERVERS", self.kafka_bootstrap_servers),
            ("DATABASE_URL", self.database_url)) if _loopback(value)]
        if self.auth_platform_issuer == LOCAL_ISSUER:
            local.append("AUTH_PLATFORM_ISSUER")
        if local:
            raise ValueError(f"DEPLOYMENT=production with the local stack's {', '.join(local)}: "
                             "set them to the production services")
        return self

    @model_validator(mode="after")
    def _external_issuer_complete(self) -> Settings:
        if (self.auth_issuer is None) != (self.auth_jwks_url is None):
            raise ValueError("AUTH_ISSUER and AUTH_JWKS_URL go together")
        return self

    @model_validator(mode="after")
    def _largest_message_fits_the_broker(self) -> Settings:
        dead_letter = self.ingest_message_max_bytes * 4 // 3 + DEAD_LETTER_RESERVE_BYTES
        if dead_letter > self.kafka_message_max_bytes:
            raise ValueError(
                f"INGEST_MESSAGE_MAX_BYTES {self.ingest_message_max_bytes} does not fit the "
                f"broker: as a dead letter it takes up to {dead_letter} bytes, more than "
                f"KAFKA_MESSAGE_MAX_BYTES {self.kafka_message_max_bytes}")
        for name in ("body_limit_csv_bytes", "body_limit_fhir_bytes", "body_limit_json_bytes"):
            if getattr(self, name) > self.ingest_message_max_bytes:
                raise ValueError(f"{name.upper()} exceeds INGEST_MESSAGE_MAX_BYTES: a body that "
                                 "large could never be queued")
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read once."""
    return Settings()
