"""NEDOCS: the score formula, its bands, and the adapter that computes them from the inputs."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from adapters import AdapterError, MessageMeta
from adapters.hospital.nedocs import ADAPTER, nedocs_band, nedocs_score

RECEIVED = datetime(2026, 11, 22, 13, 0, tzinfo=UTC)
META = MessageMeta(uuid.UUID(int=7), "org-umcu", "umcu-utrecht", RECEIVED, "json/nedocs")
INPUTS: dict[str, Any] = {
    "ed_patients": 30, "ed_treatment_places": 24, "admitted_boarders": 6,
    "ventilated_patients": 1, "longest_boarder_wait_min": 240,
    "last_bed_placement_wait_min": 60, "hospital_beds": 400,
}


def test_hand_computed_score() -> None:
    # -20
    # + 85.8 x (30 patients / 24 treatment places) = 85.8 x 1.25  = 107.25
    # + 600  x (6 boarders / 400 hospital beds)     = 600 x 0.015  =   9.00
    # + 13.4 x 1 ventilated patient                                =  13.40
    # + 0.93 x (240 min = 4 h longest boarder wait)                =   3.72
    # + 5.64 x (60 min = 1 h wait of the last bed placement)       =   5.64
    # = -20 + 107.25 + 9 + 13.4 + 3.72 + 5.64 = 119.01 -> 119.0 (1 decimal)
    assert nedocs_score(**INPUTS) == 119.0
    assert nedocs_band(119.0) == "overcrowded"


def test_second_hand_computed_score_rounds_to_one_decimal() -> None:
    # -20 + 85.8 x 38/32 (101.8875) + 600 x 7/1042 (4.0307) + 13.4 x 1 + 0.93 x 185/60 (2.8675)
    # + 5.64 x 42/60 (3.948) = 106.1334 -> 106.1
    score = nedocs_score(ed_patients=38, ed_treatment_places=32, admitted_boarders=7,
                         hospital_beds=1042, ventilated_patients=1,
                         longest_boarder_wait_min=185, last_bed_placement_wait_min=42)
    assert score == 106.1


def test_score_is_clamped_to_0_and_200() -> None:
    quiet = {**INPUTS, "ed_patients": 2, "admitted_boarders": 0, "ventilated_patients": 0,
             "longest_boarder_wait_min": 0, "last_bed_placement_wait_min": 5}
    assert nedocs_score(**quiet) == 0.0  # -20 + 7.15 + 0.47 = -12.38 -> 0
    swamped = {**INPUTS, "ed_patients": 90, "ventilated_patients": 4}
    assert nedocs_score(**swamped) == 200.0  # -20 + 321.75 + ... -> 200


def test_zero_denominators_are_refused_by_the_formula() -> None:
    with pytest.raises(ValueError):
        nedocs_score(**{**INPUTS, "ed_treatment_places": 0})
    with pytest.raises(ValueError):
        nedocs_score(**{**INPUTS, "hospital_beds": 0})


@pytest.mark.parametrize(("score", "band"), [
    (0, "not-busy"), (20, "not-busy"), (20.4, "not-busy"),
    (20.5, "busy"), (21, "busy"), (60, "busy"), (60.4, "busy"),
    (60.5, "extremely-busy"), (61, "extremely-busy"), (100, "extremely-busy"),
    (100.5, "overcrowded"), (101, "overcrowded"), (140, "overcrowded"),
    (140.5, "severely-overcrowded"), (141, "severely-overcrowded"),
    (180, "severely-overcrowded"), (180.4, "severely-overcrowded"),
    (180.5, "dangerously-overcrowded"), (181, "dangerously-overcrowded"),
    (200, "dangerously-overcrowded"),
])
def test_band_edges_use_the_score_rounded_half_up(score: float, band: str) -> None:
    assert nedocs_band(score) == band


def _values(body: dict[str, Any]) -> dict[str, Any]:
    result = ADAPTER.parse({"location": "umcu-utrecht",
                            "observed_at": "2026-11-22T13:45:00+01:00", **body}, META)
    return {o.definition: o.value for o in result.observations}


def test_adapter_stores_inputs_and_the_computed_score_and_band() -> None:
    values = _values(INPUTS)
    assert values["hospital.seh.nedocs_score"] == 119.0
    assert values["hospital.seh.nedocs_band"] == "overcrowded"
    assert values["hospital.seh.patients"] == 30 and values["hospital.beds.inpatient.total"] == 400
    assert len(values) == 9


@pytest.mark.parametrize("missing", sorted(INPUTS))
def test_no_score_from_partial_inputs(missing: str) -> None:
    absent = {k: v for k, v in INPUTS.items() if k != missing}
    assert len(_values(absent)) == 6
    assert "hospital.seh.nedocs_score" not in _values(absent)
    with_null = _values({**INPUTS, missing: None})
    assert "hospital.seh.nedocs_score" not in with_null
    assert "hospital.seh.nedocs_band" not in with_null
    assert sum(v is None for v in with_null.values()) == 1  # the null input: not reported


@pytest.mark.parametrize("field", ["ed_treatment_places", "hospital_beds"])
def test_zero_denominator_is_an_error_even_without_a_score(field: str) -> None:
    with pytest.raises(AdapterError) as caught:
        _values({field: 0, "ed_patients": 12})
    assert [i.expression for i in caught.value.issues] == [f"body.{field}"]


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(AdapterError) as caught:
        _values({**INPUTS, "hospital_beds": 0, "ventilated_patients": -1, "score": 80})
    assert {i.expression for i in caught.value.issues} == {
        "body.hospital_beds", "body.ventilated_patients", "body.score"}
