"""The HTML page of the definition catalogue."""

from __future__ import annotations

import html
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest

from definitions import Definition, load_catalogue
from definitions.catalogue import Catalogue
from definitions.docs import duration, render_catalogue, write_catalogue

CHECKED_TAGS = {"section", "table", "ul", "div"}


class _Structure(HTMLParser):
    """Collects ids and checks that sections, tables, lists and divs open and close in order."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.ids.update(value for name, value in attrs if name == "id" and value)
        if tag in CHECKED_TAGS:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag not in CHECKED_TAGS:
            return
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(f"unexpected </{tag}>")


def _parse(page: str) -> _Structure:
    parser = _Structure()
    parser.feed(page)
    parser.close()
    return parser


@pytest.fixture(scope="module")
def page() -> str:
    return render_catalogue(load_catalogue(), datetime(2026, 11, 22, 12, tzinfo=UTC))


def test_every_item_has_an_anchor_and_its_english_label(page: str) -> None:
    ids = _parse(page).ids
    for item in load_catalogue().current_all():
        assert item.code in ids
        assert html.escape(item.label.en) in page


def test_an_item_with_several_versions_shows_its_history(page: str) -> None:
    versions = load_catalogue().versions("hospital.beds.ic.available")
    assert [v.version for v in versions] == [1, 2]
    start = page.index('id="hospital.beds.ic.available"')
    section = page[start:page.index("</section>", start)]
    assert "Version 1" in section and "Version 2" in section
    assert html.escape(versions[1].change_note or "") in section
    assert html.escape(versions[0].definition) in section


def test_every_rule_is_listed_and_linked_from_its_items(page: str) -> None:
    rules = load_catalogue().rules.current()
    assert len(rules) > 50
    ids = _parse(page).ids
    listed = page[page.index('id="rules"'):page.index('id="reference"')]
    for rule in rules:
        assert f"rule-{rule.id}" in ids
        assert html.escape(rule.statement) in listed
    start = page.index('id="hospital.beds.ic.staffed"')
    section = page[start:page.index("</section>", start)]
    assert 'href="#rule-hospital.beds.ic.occupied-within-staffed"' in section
    assert "(warn)" in section and "(refuse)" in section
    assert 'href="#rules"' in page


def test_text_is_escaped() -> None:
    item = Definition.model_validate({
        "code": "hospital.test.item", "version": 1, "effective_from": "2026-01-01",
        "sector": "hospital", "category": "busyness",
        "label": {"nl": "Test & <b>", "en": "Test <i>label</i>"},
        "definition": "Counts <script>alert('x')</script> and nothing else.",
        "excludes": ["<img src=x>"], "value_type": "count", "unit": "{bed}",
        "rollup": "sum", "freshness_minutes": 15, "not_reported_allowed": True,
    })
    page = render_catalogue(Catalogue([item]))
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page
    assert "<img src=x>" not in page and "Test &lt;i&gt;label&lt;/i&gt;" in page


def test_reference_sections_list_every_region(page: str) -> None:
    catalogue = load_catalogue()
    assert len(catalogue.regions) == 10 and len(catalogue.safety_regions) == 25
    reference = page[page.index('id="reference"'):]
    for region in catalogue.regions.values():
        assert f"<td>{html.escape(region.name)}</td>" in reference
    for safety in catalogue.safety_regions.values():
        assert f"<td>{html.escape(safety.name)}</td>" in reference


def test_the_page_is_well_formed(page: str) -> None:
    parser = _parse(page)
    assert page.startswith("<!DOCTYPE html>") and '<html lang="en">' in page
    assert parser.errors == [] and parser.stack == []
    assert "Generated 2026-11-22T12:00+00:00" in page


def test_the_page_is_self_contained(page: str) -> None:
    for external in ("<link", " src=", "@import", "url("):
        assert external not in page


def test_write_catalogue_creates_the_file(tmp_path: Path) -> None:
    path = write_catalogue(tmp_path / "x" / "c.html")
    assert path == tmp_path / "x" / "c.html"
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


@pytest.mark.parametrize(("minutes", "text"), [
    (15, "15 min"), (60, "1 h"), (90, "1 h 30 min"), (1440, "1 day"), (43200, "30 days"),
])
def test_freshness_reads_as_a_duration(minutes: int, text: str) -> None:
    assert duration(minutes) == text
