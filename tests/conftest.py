"""Test harness: unit tests run bare; integration tests get the real stack, started once.

The test stack has its own state folder and loopback ports, so it never touches a running
`make up` stack. It is wiped before it starts and stopped by PID when the session ends, also
when tests fail. KAFKA_BOOTSTRAP_SERVERS / DATABASE_URL point it at external services instead.
"""

from __future__ import annotations

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

pytest_plugins = ["tests.backends"]

INTEGRATION_DIR = Path(__file__).parent / "integration"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything under tests/integration needs the stack: mark it so."""
    for item in items:
        if INTEGRATION_DIR in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.integration)


def stack_config_for_tests() -> StackConfig:
    """The test stack's ports and folder, overridable with TEST_STACK_* variables."""
    return StackConfig.from_env(prefix="TEST_STACK_", state_dir=REPO_ROOT / ".test-stack",
                                ports=(29092, 25432, 18080, 19102))


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
    """An HTTP client for the test stack's API."""
    with httpx.Client(base_url=stack.api_url, timeout=15.0) as client:
        yield client


@pytest.fixture
def db(stack: StackConfig) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """A direct database connection, for checking what was stored."""
    with psycopg.connect(stack.database_url, autocommit=True) as conn:
        yield conn


@pytest.fixture
def hospital(api: httpx.Client) -> str:
    """A freshly registered hospital location in ROAZ region West; returns its id."""
    suffix = uuid.uuid4().hex[:10]
    org_id, location_id = f"org-{suffix}", f"loc-{suffix}"
    org = demo.organization_resource(org_id, f"Ziekenhuis {suffix}", "12345678")
    api.put(f"/fhir/Organization/{org_id}", json=org).raise_for_status()
    loc = demo.location_resource(location_id, org_id, f"Ziekenhuis {suffix}", "west",
                                 52.1665, 4.4782)
    api.put(f"/fhir/Location/{location_id}", json=loc).raise_for_status()
    return location_id
