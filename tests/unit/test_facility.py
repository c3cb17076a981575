"""Facility registration: Organization and Location rules."""

from __future__ import annotations

import pytest

from adapters import AdapterError
from adapters.facility import location_record, organization_record
from stack.demo import location_resource, organization_resource


def test_organization_with_ura_is_accepted() -> None:
    record = organization_record(organization_resource("o1", "UMCG", "00000101", "06010101"),
                                 "o1")
    assert (record.id, record.name, record.ura, record.agb) == ("o1", "UMCG", "00000101",
                                                                "06010101")


def test_organization_needs_ura_or_agb() -> None:
    payload = organization_resource("o1", "UMCG", "00000101")
    payload["identifier"] = []
    with pytest.raises(AdapterError) as caught:
        organization_record(payload, "o1")
    assert caught.value.issues[0].expression == "Organization.identifier"


def test_ura_has_eight_digits() -> None:
    with pytest.raises(AdapterError) as caught:
        organization_record(organization_resource("o1", "UMCG", "12ab"), "o1")
    assert caught.value.issues[0].expression == "Organization.identifier[0].value"


def test_location_maps_region_sector_position_and_organisation() -> None:
    payload = location_resource("l1", "o1", "LUMC", "west", 52.1665, 4.4782)
    record = location_record(payload, "l1")
    assert (record.organization_id, record.roaz_region, record.sector) == ("o1", "west",
                                                                           "hospital")
    assert (record.latitude, record.longitude) == (52.1665, 4.4782)


def test_location_reports_every_problem_at_once() -> None:
    payload = location_resource("l1", "o1", "LUMC", "atlantis", 52.1, 4.4)
    del payload["position"]
    payload["type"][0]["coding"][0]["code"] = "spa"
    with pytest.raises(AdapterError) as caught:
        location_record(payload, "l1")
    expressions = {i.expression for i in caught.value.issues}
    assert expressions == {"Location.extension[0].valueCode", "Location.type[0].coding[0].code",
                           "Location.position"}


def test_wrong_resource_type_is_refused() -> None:
    with pytest.raises(AdapterError) as caught:
        location_record({"resourceType": "Patient"}, "l1")
    assert caught.value.issues[0].expression == "resourceType"
