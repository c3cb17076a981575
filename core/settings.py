"""Typed settings, read once from the environment at start-up.

`KAFKA_BOOTSTRAP_SERVERS` and `DATABASE_URL` are the two switches between the embedded local
stack and a real Kafka cluster / TimescaleDB: the stack sets them for the processes it starts,
and production sets them in the deployment.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Process configuration. Every field maps to an upper-case environment variable."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

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
    sink_batch_size: int = Field(default=500, ge=1)
    sink_batch_seconds: float = Field(default=0.25, gt=0)
    log_level: str = "INFO"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read once."""
    return Settings()
