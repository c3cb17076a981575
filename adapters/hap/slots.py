"""Free consults of a HAP (huisartsenpost), counted from its agenda: the same FHIR R4 Bundle of
Schedules and Slots as a GP practice's (adapters/gp/slots.py, where the rules for a free slot
are), with the post's Location among the Schedules' actors.

- hap.consults.free: free slots starting within [timestamp, timestamp + 2 h)

The agenda's slots with an id are kept for booking as a practice's are (docs/planning.md).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from adapters.gp.slots import GpSlotsAdapter


class HapSlotsAdapter(GpSlotsAdapter):
    """FHIR R4 Bundle of Schedules and Slots -> free consults of a HAP in the next 2 hours."""

    source_format = "fhir-r4/Bundle-hap-slots"
    sector = "hap"
    path = "/fhir/hap-consult-slots"
    summary = "Push a HAP's agenda (Schedules and Slots); free consults in the next 2 h are counted"
    examples = Path(__file__).parent / "examples" / "slots"
    windows = {"consult": ("hap.consults.free", timedelta(hours=2))}


ADAPTER = HapSlotsAdapter()
