"""The shared adapter helpers (`adapters/base.py`, `fhir.py`, `figures.py`, `facility.py`,
`bed_pairs.py`, `bodies.py`, `consistency.py`, `request_schemas.py`) by the refusals and
answers a provider relies on: the exact issue of each refusal the examples do not reach, and
the boundaries the helpers hold. Written against the mutants `make mutation` left alive."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, cast

import pytest
from fhir.resources.R4B.measurereport import MeasureReport
from fhir.resources.R4B.organization import Organization

from adapters import AdapterError, registry
from adapters.base import (
    Adapter,
    Issue,
    MessageMeta,
    check_observed_at,
    error,
    instant_problem,
    meta_of,
    nul_problem,
    observation,
    require_definition,
)
from adapters.bodies import figure_field, figure_type
from adapters.consistency import element_of
from adapters.facility import (
    SAFETY_REGION_URL,
    healthcare_service_record,
    location_record,
    organization_record,
)
from adapters.fhir import (
    DATA_ABSENT_REASON_URL,
    data_absent_reason,
    reference_id,
    validate_resource,
)
from adapters.request_schemas import body_schema, mapping_schema, request_schemas, write
from core.messages import RawMessage
from stack.demo import location_resource, organization_resource

RECEIVED = datetime(2026, 11, 22, 13, 0, tzinfo=UTC)
OBSERVED = "2026-11-22T12:30:00+00:00"


def _meta(source_format: str = "json/test") -> MessageMeta:
    return MessageMeta(uuid.uuid4(), "org", "loc", RECEIVED, source_format)


def _refusal(source_format: str, payload: Any) -> list[Issue]:
    """The issues with which the adapter of `source_format` refuses `payload`."""
    with pytest.raises(AdapterError) as caught:
        registry()[source_format].parse(payload, _meta(source_format))
    return caught.value.issues


def _issues(call: Any, *args: Any) -> list[Issue]:
    with pytest.raises(AdapterError) as caught:
        call(*args)
    return caught.value.issues


# adapters/base.py


def test_an_adapter_is_told_the_context_the_platform_added_at_receipt() -> None:
    """The provider's mapping table travels in the raw message's context, also on a replay."""
    raw = RawMessage(message_id=uuid.uuid4(), source_format="csv/lpz-beds", sector="hospital",
                     provider="org", location_id="loc", received_at=RECEIVED, payload="x",
                     context={"mapping": {"IC": "hospital.beds.ic.available"}})
    meta = meta_of(raw)
    assert meta == MessageMeta(raw.message_id, "org", "loc", RECEIVED, "csv/lpz-beds",
                               "hospital", {"mapping": {"IC": "hospital.beds.ic.available"}})


def test_a_csv_endpoint_refuses_a_json_object_naming_the_body() -> None:
    assert _refusal("csv/vvt-beds", {"locatie": "x"}) == [
        error("structure", "body", "expected CSV text for body")]


@pytest.fixture
def east_of_utc() -> Iterator[None]:
    """The host's local time zone nine hours east of UTC."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TZ", "JST-9")
        time.tzset()
        yield
    time.tzset()


@pytest.mark.usefixtures("east_of_utc")
def test_the_last_hours_of_9999_in_utc_are_taken_whatever_the_hosts_time_zone() -> None:
    """Whether a time has a UTC equivalent does not depend on the machine's own zone."""
    last = datetime(9999, 12, 31, 20, 0, tzinfo=UTC)
    assert instant_problem(last, "observed_at") is None
    beyond = datetime(9999, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-5)))
    assert instant_problem(beyond, "observed_at") is not None


def test_a_figure_is_mapped_under_the_definition_version_in_force_when_observed() -> None:
    """hospital.beds.ic.available has a version 2 from 2026-07-01; a March figure is v1."""
    assert require_definition("hospital.beds.ic.available",
                              datetime(2026, 3, 1, tzinfo=UTC)).version == 1
    assert require_definition("hospital.beds.ic.available",
                              datetime(2026, 8, 1, tzinfo=UTC)).version == 2


def test_an_adapter_naming_an_unknown_definition_is_a_bug_that_says_which() -> None:
    with pytest.raises(LookupError, match="adapter refers to unknown definition no.such.item"):
        require_definition("no.such.item", RECEIVED)


def test_an_observation_time_before_1900_is_refused_at_its_element() -> None:
    problem = check_observed_at(datetime(1899, 12, 31, tzinfo=UTC), _meta(), "body.observed_at")
    assert problem is not None
    assert (problem.code, problem.expression) == ("value", "body.observed_at")


def test_a_nul_character_in_text_is_refused_with_the_rule() -> None:
    assert nul_problem("a\x00b", "body.location") == error(
        "value", "body.location", "text may not contain a NUL character (\\u0000)")


def test_a_nul_character_in_a_key_names_the_object_that_holds_it() -> None:
    problem = nul_problem({"ok": 1, "bad\x00key": 2}, where="MeasureReport")
    assert problem is not None and problem.expression == "MeasureReport"


# adapters/bed_pairs.py


def test_a_bed_pair_that_is_not_an_object_is_refused_with_its_form() -> None:
    body = {"location": "loc", "observed_at": OBSERVED, "crisis_beds": 5}
    assert _refusal("json/ggz-status", body) == [error(
        "structure", "body.crisis_beds",
        'give an object {"available": n, "total": n} (null: not reported)')]


# adapters/bodies.py


def test_a_body_field_of_an_unknown_definition_is_a_bug_that_says_which() -> None:
    with pytest.raises(LookupError, match="a body field refers to unknown definition no.such"):
        figure_type("no.such")


def test_a_field_that_must_be_reported_does_not_offer_null() -> None:
    _, field = figure_field("hospital.seh.status")
    assert field.description is not None
    assert field.description.endswith("(code): `hospital.seh.status`")
    _, nullable = figure_field("gp.consults.u3.free")
    assert nullable.description is not None
    assert nullable.description.endswith("`gp.consults.u3.free`; null: not reported")


# adapters/consistency.py


def test_a_figure_of_an_adapter_that_names_no_elements_is_named_by_its_item() -> None:
    adapter = registry()["csv/lpz-beds"]
    assert not hasattr(adapter, "element_of")
    figure = observation(require_definition("hospital.beds.ic.available", RECEIVED), 3, _meta(),
                         RECEIVED)
    assert element_of(adapter, "", figure) == "hospital.beds.ic.available"


# adapters/facility.py


def test_an_organization_without_any_identifier_is_refused_for_it() -> None:
    payload = organization_resource("o1", "UMCG", "00000101")
    del payload["identifier"]
    assert [i.expression for i in _issues(organization_record, payload, "o1")] == [
        "Organization.identifier"]


def test_a_location_without_any_extension_is_refused_for_its_region() -> None:
    payload = location_resource("l1", "o1", "LUMC", "west", 52.1, 4.4)
    del payload["extension"]
    issues = _issues(location_record, payload, "l1")
    assert [(i.code, i.expression) for i in issues] == [("required", "Location.extension")]


def test_a_location_type_without_codings_is_refused_for_its_sector() -> None:
    payload = location_resource("l1", "o1", "LUMC", "west", 52.1, 4.4)
    payload["type"] = [{"text": "ziekenhuis"}]
    issues = _issues(location_record, payload, "l1")
    assert [(i.code, i.expression) for i in issues] == [("required", "Location.type")]


def test_a_veiligheidsregio_outside_the_region_names_every_region_it_lies_in() -> None:
    payload = location_resource("l1", "o1", "LUMC", "west", 52.1, 4.4)
    payload["extension"].append({"url": SAFETY_REGION_URL, "valueCode": "vr06"})
    assert _issues(location_record, payload, "l1") == [error(
        "business-rule", "Location.extension[1].valueCode",
        "veiligheidsregio vr06 (Noord- en Oost-Gelderland) does not lie in ROAZ region west; "
        "it lies in oost, euregio, zwolle")]


def test_a_service_reports_a_missing_name_and_a_bad_location_together() -> None:
    payload = {"resourceType": "HealthcareService", "providedBy": {"reference": "Organization/o1"},
               "location": [{"reference": "Organization/l1"}]}
    issues = _issues(healthcare_service_record, payload, "s1")
    assert [i.expression for i in issues] == ["HealthcareService.name",
                                              "HealthcareService.location[0].reference"]


# adapters/fhir.py


def test_a_missing_required_element_is_refused_as_required() -> None:
    payload = {"resourceType": "MeasureReport", "status": "complete", "type": "summary",
               "measure": "http://example.org/Measure/beds"}
    assert _issues(validate_resource, MeasureReport, payload) == [
        error("required", "MeasureReport.period", "Field required")]


def test_a_contained_resource_of_an_unknown_type_is_refused_as_structure() -> None:
    payload = {"resourceType": "Organization", "contained": [{"resourceType": "Nope"}]}
    issues = _issues(validate_resource, Organization, payload)
    assert [(i.code, i.expression) for i in issues] == [("structure", "Organization")]
    assert issues[0].diagnostics.startswith("not a valid R4 Organization: ")


def test_a_versioned_reference_names_the_resource_without_its_version() -> None:
    reference = {"reference": "Location/abc/_history/2"}
    assert reference_id(reference, "Location", "x") == "abc"


def test_an_extension_element_without_extensions_gives_no_absent_reason() -> None:
    assert data_absent_reason({"id": "count-1"}) is None


def test_an_absent_reason_outside_the_value_set_is_unknown() -> None:
    element = {"extension": [{"url": DATA_ABSENT_REASON_URL, "valueCode": "on-holiday"}]}
    assert data_absent_reason(element) == "unknown"
    element = {"extension": [{"url": DATA_ABSENT_REASON_URL, "valueCode": "masked"}]}
    assert data_absent_reason(element) == "masked"


# adapters/figures.py (through json/gp-consults, which keeps JsonStatusAdapter.parse)


@pytest.mark.parametrize("location", ["", 5])
def test_a_location_that_is_empty_or_not_text_is_refused(location: object) -> None:
    adapter = registry()["json/gp-consults"]
    with pytest.raises(AdapterError) as caught:
        adapter.location_of({"location": location, "observed_at": OBSERVED})
    assert caught.value.issues == [error("required", "body.location", "give location as text")]


def test_a_status_without_observed_at_is_refused_with_what_to_give() -> None:
    assert _refusal("json/gp-consults", {"location": "loc", "u3_free": 1}) == [error(
        "required", "body.observed_at",
        "give the moment the figures were true (ISO 8601, timezone)")]


def test_a_status_without_figures_is_refused() -> None:
    assert _refusal("json/gp-consults", {"location": "loc", "observed_at": OBSERVED}) == [
        error("required", "body", "the message contains no figures")]


def test_a_status_that_is_not_an_object_is_refused_naming_the_body() -> None:
    assert _refusal("json/gp-consults", ["u3_free", 1]) == [
        error("structure", "body", "expected a JSON object for body")]


# adapters/request_schemas.py


def test_the_schemas_are_written_into_a_folder_that_does_not_exist_yet(tmp_path: Path) -> None:
    folder = tmp_path / "schemas" / "requests"
    written = write(folder)
    assert sorted(p.name for p in written) == sorted(request_schemas())
    assert all(p.parent == folder for p in written)


class _Bare:
    """An adapter that declares neither a request nor a mapping schema."""

    source_format = "json/bare"
    path = "/v1/bare"


def test_an_adapter_without_its_schemas_is_a_bug_that_says_which() -> None:
    bare = cast(Adapter, _Bare())
    with pytest.raises(TypeError, match=r"^json/bare is pushed at /v1/bare but declares no "
                                        r"request_schema\(\)$"):
        body_schema(bare)
    with pytest.raises(TypeError, match=r"^json/bare needs a mapping table but declares no "
                                        r"mapping_schema\(\)$"):
        mapping_schema(bare)
