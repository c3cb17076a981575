"""Test harness: unit tests run bare; integration tests get the real stack, started once.

The test stack has its own state folder and loopback ports, so it never touches a running
`make up` stack. It is wiped before it starts and stopped by PID when the session ends, also
when tests fail. KAFKA_BOOTSTRAP_SERVERS / DATABASE_URL point it at external services instead.
"""

from __future__ import annotations

import dataclasses
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from core.settings import REPO_ROOT
from stack import demo, lifecycle
from stack.config import StackConfig
from stack.credentials import read_credentials, signed_in
from tests.identities import Platform, Site

pytest_plugins = ["tests.backends"]

INTEGRATION_DIR = Path(__file__).parent / "integration"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything under tests/integration needs the stack: mark it so."""
    for item in items:
        if INTEGRATION_DIR in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.integration)


# Many tests share one ZCV and one admin client and push fast from one provider: the test stack
# raises those roles' rate limits. The device limit keeps its default: test_trust shows 429.
# Live events at test speed: a heartbeat every second (an SSE reader notices it is closed),
# staleness looked for every second, webhooks retried at once.
TEST_TIMINGS = (("STREAM_HEARTBEAT_SECONDS", "1"), ("STALE_CHECK_SECONDS", "1"),
                ("WEBHOOK_POLL_SECONDS", "0.5"))
TEST_RATE_LIMITS = (("RATE_LIMIT_PROVIDER", "2000/20000"), ("RATE_LIMIT_ZCV", "2000/20000"),
                    ("RATE_LIMIT_ADMIN", "2000/20000"))


def stack_config_for_tests() -> StackConfig:
    """The test stack's ports and folder, overridable with TEST_STACK_* variables."""
    config = StackConfig.from_env(prefix="TEST_STACK_", state_dir=REPO_ROOT / ".test-stack",
                                  ports=(29092, 25432, 18080, 19102))
    return dataclasses.replace(config, extra_env=TEST_RATE_LIMITS + TEST_TIMINGS)


@pytest.fixture(scope="session")
def stack() -> Iterator[StackConfig]:
    """The running test stack: broker, PostgreSQL, stream worker and API."""
    config = stack_config_for_tests()
    lifecycle.down(config)  # leftovers of an interrupted earlier run
    shutil.rmtree(config.state_dir, ignore_errors=True)
    try:
        lifecycle.up(config)
        yield config
    finally:
        lifecycle.down(config)


@pytest.fixture(scope="session")
def api(stack: StackConfig) -> Iterator[httpx.Client]:
    """An HTTP client for the test stack's API, without credentials (public endpoints, and
    what a caller without a token is told)."""
    with httpx.Client(base_url=stack.api_url, timeout=15.0) as client:
        yield client


@pytest.fixture(scope="session")
def admin(stack: StackConfig) -> Iterator[httpx.Client]:
    """The test stack's bootstrap admin client, signed in."""
    credentials = read_credentials(stack.admin_credentials)
    assert credentials is not None
    with signed_in(stack.api_url, credentials) as client:
        yield client


@pytest.fixture(scope="session")
def platform(stack: StackConfig, admin: httpx.Client) -> Iterator[Platform]:
    """Registers organisations and hands out signed-in clients per organisation and role."""
    registry = Platform(stack.api_url, admin)
    try:
        yield registry
    finally:
        registry.close()


@pytest.fixture(scope="session")
def zcv(platform: Platform) -> httpx.Client:
    """A ZCV with a national grant: reads every region (tests of region limits make their own)."""
    return platform.zcv(national=True)


@pytest.fixture
def db(stack: StackConfig) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """A direct database connection, for checking what was stored."""
    with psycopg.connect(stack.database_url, autocommit=True) as conn:
        yield conn


@pytest.fixture
def hospital_site(platform: Platform) -> Site:
    """A freshly registered hospital location in ROAZ region West, of its own organisation,
    with that organisation's provider client."""
    suffix = uuid.uuid4().hex[:10]
    org_id, location_id = f"org-{suffix}", f"loc-{suffix}"
    provider = platform.provider(org_id, f"Ziekenhuis {suffix}")
    loc = demo.location_resource(location_id, org_id, f"Ziekenhuis {suffix}", "west",
                                 52.1665, 4.4782)
    provider.put(f"/fhir/Location/{location_id}", json=loc).raise_for_status()
    return Site(location_id, org_id, provider)


@pytest.fixture
def hospital(hospital_site: Site) -> str:
    """The id of `hospital_site`'s location."""
    return hospital_site.location_id


@pytest.fixture
def provider(hospital_site: Site) -> httpx.Client:
    """The provider client of `hospital_site`'s organisation."""
    return hospital_site.client
