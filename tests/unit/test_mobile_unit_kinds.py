"""The kinds of mobile unit, declared once in core/mobile_units.py."""

from __future__ import annotations

from core.mobile_units import KIND_OF_SECTOR, UNIT_KINDS, sector_of
from definitions import load_catalogue


def test_each_sector_has_at_most_one_kind_and_back() -> None:
    assert len(KIND_OF_SECTOR) == len(UNIT_KINDS)
    assert all(sector_of(kind) == sector for sector, kind in KIND_OF_SECTOR.items())


def test_each_kind_reports_its_positions_under_a_catalogue_item_of_its_sector() -> None:
    catalogue = load_catalogue()
    for info in UNIT_KINDS.values():
        item = catalogue.get(info.position_item)
        assert item is not None, info.position_item
        assert item.sector == info.sector


def test_each_kind_has_its_own_map_letter() -> None:
    letters = [info.letter for info in UNIT_KINDS.values()]
    assert len(set(letters)) == len(letters) and all(len(x) == 1 for x in letters)
