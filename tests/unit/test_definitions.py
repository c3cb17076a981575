"""The definition catalogue: loading, versions in force, mappings."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from definitions import Definition, load_catalogue
from definitions.catalogue import Catalogue


def _version(version: int, effective: date, minutes: int = 15) -> Definition:
    return Definition.model_validate({
        "code": "hospital.beds.ic.available", "version": version, "effective_from": effective,
        "sector": "hospital", "category": "available_capacity",
        "label": {"nl": "Beschikbare IC-bedden", "en": "Available ICU beds"},
        "definition": "Open, staffed, equipped and free ICU beds.", "value_type": "count",
        "unit": "bed", "rollup": "sum", "freshness_minutes": minutes,
        "not_reported_allowed": True, "mappings": {"saner": ["numICUBedsAvail"]},
    })


def test_every_definition_loads_and_saner_codes_map_uniquely() -> None:
    catalogue = load_catalogue()
    saner_codes = [c.lower() for d in catalogue.current_all() for c in d.mappings.get("saner", [])]
    assert len(saner_codes) == len(set(saner_codes)) > 0
    for code in saner_codes:
        assert catalogue.by_mapping("saner", code) is not None


def test_the_version_in_force_depends_on_the_date() -> None:
    catalogue = Catalogue([_version(2, date(2027, 1, 1)), _version(1, date(2026, 1, 1))], [])
    in_2026 = catalogue.get("hospital.beds.ic.available", date(2026, 6, 1))
    in_2027 = catalogue.get("hospital.beds.ic.available", date(2027, 6, 1))
    assert (in_2026 and in_2026.version, in_2027 and in_2027.version) == (1, 2)


def test_staleness_follows_the_freshness_deadline() -> None:
    definition = _version(1, date(2026, 1, 1), minutes=15)
    now = datetime(2026, 11, 22, 12, tzinfo=UTC)
    assert not definition.is_stale(now - timedelta(minutes=14), now)
    assert definition.is_stale(now - timedelta(minutes=16), now)


def test_regions_are_the_ten_roaz_regions() -> None:
    assert len(load_catalogue().regions) == 10
