"""Reference data: regions and how they relate, vehicle statuses, urgencies."""

from __future__ import annotations

from definitions import load_catalogue

CATALOGUE = load_catalogue()


def test_ten_roaz_regions_with_symmetric_neighbours() -> None:
    regions = CATALOGUE.regions
    assert len(regions) == 10
    for code, region in regions.items():
        for neighbour in region.neighbours:
            assert code in regions[neighbour].neighbours, f"{code} -> {neighbour} not mutual"


def test_twenty_five_safety_regions_each_in_a_known_roaz_region() -> None:
    safety = CATALOGUE.safety_regions
    assert sorted(r.number for r in safety.values()) == list(range(1, 26))
    for region in safety.values():
        assert {region.roaz_region, *region.also} <= set(CATALOGUE.regions)
    covered = {r.roaz_region for r in safety.values()}
    assert covered == set(CATALOGUE.regions)  # every ROAZ region holds a safety region


def test_vehicle_statuses_zero_to_ten_with_free_and_at_post_available() -> None:
    statuses = CATALOGUE.vehicle_statuses
    assert sorted(statuses, key=int) == [str(n) for n in range(11)]
    assert {c for c, s in statuses.items() if s.available} == {"5", "6"}
    assert not any(s.available and s.deployed for s in statuses.values())


def test_vehicle_status_definition_allows_exactly_the_reference_codes() -> None:
    definition = CATALOGUE.get("ambulance.vehicle.status")
    assert definition is not None
    assert definition.allowed_codes() == set(CATALOGUE.vehicle_statuses)


def test_urgencies() -> None:
    ambulance = {u.code: u for u in CATALOGUE.urgencies["ambulance"]}
    assert (ambulance["A1"].response_minutes, ambulance["A2"].response_minutes) == (15, 30)
    assert [u.code for u in CATALOGUE.urgencies["nts"]] == ["U0", "U1", "U2", "U3", "U4", "U5"]
