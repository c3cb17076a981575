"""Consistency rules between items: the pure evaluation, versions, and the real rule files."""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import date
from typing import Any

import pytest

from definitions import load_catalogue
from definitions.rules import Rule, RuleBook, RuleSet, expand, load_rules

DAY = date(2026, 11, 22)
OCC, STAFFED, AVAIL, TOTAL = (f"hospital.beds.ic.{n}"
                              for n in ("occupied", "staffed", "available", "total"))


def rule(rule_id: str = "hospital.beds.ic.occupied-within-staffed", *,
         left: tuple[str, ...] = (OCC,), at_most: tuple[str, ...] = (STAFFED,),
         severity: str = "refuse", version: int = 1, effective_from: str = "2026-01-01",
         declared_as: str | None = None) -> Rule:
    return Rule.model_validate({
        "id": rule_id, "declared_as": declared_as or rule_id, "version": version,
        "effective_from": effective_from, "severity": severity,
        "statement": "Occupied beds are staffed beds with a patient assigned.",
        "left": left, "at_most": at_most,
        **({"change_note": "a later version of the rule"} if version > 1 else {})})


WITHIN = RuleSet([rule(), rule("hospital.beds.ic.available-within-staffed-minus-occupied",
                               left=(AVAIL, OCC)),
                  rule("hospital.beds.ic.staffed-within-total", left=(STAFFED,),
                       at_most=(TOTAL,), severity="warn")])


def broken(values: dict[str, float | None], rules: RuleSet = WITHIN) -> list[str]:
    return [v.rule.id for v in rules.violations(values)]


@pytest.mark.parametrize(("values", "expected"), [
    ({OCC: 4, STAFFED: 5, AVAIL: 1, TOTAL: 6}, []),
    ({OCC: 5, STAFFED: 5, AVAIL: 0, TOTAL: 5}, []),  # equal is within
    ({OCC: 9, STAFFED: 5, AVAIL: 7},
     ["hospital.beds.ic.available-within-staffed-minus-occupied",
      "hospital.beds.ic.occupied-within-staffed"]),
    ({OCC: 4, STAFFED: 5, AVAIL: 2}, ["hospital.beds.ic.available-within-staffed-minus-occupied"]),
    ({STAFFED: 7, TOTAL: 6}, ["hospital.beds.ic.staffed-within-total"]),
    # Not reported never breaks a rule: a missing bound means no comparison at all...
    ({OCC: 9, STAFFED: None, AVAIL: 7}, []),
    ({OCC: 9, AVAIL: 7}, []),
    # ...and a missing left figure is left out of the sum (counts are never negative).
    ({OCC: None, STAFFED: 5, AVAIL: 6},
     ["hospital.beds.ic.available-within-staffed-minus-occupied"]),
    ({OCC: None, STAFFED: 5, AVAIL: 5}, []),
    ({OCC: None, AVAIL: None, STAFFED: 5}, []),
    # The rule is about available beds: without them it does not repeat occupied <= staffed.
    ({OCC: 9, STAFFED: 5}, ["hospital.beds.ic.occupied-within-staffed"]),
    ({}, []),
])
def test_which_rules_figures_break(values: dict[str, float | None], expected: list[str]) -> None:
    assert broken(values) == expected


def test_a_violation_names_the_figures_it_compared_and_why() -> None:
    [violation] = WITHIN.violations({OCC: None, STAFFED: 5, AVAIL: 6})
    assert violation.items == (AVAIL, STAFFED)  # occupied was not reported: not named
    [both] = [v for v in WITHIN.violations({OCC: 9, STAFFED: 5, AVAIL: 7})
              if len(v.left) == 2]
    assert both.describe().startswith(
        f"{AVAIL} (7) + {OCC} (9) = 16 is more than {STAFFED} (5): Occupied beds are")


def test_flags_by_item_and_partners() -> None:
    flags = WITHIN.flags({OCC: 9, STAFFED: 5, AVAIL: 0, TOTAL: 4})
    assert {item: [v.rule.id.split(".")[-1] for v in vs] for item, vs in flags.items()} == {
        OCC: ["available-within-staffed-minus-occupied", "occupied-within-staffed"],
        AVAIL: ["available-within-staffed-minus-occupied"],
        STAFFED: ["available-within-staffed-minus-occupied", "occupied-within-staffed",
                  "staffed-within-total"],
        TOTAL: ["staffed-within-total"]}
    assert WITHIN.partners([AVAIL]) == {OCC, STAFFED}
    assert WITHIN.partners([TOTAL, STAFFED]) == {OCC, AVAIL}


def test_quantities_within_rounding_keep_the_rule() -> None:
    rules = RuleSet([rule(left=(OCC, AVAIL))])
    assert broken({OCC: 0.1, AVAIL: 0.2, STAFFED: 0.3}, rules) == []


def test_a_rule_is_in_force_from_its_date_and_a_new_version_replaces_it() -> None:
    declared = "hospital.beds.ic.occupied-within-staffed"
    book = RuleBook([rule(effective_from="2026-03-01"),
                     rule(version=2, effective_from="2026-07-01", severity="warn")])
    assert len(book.in_force(date(2026, 2, 28))) == 0  # not before its first version
    assert [r.severity for r in book.in_force(date(2026, 3, 1))] == ["refuse"]
    assert [r.severity for r in book.in_force(date(2026, 7, 1))] == ["warn"]
    assert [r.version for r in book.current()] == [2]
    assert [[r.version for r in v] for v in book.versions(declared)] == [[1], [2]]


def test_a_new_version_of_a_declared_rule_may_drop_a_rule_it_made() -> None:
    declared = "hospital.beds.{c}.occupied-within-staffed"
    v1 = [rule(f"hospital.beds.{c}.occupied-within-staffed", declared_as=declared,
               left=(f"hospital.beds.{c}.occupied",), at_most=(f"hospital.beds.{c}.staffed",))
          for c in ("ic", "mc")]
    v2 = rule("hospital.beds.ic.occupied-within-staffed", declared_as=declared, version=2,
              effective_from="2026-07-01")
    book = RuleBook([*v1, v2])
    assert [r.id for r in book.in_force(date(2026, 6, 30))] == [
        "hospital.beds.ic.occupied-within-staffed", "hospital.beds.mc.occupied-within-staffed"]
    assert [r.id for r in book.in_force(date(2026, 7, 1))] == [
        "hospital.beds.ic.occupied-within-staffed"]


def test_for_each_makes_one_rule_per_combination() -> None:
    entry: dict[str, Any] = {
        "id": "hospital.beds.{category}.{count}-within-inpatient", "version": 1,
        "effective_from": "2026-01-01", "severity": "refuse",
        "statement": "The inpatient figures count every category.",
        "for_each": {"category": ["ic", "mc"], "count": ["total", "staffed"]},
        "left": ["hospital.beds.{category}.{count}"],
        "at_most": ["hospital.beds.inpatient.{count}"]}
    rules = expand(entry)
    assert [r["id"] for r in rules] == [
        "hospital.beds.ic.total-within-inpatient", "hospital.beds.ic.staffed-within-inpatient",
        "hospital.beds.mc.total-within-inpatient", "hospital.beds.mc.staffed-within-inpatient"]
    assert rules[1]["left"] == ["hospital.beds.ic.staffed"]
    assert rules[1]["at_most"] == ["hospital.beds.inpatient.staffed"]
    assert {r["declared_as"] for r in rules} == {entry["id"]}
    assert len(load_rules([entry]).in_force(DAY)) == 4


def test_an_unknown_placeholder_stays_for_the_checker_to_name() -> None:
    [made] = expand({"id": "hospital.beds.{category}.{nope}", "version": 1,
                     "effective_from": "2026-01-01", "severity": "refuse", "statement": "-",
                     "for_each": {"category": ["ic"]}, "left": ["hospital.beds.{nope}"],
                     "at_most": ["hospital.beds.{category}.total"]})
    assert made["id"] == "hospital.beds.ic.{nope}"
    assert made["left"] == ["hospital.beds.{nope}"]


def test_a_bound_of_several_items_is_their_sum() -> None:
    rules = RuleSet([rule(left=(OCC,), at_most=(STAFFED, AVAIL))])
    assert broken({OCC: 6, STAFFED: 3, AVAIL: 4}, rules) == []
    assert broken({OCC: 8, STAFFED: 3, AVAIL: 4}, rules) == [
        "hospital.beds.ic.occupied-within-staffed"]


def test_items_and_rules_no_rule_names() -> None:
    assert WITHIN.about("hospital.beds.nothing") == ()
    assert WITHIN.partners(["hospital.beds.nothing"]) == frozenset()
    assert RuleBook([rule()]).versions("hospital.beds.nothing") == []


# The real rule files -------------------------------------------------------------------------

REAL = load_catalogue().rules.in_force(DAY)


def real(values: Mapping[str, float | None]) -> dict[str, str]:
    return {v.rule.id: v.rule.severity for v in REAL.violations(values)}


def test_the_reported_5_staffed_9_occupied_7_available_ic_beds_are_refused() -> None:
    assert real({STAFFED: 5, OCC: 9, AVAIL: 7}) == {
        "hospital.beds.ic.occupied-within-staffed": "refuse",
        "hospital.beds.ic.available-within-staffed-minus-occupied": "refuse"}


@pytest.mark.parametrize(("values", "expected"), [
    ({"hospital.beds.ward.staffed": 30, "hospital.beds.ward.total": 28},
     {"hospital.beds.ward.staffed-within-total": "warn"}),
    ({"hospital.beds.ic.staffed": 12, "hospital.beds.inpatient.staffed": 10},
     {"hospital.beds.ic.staffed-within-inpatient": "refuse"}),
    ({"hospital.beds.inpatient.staffed": 900, "hospital.beds.total": 850},
     {"hospital.beds.inpatient.staffed-within-all-beds": "refuse"}),
    ({"hospital.beds.inpatient.occupied": 700, "hospital.beds.inpatient.available": 200,
      "hospital.beds.total": 850}, {"hospital.beds.inpatient.in-use-within-all-beds": "refuse"}),
    ({"hospital.ventilators.in_use": 11, "hospital.ventilators.total": 10},
     {"hospital.ventilators.in-use-within-total": "refuse"}),
    ({"hospital.seh.admitted_boarders": 12, "hospital.seh.ventilated_patients": 1,
      "hospital.seh.patients": 10},
     {"hospital.seh.admitted_boarders-within-patients": "refuse"}),
    ({"vvt.beds.grz.available": 9, "vvt.beds.grz.total": 8},
     {"vvt.beds.grz.available-within-total": "refuse"}),
    ({"ggz.beds.crisis.available": 2, "ggz.beds.crisis.total": 1},
     {"ggz.beds.crisis.available-within-total": "refuse"}),
    ({"gp.consults.u3.free": 5, "gp.consults.u4.free": 3},
     {"gp.consults.u3-within-u4": "refuse"}),
    # More ED patients than places is crowding, what NEDOCS measures: no rule.
    ({"hospital.seh.patients": 45, "hospital.seh.treatment_places": 20}, {}),
])
def test_the_real_rules(values: dict[str, float | None], expected: dict[str, str]) -> None:
    assert real(values) == expected


def test_a_consistent_hospital_breaks_no_rule() -> None:
    figures: dict[str, float | None] = {"hospital.beds.total": 1000}
    for category, (total, staffed, occupied, available) in {
            "inpatient": (900, 800, 700, 60), "ic": (40, 36, 30, 6), "ward": (500, 450, 420, 20),
            "mc": (30, 30, 30, 0)}.items():
        figures |= {f"hospital.beds.{category}.total": total,
                    f"hospital.beds.{category}.staffed": staffed,
                    f"hospital.beds.{category}.occupied": occupied,
                    f"hospital.beds.{category}.available": available}
    figures |= {"hospital.ventilators.total": 50, "hospital.ventilators.in_use": 50,
                "hospital.seh.patients": 30, "hospital.seh.admitted_boarders": 30,
                "hospital.seh.ventilated_patients": 2, "hospital.beds.nicu.total": None}
    assert real(figures) == {}


def test_every_bed_category_has_its_rules() -> None:
    categories = {code.split(".")[2] for code in load_catalogue().codes()
                  if code.startswith("hospital.beds.") and code.count(".") == 3}
    ids = {r.id for r in REAL}
    for category in categories:
        assert f"hospital.beds.{category}.occupied-within-staffed" in ids
        assert f"hospital.beds.{category}.staffed-within-total" in ids


def test_random_bed_counts_break_a_rule_exactly_when_they_do_not_add_up() -> None:
    rng = random.Random(10)
    for _ in range(2000):
        total, staffed, occupied, available = (rng.randint(0, 12) for _ in range(4))
        values = {TOTAL: total, STAFFED: staffed, OCC: occupied, AVAIL: available}
        found = set(real(values))
        assert ("hospital.beds.ic.occupied-within-staffed" in found) == (occupied > staffed)
        assert ("hospital.beds.ic.available-within-staffed-minus-occupied" in found) == (
            available > staffed - occupied)
        assert ("hospital.beds.ic.staffed-within-total" in found) == (staffed > total)
