"""Helpers for the integration tests: pushing reports and reading back what was stored."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import psycopg

from stack.demo import measure_report


def push(api: httpx.Client, location_id: str, figures: dict[str, int | None],
         observed_at: datetime | None = None) -> httpx.Response:
    """POST a SANER MeasureReport for `location_id`."""
    report = measure_report(location_id, figures, observed_at or datetime.now(UTC))
    return api.post("/fhir/MeasureReport", json=report,
                    headers={"Content-Type": "application/fhir+json"})


def stored_count(db: psycopg.Connection[Any], location_id: str) -> int:
    """Observation rows stored for a location."""
    row = db.execute("SELECT count(*) FROM observation WHERE location_id = %s",
                     (location_id,)).fetchone()
    return int(row[0]) if row else 0


def raw_count(db: psycopg.Connection[Any], location_id: str) -> int:
    """Raw messages kept for a location."""
    row = db.execute("SELECT count(*) FROM raw_message WHERE location_id = %s",
                     (location_id,)).fetchone()
    return int(row[0]) if row else 0


def figures_of(api: httpx.Client, location_id: str, region: str = "west") -> dict[str, Any]:
    """The live figures of one location from /v1/availability, by definition code."""
    body = api.get("/v1/availability", params={"region": region}).json()
    for location in body["locations"]:
        if location["location_id"] == location_id:
            return {f["definition"]: f for f in location["figures"]}
    return {}


def all_figures_of(api: httpx.Client, location_id: str, wanted: set[str],
                   region: str = "west") -> dict[str, Any]:
    """`figures_of`, once every code in `wanted` is there (else {}): one message's figures may
    be stored over more than one sink batch."""
    figures = figures_of(api, location_id, region)
    return figures if wanted <= set(figures) else {}
