"""Free U3 and U4 consults of a GP practice, as counted by the practice system, in JSON.

    {"location": "hp-de-linde-zeist", "observed_at": "2026-11-22T13:30:00+01:00",
     "u3_free": 2, "u4_free": 7}

`u3_free` counts free slots starting within 3 hours, `u4_free` those starting within 24 hours.
A slot that suits a U3 patient suits a U4 patient too, so the U3 slots are part of `u4_free`
and it cannot be smaller (the rule `gp.consults.u3-within-u4` in
`definitions/rules/gp-practice.yaml`). Null is not reported, never 0. Practices whose agenda
speaks FHIR can send their Slots instead (`adapters/gp/slots.py`). Expressions in errors are
paths from the root, `body`.
"""

from __future__ import annotations

from pathlib import Path

from adapters.figures import JsonStatusAdapter

FIGURES = {"u3_free": "gp.consults.u3.free", "u4_free": "gp.consults.u4.free"}


class GpConsultsAdapter(JsonStatusAdapter):
    """JSON free consult counts -> gp.consults.u3.free and gp.consults.u4.free."""

    source_format = "json/gp-consults"
    sector = "gp-practice"
    path = "/v1/gp/consults"
    summary = "Push a GP practice's free U3 and U4 consults as counts"
    examples = Path(__file__).parent / "examples" / "consults"

    figures = FIGURES


ADAPTER = GpConsultsAdapter()
