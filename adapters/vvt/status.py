"""VVT status as JSON: district nursing teams free for unplanned care, and busyness.

```json
{"location": "vvt-...", "observed_at": "2026-11-22T12:00:00+01:00",
 "district_nursing_teams_available": 3, "busyness_level": "2"}
```

The busyness level is one of the codes "1" (normal) to "4" (critical) of `vvt.busyness.level`;
a whole number 1-4 is taken as that code, since many systems keep the level as a number. Absent
= not sent; null = not reported, never 0. Expressions are paths from the JSON root, `body`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from adapters.base import AdapterResult, MessageMeta, Payload, json_object
from adapters.figures import (
    JsonStatusAdapter,
    finish,
    map_fields,
    observed_at_of,
    unknown_fields,
)

ROOT = "body"
FIGURES = {
    "district_nursing_teams_available": "vvt.district_nursing.teams_available",
    "busyness_level": "vvt.busyness.level",
}
FIELDS = {"location", "observed_at", *FIGURES}


def _level_as_code(body: dict[str, Any]) -> dict[str, Any]:
    # 2 and "2" mean the same level; anything else is left for the definition to refuse.
    level = body.get("busyness_level")
    if isinstance(level, int) and not isinstance(level, bool):
        return {**body, "busyness_level": str(level)}
    return body


class VvtStatusAdapter(JsonStatusAdapter):
    """JSON VVT status -> district nursing teams available, busyness level."""

    source_format = "json/vvt-status"
    sector = "vvt"
    path = "/v1/vvt/status"
    summary = "Push VVT district nursing availability and busyness level as JSON"
    examples = Path(__file__).parent / "examples" / "status"

    def parse(self, payload: Payload, meta: MessageMeta) -> AdapterResult:
        """One observation per figure sent."""
        body = _level_as_code(json_object(payload, ROOT))
        observed_at = observed_at_of(body, meta, ROOT)
        problems = unknown_fields(body, FIELDS, ROOT)
        observations, bad = map_fields(body, FIGURES, meta, observed_at, ROOT)
        return AdapterResult(finish(observations, problems + bad, ROOT))


ADAPTER = VvtStatusAdapter()
