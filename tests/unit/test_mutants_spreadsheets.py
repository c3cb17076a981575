"""What the spreadsheet and agenda adapters answer where no example file fits: a payload of the
wrong kind, a cell too large for the CSV reader, more beds or free slots than a definition
allows, `parse` called on its own, an agenda entry without a resource.

Each refusal is asserted whole (element, FHIR issue type, text), as a provider reads it.
"""

from __future__ import annotations

import copy
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from adapters import AdapterResult, MessageMeta
from adapters.base import Payload
from adapters.gp.slots import ADAPTER as GP_SLOTS
from adapters.hospital.lpz_csv import ADAPTER as LPZ_CSV
from adapters.vvt.beds_csv import ADAPTER as VVT_BEDS_CSV
from adapters.vvt.beds_json import ADAPTER as VVT_BEDS_JSON
from tests.adapter_calls import refusal

RECEIVED = datetime(2026, 11, 22, 13, 0, tzinfo=UTC)
VVT_HEADER = "locatie;zorgsoort;beschikbaar;totaal;tijdstip\n"
LPZ_HEAD = "#location=alrijne-leiderdorp\nafdeling;kamer;bed;status;tijdstip\n"
LPZ_CONTEXT = {"mapping": {"departments": {"IC": "ic", "A3": "ward"}, "ignore": ["DAGBEH"]}}
TOO_LARGE = "x" * 131_073  # one character beyond the csv module's field limit (131,072)


def _meta(source_format: str, location: str, context: dict[str, Any] | None = None) -> MessageMeta:
    return MessageMeta(uuid.UUID(int=7), "provider-x", location, RECEIVED, source_format,
                       "test", context or {})


def _vvt(payload: Payload) -> AdapterResult:
    return VVT_BEDS_CSV.parse(payload, _meta("csv/vvt-beds", "vvt-florence-elv-mariahoeve"))


def _lpz(payload: Payload) -> AdapterResult:
    return LPZ_CSV.parse(payload, _meta("csv/lpz-beds", "alrijne-leiderdorp", LPZ_CONTEXT))


# --- payloads of the wrong kind: each entry point names what it expected -------------------

def test_the_csv_adapters_refuse_a_payload_that_is_not_text() -> None:
    body = {"locatie": "vvt-florence-elv-mariahoeve"}
    wrong_vvt = [("body", "structure", "expected CSV text for body")]
    assert refusal(lambda: VVT_BEDS_CSV.location_of(body)) == wrong_vvt
    assert refusal(lambda: _vvt(body)) == wrong_vvt
    wrong_lpz = [("CSV", "structure", "expected CSV text for CSV")]
    assert refusal(lambda: LPZ_CSV.location_of(body)) == wrong_lpz
    assert refusal(lambda: _lpz(body)) == wrong_lpz


def test_the_json_adapters_refuse_a_payload_that_is_not_an_object() -> None:
    wrong = "{\"resourceType\": \"Bundle\"}"  # JSON still as text
    assert refusal(lambda: GP_SLOTS.location_of(wrong)) == [
        ("Bundle", "structure", "expected a JSON object for Bundle")]
    assert refusal(lambda: VVT_BEDS_JSON.parse(wrong, _meta("json/vvt-beds", "vvt-x"))) == [
        ("body", "structure", "expected a JSON object for body")]


# --- CSV the reader cannot read ---------------------------------------------------------------

def test_a_cell_beyond_the_csv_field_limit_is_refused_naming_its_row() -> None:
    vvt = (VVT_HEADER + "vvt-florence-elv-mariahoeve;GRZ;1;2;2026-11-22T12:00:00+01:00\n"
           f"vvt-florence-elv-mariahoeve;GRZ;1;2;{TOO_LARGE}\n")
    assert refusal(lambda: _vvt(vvt)) == [
        ("row 3", "structure", "not readable as CSV: field larger than field limit (131072)")]
    lpz = LPZ_HEAD + f"IC;Box 1;1;bezet;2026-11-22T13:45:01+01:00\nIC;{TOO_LARGE};1;vrij;x\n"
    assert refusal(lambda: _lpz(lpz)) == [
        ("row 4", "structure", "not readable as CSV: field larger than field limit (131072)")]


# --- parse on its own (the platform asks location_of first, which refuses these too) -------

def test_parse_on_its_own_refuses_a_file_without_data() -> None:
    assert refusal(lambda: _vvt(VVT_HEADER)) == [
        ("body", "required", "the message contains no figures")]
    assert refusal(lambda: _lpz("")) == [
        ("row 1", "required", "the first line must name the hospital: "
         "'#location=<registered Location id>'")]


# --- counts beyond what a definition allows ---------------------------------------------------

def test_more_beds_than_a_definition_allows_are_refused_naming_the_file() -> None:
    rows = "".join(f"IC;Box {n};1;bezet;2026-11-22T13:45:01+01:00\n" for n in range(501))
    issues = refusal(lambda: _lpz(LPZ_HEAD + rows))
    assert ("CSV", "value", "hospital.beds.ic.total must lie within [0, 500], got 501") in issues
    # 500 beds are still within the range
    result = _lpz(LPZ_HEAD + rows.split("\n", 1)[1])
    assert {o.definition: o.value for o in result.observations}["hospital.beds.ic.total"] == 500


def _agenda(free_slots: int) -> dict[str, Any]:
    bundle: dict[str, Any] = json.loads((GP_SLOTS.examples / "fully-booked.json").read_text())
    slot = bundle["entry"][1]
    start = datetime(2026, 11, 22, 14, 0, tzinfo=UTC)  # within 3 hours of the timestamp
    for n in range(free_slots):
        entry = copy.deepcopy(slot)
        entry["fullUrl"] = f"urn:uuid:{uuid.UUID(int=n)}"
        entry["resource"].update(id=f"free-{n}", status="free", start=start.isoformat(),
                                 end=(start + timedelta(minutes=10)).isoformat())
        bundle["entry"].append(entry)
    return bundle


def test_more_free_u3_slots_than_the_definition_allows_are_refused() -> None:
    meta = _meta("fhir-r4/Bundle-slots", "hp-de-linde-zeist")
    assert refusal(lambda: GP_SLOTS.parse(_agenda(201), meta)) == [
        ("Bundle.entry", "value", "gp.consults.u3.free must lie within [0, 200], got 201")]
    counts = {o.definition: o.value for o in GP_SLOTS.parse(_agenda(200), meta).observations}
    assert counts == {"gp.consults.u3.free": 200, "gp.consults.u4.free": 200}


# --- the GP agenda --------------------------------------------------------------------------

def test_an_agenda_entry_without_a_resource_is_a_warning_not_a_refusal() -> None:
    bundle = _agenda(1)
    bundle["entry"].append({"fullUrl": "urn:uuid:0d6f3c2a-8e4b-4f7a-9c1d-2b3e4f5a6b7c"})
    result = GP_SLOTS.parse(bundle, _meta("fhir-r4/Bundle-slots", "hp-de-linde-zeist"))
    assert [(i.expression, i.code, i.diagnostics) for i in result.warnings] == [
        ("Bundle.entry[4].resource", "not-supported",
         "an empty entry is not read here; only Schedule and Slot resources are")]
    assert [o.value for o in result.observations] == [1, 1]


def test_the_agenda_keeps_each_slots_start_and_end() -> None:
    agenda = GP_SLOTS.agenda(_agenda(1))
    times = {s.slot_id: (s.start_at.isoformat(), s.end_at.isoformat()) for s in agenda.slots}
    assert times["s1"] == ("2026-11-22T14:00:00+01:00", "2026-11-22T14:10:00+01:00")
    assert times["free-0"] == ("2026-11-22T14:00:00+00:00", "2026-11-22T14:10:00+00:00")


def test_the_lpz_location_line_keeps_an_id_that_ends_in_a_capital_x() -> None:
    """Registered ids may hold capitals (core/ids.py); only the spreadsheet's padding
    separators are taken off the location line."""
    assert LPZ_CSV.location_of("#location=ZH-NOORD-X;;;;\n" + LPZ_HEAD.split("\n", 1)[1]) == (
        "ZH-NOORD-X")
