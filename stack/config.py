"""Where the local stack keeps its state and which loopback ports it uses."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from core.settings import REPO_ROOT

DATABASE_NAME = "zorgcapaciteit"


@dataclass(frozen=True)
class StackConfig:
    """Ports and folders of one stack instance (the dev stack, or the test stack)."""

    state_dir: Path
    broker_port: int
    postgres_port: int
    api_port: int
    worker_metrics_port: int
    external_kafka: str | None
    external_database: str | None
    # Settings for the platform processes beyond the defaults (e.g. the test stack's limits).
    extra_env: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_env(
        cls, prefix: str = "STACK_", state_dir: Path = REPO_ROOT / ".local",
        ports: tuple[int, int, int, int] = (19092, 15432, 8080, 9102),
    ) -> StackConfig:
        """Defaults, overridden by `{prefix}STATE_DIR`, `{prefix}BROKER_PORT`, `..._POSTGRES_PORT`,
        `..._API_PORT`, `..._WORKER_METRICS_PORT`; plus the two external-service switches."""
        env = os.environ

        def read(name: str, default: object) -> str:
            return env.get(f"{prefix}{name}", str(default))

        return cls(
            state_dir=Path(read("STATE_DIR", state_dir)).resolve(),
            broker_port=int(read("BROKER_PORT", ports[0])),
            postgres_port=int(read("POSTGRES_PORT", ports[1])),
            api_port=int(read("API_PORT", ports[2])),
            worker_metrics_port=int(read("WORKER_METRICS_PORT", ports[3])),
            external_kafka=env.get("KAFKA_BOOTSTRAP_SERVERS") or None,
            external_database=env.get("DATABASE_URL") or None,
        )

    @property
    def kafka_bootstrap_servers(self) -> str:
        """The broker the platform talks to."""
        return self.external_kafka or f"127.0.0.1:{self.broker_port}"

    @property
    def database_url(self) -> str:
        """The database the platform talks to."""
        return self.external_database or (
            f"postgresql://postgres@127.0.0.1:{self.postgres_port}/{DATABASE_NAME}"
        )

    @property
    def api_url(self) -> str:
        """Base URL of the HTTP API."""
        return f"http://127.0.0.1:{self.api_port}"

    def service_env(self) -> dict[str, str]:
        """Environment for the platform processes the stack starts."""
        return {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap_servers,
            "DATABASE_URL": self.database_url,
            "API_PORT": str(self.api_port),
            "WORKER_METRICS_PORT": str(self.worker_metrics_port),
            "STREAMS_DATA_DIR": str(self.state_dir / "streams-data"),
            "AUTH_KEYS_DIR": str(self.keys_dir),
            **dict(self.extra_env),
        }

    @property
    def keys_dir(self) -> Path:
        """The platform's token-signing keys (python -m api.keys)."""
        return self.state_dir / "keys"

    @property
    def admin_credentials(self) -> Path:
        """The bootstrap admin client's id and secret (mode 0600)."""
        return self.state_dir / "credentials" / "admin.json"

    @property
    def pid_dir(self) -> Path:
        """PID files of the processes this stack started."""
        return self.state_dir / "pids"

    @property
    def log_dir(self) -> Path:
        """Log files of the processes this stack started."""
        return self.state_dir / "logs"
