"""A pytest plugin for `make mutation` only (`-p tests.mutmut_compat` in [tool.mutmut]).

mutmut 3.7 is the last release that installs beside faust-streaming (3.8 needs click >= 8.4.2,
faust < 8.4), and its test-to-function bookkeeping still reads `item._nodeid`, which pytest 9
no longer has: give every collected test that name again.
"""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test's node id also as `_nodeid`, as mutmut 3.7 reads it."""
    for item in items:
        item._nodeid = item.nodeid  # type: ignore[attr-defined]
