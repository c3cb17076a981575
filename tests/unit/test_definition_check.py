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
