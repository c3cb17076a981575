"""JSON columns: values encoded with msgspec (C-fast, arbitrary-size integers), not json.dumps."""

from __future__ import annotations

from typing import Any

import msgspec
from psycopg.types.json import Jsonb


def jsonb(value: Any) -> Jsonb:
    """A value for a jsonb parameter."""
    return Jsonb(value, dumps=msgspec.json.encode)
