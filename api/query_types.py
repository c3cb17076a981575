"""Query parameter types shared by the routes: what the OpenAPI document says is what is taken."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from pydantic import BeforeValidator

# pydantic reads a bare number as Unix seconds; the document says ISO 8601 date-time.
_NUMBER = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$")
# The largest id a bigint column holds: a larger `before` is refused, not a database error.
BIGINT_MAX = 2**63 - 1


def _iso_only(value: object) -> object:
    if isinstance(value, str) and _NUMBER.match(value):
        raise ValueError("give an ISO 8601 date-time with timezone, e.g. "
                         "2026-12-07T06:00:00+01:00, not a number")
    return value


# A moment in a query string: ISO 8601, never a bare number.
IsoMoment = Annotated[datetime, BeforeValidator(_iso_only)]
