"""The stream worker's process: faust's worker as the platform runs it."""

from __future__ import annotations

import logging

import pytest

from core.settings import Settings
from streams.app import Worker, create_app


@pytest.mark.parametrize("level", [logging.WARNING, logging.ERROR, logging.CRITICAL])
def test_the_root_logger_keeps_its_level_so_debug_records_are_never_built(level: int) -> None:
    """faust's own worker sets the root logger to DEBUG at WARN and above (its terminal
    spinner); every aiokafka debug record was then built and handled."""
    app = create_app(Settings())
    configured: object = app.conf.Worker  # faust types the setting loosely
    assert configured is Worker
    worker = Worker(app, loglevel=level, quiet=True)
    root = logging.getLogger("zc-test-root")
    root.setLevel(level)
    handlers = list(root.handlers)
    worker.on_setup_root_logger(root, level)
    assert root.level == level
    assert root.handlers == handlers
    assert not root.isEnabledFor(logging.DEBUG)
    assert worker.spinner is None
