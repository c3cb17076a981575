"""`make lint` refuses a malformed definition file, naming the file, the entry and the rule."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from core.settings import REPO_ROOT
from definitions.catalogue import HERE
from definitions.check import check

GOOD: dict[str, Any] = {
    "code": "hospital.beds.test.available", "version": 1, "effective_from": "2026-01-01",
    "sector": "hospital", "category": "available_capacity",
    "label": {"nl": "Testbedden", "en": "Test beds"},
    "definition": "Beds used only by this test, open, staffed and free.",
    "value_type": "count", "unit": "{bed}", "range": {"min": 0, "max": 10}, "rollup": "sum",
    "freshness_minutes": 15, "not_reported_allowed": True, "mappings": {},
}


def folder_with(tmp_path: Path, entries: list[Any], name: str = "extra.yaml") -> Path:
    shutil.copytree(HERE, tmp_path / "definitions",
                    ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    (tmp_path / "definitions" / name).write_text(yaml.safe_dump(entries, sort_keys=False))
    return tmp_path / "definitions"


def rules(tmp_path: Path, entries: list[Any]) -> list[str]:
    return [str(p) for p in check(folder_with(tmp_path, entries))]


def test_the_real_catalogue_passes() -> None:
    assert check() == []


@pytest.mark.parametrize(("change", "expected"), [
    ({"unit": None},
     "extra.yaml: entry 1 (hospital.beds.test.available v1): 'unit' is a required"),
    ({"value_type": "float"}, "value_type: 'float' is not one of"),
    ({"rollup": "average"}, "rollup: 'average' is not one of"),
    ({"surprise": 1}, "Additional properties are not allowed ('surprise' was unexpected)"),
    ({"range": {"min": 5, "max": 1}}, "range: min must not exceed max"),
    ({"value_type": "code"}, "'codes' is a required property"),
    ({"effective_from": "1 Jan 2026"}, "effective_from: '1 Jan 2026' does not match"),
    ({"mappings": {"saner": ["NUMICUBEDSAVAIL"]}},
     "saner code numicubedsavail: maps to more than one item"),
])
def test_a_broken_rule_is_named(tmp_path: Path, change: dict[str, Any], expected: str) -> None:
    entry = {k: v for k, v in {**GOOD, **change}.items() if v is not None}
    found = rules(tmp_path, [entry])
    assert any(expected in rule for rule in found), found


def test_version_rules(tmp_path: Path) -> None:
    v2 = {**GOOD, "version": 2, "effective_from": "2025-01-01", "unit": "{cot}",
          "change_note": "a later version with an earlier date"}
    found = rules(tmp_path, [GOOD, v2])
    assert any("effective_from must be later than the previous version's" in r for r in found)
    assert any("unit may not change between versions" in r for r in found)
    gap = {**GOOD, "version": 3, "effective_from": "2027-01-01",
           "change_note": "a gap before me"}
    found = rules(tmp_path / "g", [GOOD, gap])
    assert any("versions must be 1..n without gaps" in r for r in found)


def test_a_file_that_is_not_yaml_is_named(tmp_path: Path) -> None:
    folder = folder_with(tmp_path, [])
    (folder / "broken.yaml").write_text("- code: [unclosed\n")
    assert any(str(p).startswith("broken.yaml: file: not valid YAML") for p in check(folder))


def test_the_command_exits_non_zero_and_prints_the_problem(tmp_path: Path) -> None:
    folder = folder_with(tmp_path, [{**GOOD, "rollup": "average"}])
    run = subprocess.run([sys.executable, "-m", "definitions.check", str(folder)],
                         capture_output=True, text=True, cwd=REPO_ROOT)
    assert run.returncode == 1
    expected = "definitions: extra.yaml: entry 1 (hospital.beds.test.available v1): rollup"
    assert expected in run.stderr


# Consistency rules (definitions/rules/*.yaml) -----------------------------------------------

RULE: dict[str, Any] = {
    "id": "hospital.beds.test.available-within-ic", "version": 1, "effective_from": "2026-01-01",
    "severity": "refuse", "statement": "Test beds are IC beds, so never more than IC beds.",
    "left": ["hospital.beds.test.available"], "at_most": ["hospital.beds.ic.available"],
}


IC = {**GOOD, "code": "hospital.beds.ic.available"}
OCCUPIED = {**GOOD, "code": "hospital.beds.ic.occupied"}


def rule_problems(tmp_path: Path, rules: object, items: list[Any] | None = None) -> list[str]:
    """The problems of the rule file `rules` (its entries, or whatever else YAML holds)
    beside a small catalogue: GOOD, IC, OCCUPIED and `items`."""
    folder = tmp_path / "definitions"
    (folder / "rules").mkdir(parents=True)
    (folder / "items.yaml").write_text(yaml.safe_dump([GOOD, IC, OCCUPIED, *(items or [])]))
    (folder / "rules" / "extra.yaml").write_text(yaml.safe_dump(rules, sort_keys=False))
    return [str(p) for p in check(folder)]


def test_a_good_rule_passes(tmp_path: Path) -> None:
    assert rule_problems(tmp_path, [RULE]) == []


VVT_ITEM = {**GOOD, "code": "vvt.beds.test.available", "sector": "vvt"}
COT_ITEM = {**GOOD, "code": "hospital.cots.test.available", "unit": "{cot}"}
CODE_ITEM = {**GOOD, "code": "hospital.beds.test.state", "value_type": "code", "unit": "code",
             "rollup": "latest",
             "codes": [{"code": "a", "label": "A"}, {"code": "b", "label": "B"}]}
SIGNED_ITEM = {**GOOD, "code": "hospital.beds.test.change", "range": {"min": -10, "max": 10}}


@pytest.mark.parametrize(("change", "items", "expected"), [
    ({"at_most": ["hospital.beds.nothing.available"]}, None,
     "extra.yaml: entry 1 (hospital.beds.test.available-within-ic v1), rule "
     "hospital.beds.test.available-within-ic: unknown item hospital.beds.nothing.available"),
    ({"left": ["vvt.beds.test.available"]}, [VVT_ITEM],
     "relates items of different sectors: vvt.beds.test.available (vvt), "
     "hospital.beds.ic.available (hospital)"),
    ({"left": ["hospital.cots.test.available"]}, [COT_ITEM],
     "relates items of different units: hospital.cots.test.available ({cot}), "
     "hospital.beds.ic.available ({bed})"),
    ({"left": ["hospital.beds.test.state"]}, [CODE_ITEM],
     "hospital.beds.test.state is a code item; rules compare counts and quantities"),
    ({"left": ["hospital.beds.ic.occupied", "hospital.beds.test.change"]}, [SIGNED_ITEM],
     "hospital.beds.test.change may be negative"),
    ({"left": ["hospital.beds.ic.available"]}, None, "hospital.beds.ic.available is on both sides"),
    ({"severity": "block"}, None, "severity: 'block' is not one of ['refuse', 'warn']"),
    ({"left": []}, None, "left: [] should be non-empty"),
    ({"at_most": None}, None, "'at_most' is a required property"),
    ({"id": "Hospital beds"}, None, "id: 'Hospital beds' does not match"),
    ({"id": "hospital.beds.{category}.x-within-y"}, None,
     "placeholder {category} has no values in for_each"),
    ({"for_each": {"category": ["ic", "mc"]}}, None,
     "for_each: {category} must appear in the id, or the rules it makes share one id"),
])
def test_a_broken_rule_entry_is_named(tmp_path: Path, change: dict[str, Any],
                                      items: list[Any] | None, expected: str) -> None:
    entry = {k: v for k, v in {**RULE, **change}.items() if v is not None}
    found = rule_problems(tmp_path, [entry], items)
    assert any(expected in problem for problem in found), found


def test_rule_versions_and_ids(tmp_path: Path) -> None:
    v2 = {**RULE, "version": 2, "effective_from": "2025-06-01"}
    found = rule_problems(tmp_path / "a", [RULE, v2])
    assert any("'change_note' is a required property" in p for p in found), found
    assert any("effective_from must be later than the previous version's" in p for p in found)
    gap = {**RULE, "version": 3, "effective_from": "2027-01-01", "change_note": "after a gap"}
    assert any("versions must be 1..n without gaps, got [1, 3]" in p
               for p in rule_problems(tmp_path / "b", [RULE, gap]))
    twice = {**RULE, "id": "hospital.beds.{c}.available-within-ic",
             "for_each": {"c": ["test"]}}
    assert any("rule hospital.beds.test.available-within-ic: declared by more than one entry"
               in p for p in rule_problems(tmp_path / "c", [RULE, twice]))


def test_a_rule_file_that_is_not_a_list_is_named(tmp_path: Path) -> None:
    found = rule_problems(tmp_path, RULE)
    assert "extra.yaml: file: must be a YAML list of rule entries" in found
