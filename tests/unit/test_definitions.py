"""The definition catalogue: every definition, versions in force, staleness."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from definitions import Definition, load_catalogue
from definitions.catalogue import HERE, Catalogue
from definitions.validation import Value, value_problem

CURRENT = load_catalogue().current_all()
ALL_VERSIONS = [v for code in load_catalogue().codes() for v in load_catalogue().versions(code)]


def _version(version: int, effective: date, minutes: int = 15) -> Definition:
    return Definition.model_validate({
        "code": "hospital.beds.ic.available", "version": version, "effective_from": effective,
        "sector": "hospital", "category": "available_capacity",
        "label": {"nl": "Beschikbare IC-bedden", "en": "Available ICU beds"},
        "definition": "Open, staffed, equipped and free ICU beds.", "value_type": "count",
        "unit": "{bed}", "range": {"min": 0, "max": 500}, "rollup": "sum",
        "freshness_minutes": minutes, "not_reported_allowed": True,
        "mappings": {"saner": ["numICUBedsAvail"]},
    })


def _example_value(definition: Definition) -> Value:
    """A value that fits the definition, to show each one accepts something."""
    examples: dict[str, Value] = {"boolean": True, "datetime": "2026-11-22T22:30:00+01:00",
                                   "text": "Albinusdreef 2, Leiden"}
    if definition.value_type == "code":
        return definition.codes[0].code
    if definition.range is not None:
        return definition.range.min
    return examples.get(definition.value_type)


@pytest.mark.parametrize("definition", ALL_VERSIONS, ids=lambda d: f"{d.code}-v{d.version}")
def test_every_definition_is_complete_and_accepts_a_fitting_value(definition: Definition) -> None:
    assert definition.code.split(".")[0] in {
        "hospital", "hap", "gp", "vvt", "ggz", "ambulance", "facility"}
    assert definition.label.nl and definition.label.en and definition.definition
    if definition.value_type == "position":
        assert definition.category in ("location", "facility")
        return
    assert value_problem(definition, _example_value(definition)) is None


@pytest.mark.parametrize("definition", [d for d in ALL_VERSIONS if d.range is not None],
                         ids=lambda d: d.code)
def test_every_ranged_definition_refuses_a_value_beyond_its_range(definition: Definition) -> None:
    assert definition.range is not None
    assert value_problem(definition, definition.range.max + 1) is not None


def test_every_saner_code_maps_to_exactly_one_item() -> None:
    catalogue = load_catalogue()
    saner = [c.lower() for d in CURRENT for c in d.mappings.get("saner", ())]
    assert len(saner) == len(set(saner)) >= 9
    assert catalogue.by_mapping("saner", "NUMICUBEDSAVAIL") == "hospital.beds.ic.available"


def test_the_version_in_force_depends_on_the_date() -> None:
    catalogue = Catalogue([_version(2, date(2027, 1, 1)), _version(1, date(2026, 1, 1))])
    in_2026 = catalogue.get("hospital.beds.ic.available", date(2026, 6, 1))
    in_2027 = catalogue.get("hospital.beds.ic.available", date(2027, 6, 1))
    before = catalogue.get("hospital.beds.ic.available", date(2020, 1, 1))
    assert [d and d.version for d in (in_2026, in_2027, before)] == [1, 2, 1]


def test_the_real_catalogue_has_a_second_version_with_a_change_note() -> None:
    versions = load_catalogue().versions("hospital.beds.ic.available")
    assert [v.version for v in versions] == [1, 2]
    assert versions[1].effective_from == date(2026, 7, 1) and versions[1].change_note


def test_staleness_follows_the_freshness_deadline() -> None:
    definition = _version(1, date(2026, 1, 1), minutes=15)
    now = datetime(2026, 11, 22, 12, tzinfo=UTC)
    assert not definition.is_stale(now - timedelta(minutes=14), now)
    assert definition.is_stale(now - timedelta(minutes=16), now)


def test_derived_items_say_how() -> None:
    derived = {d.code for d in CURRENT if d.derived}
    assert {"hospital.seh.nedocs_score", "hospital.seh.nedocs_band",
            "ambulance.available.a1"} <= derived


def test_a_catalogue_built_afresh_holds_every_kind_of_reference_by_its_code() -> None:
    """`load_catalogue` is cached; this builds one without the cache (so its construction is
    what the test sees, as `make mutation` needs) and reads each lookup back."""
    fresh = load_catalogue.__wrapped__(HERE)
    assert fresh.codes() == load_catalogue().codes()
    assert [v.version for v in fresh.versions("hospital.beds.ic.available")] == [1, 2]
    assert fresh.version("hospital.beds.ic.available", 1) is not None
    assert fresh.version("hospital.beds.ic.available", 3) is None
    assert fresh.by_mapping("saner", "numICUBedsAvail") == "hospital.beds.ic.available"
    assert fresh.by_mapping("other-standard", "numICUBedsAvail") is None
    assert "west" in fresh.regions and fresh.regions["west"].code == "west"
    assert fresh.safety_regions and all(code == r.code for code, r in
                                        fresh.safety_regions.items())
    assert fresh.vehicle_statuses and all(code == s.code for code, s in
                                          fresh.vehicle_statuses.items())
    assert [u.code for u in fresh.urgencies["nts"]] == ["U0", "U1", "U2", "U3", "U4", "U5"]
    assert fresh.rules.in_force(date(2026, 12, 1))


def test_a_catalogue_without_reference_data_has_empty_lookups_and_no_rules() -> None:
    bare = Catalogue([_version(1, date(2026, 1, 1))])
    assert (bare.regions, bare.safety_regions, bare.vehicle_statuses, bare.urgencies) == (
        {}, {}, {}, {})
    assert not bare.rules.in_force(date(2026, 12, 1))
