"""Acute GGZ status as JSON: crisis and HIC beds, IHT capacity, crisis service and doctor.

```json
{"location": "ggz-...", "observed_at": "2026-11-22T12:00:00+01:00",
 "crisis_beds": {"available": 1, "total": 6}, "hic_beds": {"available": 0, "total": 12},
 "iht_capacity": 2, "crisis_service_available": true, "doctor_available": false}
```

Bed pairs follow the VVT rule, declared in `definitions/rules/ggz.yaml`: available may not
exceed total; a pair or figure that is null is not reported, never 0. Absent fields were not
sent. Expressions are paths from the root, `body`.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from adapters.base import Issue, MessageMeta
from adapters.bed_pairs import map_pair
from adapters.figures import (
    JsonStatusAdapter,
)
from core.messages import Observation

ROOT = "body"
BED_PAIRS = {
    "crisis_beds": {"available": "ggz.beds.crisis.available", "total": "ggz.beds.crisis.total"},
    "hic_beds": {"available": "ggz.beds.hic.available", "total": "ggz.beds.hic.total"},
}
FIGURES = {
    "iht_capacity": "ggz.iht.capacity",
    "crisis_service_available": "ggz.crisis_service.available",
    "doctor_available": "ggz.doctor.available",
}


class GgzStatusAdapter(JsonStatusAdapter):
    """JSON acute GGZ status -> crisis/HIC beds, IHT capacity, crisis service, doctor."""

    source_format = "json/ggz-status"
    sector = "ggz"
    path = "/v1/ggz/status"
    summary = "Push acute GGZ beds, IHT capacity and crisis service availability as JSON"
    examples = Path(__file__).parent / "examples" / "status"

    figures = FIGURES
    parts = frozenset(BED_PAIRS)
    part_fields = BED_PAIRS
    nullable_parts = True  # a pair sent as null: both figures not reported

    def extra(self, body: dict[str, Any], meta: MessageMeta,
              observed_at: datetime) -> tuple[list[Observation], list[Issue]]:
        """The crisis and HIC bed pairs."""
        observations: list[Observation] = []
        problems: list[Issue] = []
        for name, codes in BED_PAIRS.items():
            if name in body:
                found, bad = map_pair(body[name], codes, meta, observed_at, f"{ROOT}.{name}")
                observations += found
                problems += bad
        return observations, problems


ADAPTER = GgzStatusAdapter()
