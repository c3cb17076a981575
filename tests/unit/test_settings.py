"""Settings: a production deployment refuses what only fits the embedded local stack."""

from __future__ import annotations

from typing import Literal, TypedDict

import pytest
from pydantic import ValidationError

from core.settings import Settings


class Production(TypedDict):
    """The settings a production deployment sets to real services."""

    kafka_bootstrap_servers: str
    database_url: str
    auth_platform_issuer: str


PRODUCTION: Production = {
    "kafka_bootstrap_servers": "kafka-1:9092,kafka-2:9092",
    "database_url": "postgresql://zc:secret@timescaledb:5432/zorgcapaciteit",
    "auth_platform_issuer": "https://capaciteit.example.nl"}


def test_the_local_defaults_are_fine_locally() -> None:
    assert Settings().deployment == "local"


def test_production_with_real_services_starts() -> None:
    assert Settings(deployment="production", **PRODUCTION).deployment == "production"


@pytest.mark.parametrize(("field", "value", "named"), [
    ("kafka_bootstrap_servers", "127.0.0.1:19092", "KAFKA_BOOTSTRAP_SERVERS"),
    ("kafka_bootstrap_servers", "kafka-1:9092,localhost:9092", "KAFKA_BOOTSTRAP_SERVERS"),
    ("database_url", "postgresql://postgres@127.0.0.1:15432/zorgcapaciteit", "DATABASE_URL"),
    ("database_url", "postgresql://postgres@[::1]:5432/zorgcapaciteit", "DATABASE_URL"),
    ("auth_platform_issuer", "https://zorgcapaciteit.local", "AUTH_PLATFORM_ISSUER"),
])
def test_production_refuses_the_local_stacks_settings(
    field: Literal["kafka_bootstrap_servers", "database_url", "auth_platform_issuer"],
    value: str, named: str,
) -> None:
    settings = PRODUCTION.copy()
    settings[field] = value
    with pytest.raises(ValidationError, match=named):
        Settings(deployment="production", **settings)
