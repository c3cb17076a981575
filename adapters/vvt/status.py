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
from typing import Annotated, Any

from pydantic import Field

from adapters.bodies import figure_codes
from adapters.figures import (
    JsonStatusAdapter,
)

ROOT = "body"
FIGURES = {
    "district_nursing_teams_available": "vvt.district_nursing.teams_available",
    "busyness_level": "vvt.busyness.level",
}


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

    figures = FIGURES

    def body_fields(self) -> dict[str, Any]:
        """The figures; the busyness level also as the whole number of its code."""
        fields = super().body_fields()
        kind, info = fields["busyness_level"]
        levels = sorted(int(code) for code in figure_codes("vvt.busyness.level"))
        number = Annotated[int, Field(ge=levels[0], le=levels[-1])]
        fields["busyness_level"] = (kind | number, info)
        return fields

    def prepare(self, body: dict[str, Any]) -> dict[str, Any]:
        """The busyness level as its code: "2" for 2."""
        return _level_as_code(body)


ADAPTER = VvtStatusAdapter()
