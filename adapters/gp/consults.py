"""Free U3 and U4 consults of a GP practice, as counted by the practice system, in JSON.

    {"location": "hp-de-linde-zeist", "observed_at": "2026-11-22T13:30:00+01:00",
     "u3_free": 2, "u4_free": 7}

`u3_free` counts free slots starting within 3 hours, `u4_free` those starting within 24 hours.
A slot that suits a U3 patient suits a U4 patient too, so the U3 slots are part of `u4_free`
and it cannot be smaller. Null is not reported, never 0. Practices whose agenda speaks FHIR can
send their Slots instead (`adapters/gp/slots.py`). Expressions in errors are paths from the
root, `body`.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from adapters.base import Issue, MessageMeta, error
from adapters.figures import (
    JsonStatusAdapter,
)
from core.messages import Observation
from definitions.validation import as_number

ROOT = "body"
FIGURES = {"u3_free": "gp.consults.u3.free", "u4_free": "gp.consults.u4.free"}


def u3_within_u4(u3_free: Any, u4_free: Any, where: str) -> Issue | None:
    """An error when fewer U4 than U3 slots are free: the U3 slots count for U4 too."""
    u3, u4 = as_number(u3_free), as_number(u4_free)
    if u3 is None or u4 is None or u4 >= u3:
        return None
    return error("business-rule", f"{where}.u4_free",
                 f"u4_free ({u4:g}) must be at least u3_free ({u3:g}): the free U3 slots "
                 "count as free U4 slots too")


class GpConsultsAdapter(JsonStatusAdapter):
    """JSON free consult counts -> gp.consults.u3.free and gp.consults.u4.free."""

    source_format = "json/gp-consults"
    sector = "gp-practice"
    path = "/v1/gp/consults"
    summary = "Push a GP practice's free U3 and U4 consults as counts"
    examples = Path(__file__).parent / "examples" / "consults"

    figures = FIGURES

    def extra(self, body: dict[str, Any], meta: MessageMeta,
              observed_at: datetime) -> tuple[list[Observation], list[Issue]]:
        """U4 may not be below U3: the free U3 slots count as U4 slots too."""
        inverted = u3_within_u4(body.get("u3_free"), body.get("u4_free"), ROOT)
        return [], [] if inverted is None else [inverted]


ADAPTER = GpConsultsAdapter()
