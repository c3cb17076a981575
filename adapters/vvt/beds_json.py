"""VVT beds per care type as JSON: what an ELV coordination point's system pushes.

```json
{"location": "vvt-...", "observed_at": "2026-11-22T12:00:00+01:00",
 "beds": {"elv_low_complex": {"available": 2, "total": 12}, "grz": {"available": null}}}
```

Care types are the codes of `adapters.vvt.care_types`; an unknown one is an error (a typo must
not make beds disappear). A care type or figure that is absent was not sent; null is "not
reported", never 0. Expressions are paths from the JSON root, named `body`.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import Field, create_model

from adapters.base import AdapterResult, Issue, MessageMeta, Payload, error, json_object
from adapters.bed_pairs import map_pair
from adapters.bodies import FORBID, figures_model
from adapters.figures import (
    JsonStatusAdapter,
    finish,
    observed_at_of,
    unknown_fields,
)
from adapters.vvt.care_types import CARE_TYPES, bed_codes
from core.messages import Observation

ROOT = "body"
FIELDS = {"location", "observed_at", "beds"}


class VvtBedsJsonAdapter(JsonStatusAdapter):
    """JSON beds per VVT care type (ELV, GRZ, Wlz-crisis) -> available and total beds."""

    source_format = "json/vvt-beds"
    sector = "vvt"
    path = "/v1/vvt/beds"
    summary = "Push VVT beds per care type (ELV, GRZ, Wlz-crisis) as JSON"
    examples = Path(__file__).parent / "examples" / "beds_json"

    def body_fields(self) -> dict[str, Any]:
        """`beds`: per care type a pair of available and total beds, or null."""
        pairs: dict[str, Any] = {
            care_type: (figures_model(f"VvtBeds{care_type.title().replace('_', '')}",
                                      bed_codes(care_type), f"{name} beds") | None, None)
            for care_type, name in CARE_TYPES.items()}
        beds = create_model("VvtBedsPerCareType", __config__=FORBID,
                            __doc__="Beds per care type; null: not reported", **pairs)
        return {"beds": (beds, Field(description="beds per care type"))}

    def parse(self, payload: Payload, meta: MessageMeta) -> AdapterResult:
        """One observation per figure of every care type sent."""
        body = json_object(payload, ROOT)
        observed_at = observed_at_of(body, meta, ROOT)
        problems = unknown_fields(body, FIELDS, ROOT)
        beds = body.get("beds")
        if not isinstance(beds, dict):
            problems.append(error("required", f"{ROOT}.beds", "give beds as an object by care "
                                  f"type: {', '.join(CARE_TYPES)}"))
            beds = {}
        observations: list[Observation] = []
        for care_type, pair in beds.items():
            found, bad = self._care_type(care_type, pair, meta, observed_at)
            observations += found
            problems += bad
        return AdapterResult(finish(observations, problems, f"{ROOT}.beds"))

    def element_of(self, payload: Payload, figure: Observation) -> str | None:
        """The field that reported `figure`: `body.beds.<care type>.<available|total>`."""
        _, _, care_type, name = figure.definition.split(".")  # vvt.beds.<care type>.<figure>
        return f"{ROOT}.beds.{care_type}.{name}"

    @staticmethod
    def _care_type(care_type: str, pair: Any, meta: MessageMeta,
                   observed_at: datetime) -> tuple[list[Observation], list[Issue]]:
        where = f"{ROOT}.beds.{care_type}"
        if care_type not in CARE_TYPES:
            return [], [error("not-supported", where, f"unknown care type {care_type!r}; "
                              f"expected one of {', '.join(CARE_TYPES)}")]
        return map_pair(pair, bed_codes(care_type), meta, observed_at, where)


ADAPTER = VvtBedsJsonAdapter()
