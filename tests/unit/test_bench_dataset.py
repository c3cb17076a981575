"""The bench's national data set: deterministic, the right shape, every item in its own sector."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from itertools import islice

import pytest

from bench.dataset import SECTOR_ITEMS, UNIT_STATUS_ITEM, NationalDataSet, Scale, cadence

END = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
# The full layout (locations, units) but a 15-minute history: generated in milliseconds.
TINY = Scale(history=timedelta(minutes=15), hourly_history=timedelta(0))


@pytest.fixture(scope="module")
def data() -> NationalDataSet:
    return NationalDataSet(7, END, TINY)


def _rows(data: NationalDataSet) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    return list(data.all_observation_rows()), list(data.all_position_rows())


def test_same_seed_same_data_other_seed_other_data(data: NationalDataSet) -> None:
    again = NationalDataSet(7, END, TINY)
    assert again.sites == data.sites and again.units == data.units
    assert _rows(again) == _rows(data)
    other = NationalDataSet(8, END, TINY)
    assert [s.latitude for s in other.sites] != [s.latitude for s in data.sites]


def test_locations_per_sector(data: NationalDataSet) -> None:
    counts = Counter(site.sector for site in data.sites)
    assert counts == {"hospital": 100, "hap": 120, "gp-practice": 600, "vvt": 300, "ggz": 60,
                      "ambulance": 25}
    assert {s.roaz_region for s in data.sites} == set(data.catalogue.regions)
    assert [s.id for s in data.sites if s.seeded] == [
        f"rav-vr{n:02d}" for n in range(1, 26)]


def test_two_thousand_mobile_units(data: NationalDataSet) -> None:
    assert len(data.units) == 2000
    assert Counter(u.kind for u in data.units) == {
        "ambulance": 1000, "hap-visit-car": 500, "district-nurse": 500}
    per_region = Counter(u.veiligheidsregio for u in data.units_of("ambulance"))
    assert per_region == dict.fromkeys(data.catalogue.safety_regions, 40)
    assert len({u.id for u in data.units}) == 2000


def test_items_belong_to_the_locations_sector(data: NationalDataSet) -> None:
    sector_of = {site.id: site.sector for site in data.sites}
    items_of = {site.id: site.items for site in data.sites}
    rows, _ = _rows(data)
    for location_id, code, *_ in rows:
        if code == UNIT_STATUS_ITEM:
            assert str(location_id).startswith("bench-amb-")
            continue
        assert code in items_of[str(location_id)]
        assert data.definition(str(code)).sector == sector_of[str(location_id)]
    for site in data.sites:
        assert set(site.items) <= set(SECTOR_ITEMS[site.sector]) and site.items


def test_values_fit_their_definitions(data: NationalDataSet) -> None:
    rows, _ = _rows(data)
    for _, code, _, version, value, text, reason, *_ in rows:
        definition = data.definition(str(code))
        assert version == definition.version
        assert (value is None and text is None) == (reason is not None)
        if text is not None:
            assert text in definition.allowed_codes()
        if value is not None and definition.range is not None:
            assert isinstance(value, int | float), value
            assert definition.range.min <= value <= definition.range.max


def test_history_follows_the_cadence(data: NationalDataSet) -> None:
    site = next(s for s in data.sites_of("hospital")
                if "hospital.beds.ic.available" in s.items)
    times = [row[2] for row in data.observation_rows(site)
             if row[1] == "hospital.beds.ic.available"]
    assert cadence(data.definition("hospital.beds.ic.available")) == timedelta(minutes=5)
    assert times == [END - timedelta(minutes=10), END - timedelta(minutes=5), END]
    positions = list(islice(data.position_rows(data.units[0]), 5))
    assert [row[1] for row in positions] == [END]
