"""Every item of the per-sector table in ../shared/domain.md has a definition.

The table is kept verbatim in definitions/reference/seed_items.yaml, split into fragments with
the definitions covering each; when ../shared/domain.md is present (it is in CI), its table must
equal that copy, so a change to the domain table shows up here.
"""

from __future__ import annotations

import fnmatch
import re
from typing import Any

import pytest

from core.settings import REPO_ROOT
from definitions import load_catalogue
from definitions.catalogue import REFERENCE, read_yaml

SEED_ITEMS: list[dict[str, Any]] = read_yaml(REFERENCE / "seed_items.yaml")
DOMAIN_MD = REPO_ROOT.parent / "shared" / "domain.md"


def domain_table(text: str) -> dict[str, str]:
    """Rows of the 'Items per sector' table: first cell -> second cell."""
    section = text.split("## Items per sector", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")][2:]
    cells = [[c.strip() for c in row.strip("|").split("|")] for row in rows]
    return {row[0]: row[1] for row in cells}


def test_the_copy_matches_the_domain_table_when_it_is_beside_the_repo() -> None:
    copy = {row["row"]: row["items"] for row in SEED_ITEMS}
    assert len(copy) == 6
    if DOMAIN_MD.exists():  # always in CI: shared/ lies beside the clone
        assert domain_table(DOMAIN_MD.read_text(encoding="utf-8")) == copy


@pytest.mark.parametrize("row", SEED_ITEMS, ids=lambda r: r["sector"])
def test_fragments_make_up_the_whole_row(row: dict[str, Any]) -> None:
    remainder = row["items"]
    for part in row["covered_by"]:
        assert part["fragment"] in remainder, part["fragment"]
        remainder = remainder.replace(part["fragment"], "", 1)
    assert re.sub(r"[\s,;]", "", remainder) == "", f"uncovered: {remainder!r}"


@pytest.mark.parametrize(
    ("sector", "fragment", "pattern"),
    [(row["sector"], part["fragment"], pattern)
     for row in SEED_ITEMS for part in row["covered_by"] for pattern in part["codes"]],
)
def test_every_fragment_has_definitions_of_its_sector(
    sector: str, fragment: str, pattern: str,
) -> None:
    catalogue = load_catalogue()
    matched = fnmatch.filter(catalogue.codes(), pattern)
    assert matched, f"{fragment!r}: no definition matches {pattern}"
    found = [catalogue.get(code) for code in matched]
    assert {d.sector if d is not None else None for d in found} == {sector}


def test_all_four_categories_are_defined() -> None:
    categories = {d.category for d in load_catalogue().current_all()}
    assert categories == {"facility", "available_capacity", "busyness", "location"}


def test_the_domain_table_parser_reads_only_that_table() -> None:
    text = ("## Items per sector\n| sector | items |\n|---|---|\n| A | x; y |\n\n"
            "## Next\n| B | z |\n")
    assert domain_table(text) == {"A": "x; y"}
