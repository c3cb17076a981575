"""The NEDOCS inputs of an emergency department (SEH), as a JSON status message; the platform
computes the score and its band.

    {"location": "umcu-utrecht", "observed_at": "2026-11-22T13:45:00+01:00",
     "ed_patients": 38, "ed_treatment_places": 32, "admitted_boarders": 7,
     "ventilated_patients": 1, "longest_boarder_wait_min": 185,
     "last_bed_placement_wait_min": 42, "hospital_beds": 1042}

Hospitals send the inputs rather than a score so that every score on the platform is computed
the same way (calculators in use disagree on the coefficients). The score is computed only when
all seven inputs are reported in the message: a score from partial inputs would look precise and
be wrong, so then only the inputs that were sent are stored.
Expressions in errors are paths from the root, `body` (e.g. `body.hospital_beds`).
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from adapters.base import (
    AdapterResult,
    Issue,
    MessageMeta,
    Payload,
    error,
    json_object,
    observation,
    require_definition,
)
from adapters.figures import (
    JsonStatusAdapter,
    finish,
    map_fields,
    observed_at_of,
    unknown_fields,
)
from core.messages import Observation

ROOT = "body"
# JSON field -> the definition it reports; the order is that of the NEDOCS formula.
INPUTS = {
    "ed_patients": "hospital.seh.patients",
    "ed_treatment_places": "hospital.seh.treatment_places",
    "admitted_boarders": "hospital.seh.admitted_boarders",
    "hospital_beds": "hospital.beds.inpatient.total",
    "ventilated_patients": "hospital.seh.ventilated_patients",
    "longest_boarder_wait_min": "hospital.seh.longest_boarder_wait",
    "last_bed_placement_wait_min": "hospital.seh.last_bed_placement_wait",
}
# The formula divides by these: a department without places or a hospital without beds
# cannot be crowded on this scale, so 0 is a mistake in the message.
DENOMINATORS = ("ed_treatment_places", "hospital_beds")
SCORE_MIN, SCORE_MAX = 0.0, 200.0
# Upper bound (inclusive, on the score rounded to a whole number) of each band.
BANDS = (
    (20, "not-busy"),
    (60, "busy"),
    (100, "extremely-busy"),
    (140, "overcrowded"),
    (180, "severely-overcrowded"),
)
TOP_BAND = "dangerously-overcrowded"


def _half_up(value: float, places: str) -> Decimal:
    # Decimal on the shortest repr, so 20.5 rounds to 21 as people round, not as binary does.
    return Decimal(repr(value)).quantize(Decimal(places), rounding=ROUND_HALF_UP)


def nedocs_score(
    ed_patients: float, ed_treatment_places: float, admitted_boarders: float,
    hospital_beds: float, ventilated_patients: float, longest_boarder_wait_min: float,
    last_bed_placement_wait_min: float,
) -> float:
    """NEDOCS (Weiss et al. 2004), clamped to 0..200 and rounded half up to 1 decimal.

    -20 + 85.8 x (ED patients / ED treatment places) + 600 x (admitted boarders / hospital beds)
    + 13.4 x ventilated patients + 0.93 x longest boarder wait (h) + 5.64 x wait of the last
    patient placed in a bed (h). The waits are given in minutes and converted to hours here.
    Raises ValueError when a denominator is not positive.
    """
    if ed_treatment_places <= 0 or hospital_beds <= 0:
        raise ValueError("ED treatment places and hospital beds must be positive")
    raw = (-20
           + 85.8 * (ed_patients / ed_treatment_places)
           + 600 * (admitted_boarders / hospital_beds)
           + 13.4 * ventilated_patients
           + 0.93 * (longest_boarder_wait_min / 60)
           + 5.64 * (last_bed_placement_wait_min / 60))
    return float(_half_up(min(max(raw, SCORE_MIN), SCORE_MAX), "0.1"))


def nedocs_band(score: float) -> str:
    """The NEDOCS band of a score: 0-20 not-busy, 21-60 busy, 61-100 extremely-busy, 101-140
    overcrowded, 141-180 severely-overcrowded, above 180 dangerously-overcrowded.

    The bands are defined on whole numbers; a score with decimals is banded by the score
    rounded half up to a whole number, so 20.4 is not-busy and 20.5 is busy.
    """
    whole = _half_up(score, "1")
    return next((band for upper, band in BANDS if whole <= upper), TOP_BAND)


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _zero_denominators(body: dict[str, object]) -> list[Issue]:
    return [error("business-rule", f"{ROOT}.{name}",
                  f"{name} must be more than 0: NEDOCS divides by it")
            for name in DENOMINATORS if _number(body.get(name)) == 0]


def _score_observations(body: dict[str, object], meta: MessageMeta,
                        observed_at: datetime) -> list[Observation]:
    """Score and band, when the message reports every input (else nothing)."""
    inputs = {name: value for name in INPUTS if (value := _number(body.get(name))) is not None}
    if len(inputs) < len(INPUTS):
        return []
    score = nedocs_score(**inputs)
    return [
        observation(require_definition("hospital.seh.nedocs_score", observed_at), score, meta,
                    observed_at),
        observation(require_definition("hospital.seh.nedocs_band", observed_at),
                    nedocs_band(score), meta, observed_at),
    ]


class NedocsAdapter(JsonStatusAdapter):
    """JSON NEDOCS inputs -> the inputs, plus the computed hospital.seh.nedocs_score and band."""

    source_format = "json/nedocs"
    sector = "hospital"
    path = "/v1/hospital/nedocs"
    summary = "Push the NEDOCS inputs of the SEH; the platform computes score and band"
    examples = Path(__file__).parent / "examples" / "nedocs"
    figures = INPUTS  # mapped by `parse` below; declared for the elements of figures

    def parse(self, payload: Payload, meta: MessageMeta) -> AdapterResult:
        """Map the inputs; add score and band when all inputs are reported."""
        body = json_object(payload, ROOT)
        observed_at = observed_at_of(body, meta, ROOT)
        problems = unknown_fields(body, {"location", "observed_at", *INPUTS}, ROOT)
        observations, bad = map_fields(body, INPUTS, meta, observed_at, ROOT)
        problems += bad + _zero_denominators(body)
        if not problems and observations:
            observations += _score_observations(body, meta, observed_at)
        return AdapterResult(finish(observations, problems, ROOT))


ADAPTER = NedocsAdapter()
