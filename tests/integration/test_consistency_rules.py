"""Figures that make sense together, end to end over HTTP: a report whose figures break a
`refuse` rule is refused naming both figures and the rule, and nothing is stored; one that
breaks a `warn` rule is accepted with a warning and its figures are flagged in
/v1/availability, as a ZCV reads it; figures of different messages are flagged together; a
consistent report is accepted without warnings or flags.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import psycopg

from stack.demo import measure_report
from tests.integration.helpers import all_figures_of, push, raw_count, stored_count
from tests.waiting import wait_for

ITEM_SYSTEM = "https://zorgcapaciteit.nl/fhir/CodeSystem/capacity-item"
RULE_SYSTEM = "https://zorgcapaciteit.nl/fhir/CodeSystem/consistency-rule"
IC = "hospital.beds.ic"


def _report(location_id: str, saner: dict[str, int | None],
            platform: dict[str, int]) -> dict[str, Any]:
    """A SANER MeasureReport with SANER codes, plus figures under the platform's item codes."""
    report = measure_report(location_id, saner, datetime.now(UTC))
    report["group"][0]["population"] += [
        {"code": {"coding": [{"system": ITEM_SYSTEM, "code": code}]}, "count": count}
        for code, count in platform.items()]
    return report


def _rules(outcome: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The issues of an OperationOutcome that name a declared rule, by rule id."""
    return {issue["details"]["coding"][0]["code"]: issue for issue in outcome["issue"]
            if issue.get("details", {}).get("coding", [{}])[0].get("system") == RULE_SYSTEM}


def _flags(figures: dict[str, Any]) -> dict[str, list[tuple[str, str, list[str]]]]:
    return {code: [(f["rule"], f["severity"], f["with"]) for f in figure["flags"]]
            for code, figure in figures.items()}


def _warnings_counted(api: httpx.Client) -> float:
    for line in api.get("/metrics").text.splitlines():
        if (line.startswith("zc_message_warnings_total{") and 'code="business-rule"' in line
                and 'source_format="fhir-r4/MeasureReport"' in line):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_the_5_staffed_9_occupied_7_available_ic_report_is_refused(
    provider: httpx.Client, hospital: str, db: psycopg.Connection[Any],
) -> None:
    response = push(provider, hospital,
                    {"numICUBeds": 5, "numICUBedsOcc": 9, "numICUBedsAvail": 7})
    assert response.status_code == 422, response.text
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    rules = _rules(outcome)
    occupied = rules[f"{IC}.occupied-within-staffed"]
    assert occupied["severity"] == "error" and occupied["code"] == "business-rule"
    # Both figures: numICUBedsOcc (population 1) and numICUBeds (population 0).
    assert occupied["expression"] == ["MeasureReport.group[0].population[1].count",
                                      "MeasureReport.group[0].population[0].count"]
    assert f"{IC}.occupied (9) is more than {IC}.staffed (5)" in occupied["diagnostics"]
    assert occupied["details"]["coding"][0]["version"] == "1"
    assert occupied["details"]["text"].startswith("Occupied beds are staffed beds")
    assert len(rules[f"{IC}.available-within-staffed-minus-occupied"]["expression"]) == 3

    # A good report afterwards is the barrier: once it is stored, the bad one would be too.
    push(provider, hospital, {"numICUBeds": 5, "numICUBedsOcc": 4, "numICUBedsAvail": 1}
         ).raise_for_status()
    wait_for(lambda: stored_count(db, hospital) == 3, timeout=20, what="the good report")
    assert raw_count(db, hospital) == 1


def test_a_warn_rule_is_accepted_with_a_warning_and_flagged(
    provider: httpx.Client, hospital: str, zcv: httpx.Client, api: httpx.Client,
) -> None:
    counted = _warnings_counted(api)
    # A surge: 46 staffed IC beds against a licensed total of 40.
    report = _report(hospital, {"numICUBeds": 46, "numICUBedsOcc": 44, "numICUBedsAvail": 2},
                     {f"{IC}.total": 40})
    response = provider.post("/fhir/MeasureReport", json=report,
                             headers={"Content-Type": "application/fhir+json"})
    assert response.status_code == 202, response.text
    [warning] = _rules(response.json()).values()
    assert warning["severity"] == "warning"
    assert warning["details"]["coding"][0]["code"] == f"{IC}.staffed-within-total"
    assert warning["expression"] == ["MeasureReport.group[0].population[0].count",
                                     "MeasureReport.group[0].population[3].count"]
    assert _warnings_counted(api) == counted + 1

    wanted = {f"{IC}.{n}" for n in ("total", "staffed", "occupied", "available")}
    figures = wait_for(lambda: all_figures_of(zcv, hospital, wanted), timeout=20,
                       what="the surge figures")
    assert _flags(figures) == {
        f"{IC}.staffed": [(f"{IC}.staffed-within-total", "warn", [f"{IC}.total"])],
        f"{IC}.total": [(f"{IC}.staffed-within-total", "warn", [f"{IC}.staffed"])],
        f"{IC}.occupied": [], f"{IC}.available": []}
    flag = figures[f"{IC}.staffed"]["flags"][0]
    assert flag["rule_version"] == 1
    assert flag["message"].startswith(f"{IC}.staffed (46) is more than {IC}.total (40): ")


def test_figures_of_different_messages_are_flagged_together(
    provider: httpx.Client, hospital: str, zcv: httpx.Client,
) -> None:
    at = datetime.now(UTC).isoformat()
    nedocs = provider.post("/v1/hospital/nedocs", json={
        "location": hospital, "observed_at": at, "ed_patients": 30, "ed_treatment_places": 25,
        "admitted_boarders": 4, "hospital_beds": 100})
    assert nedocs.status_code == 202, nedocs.text
    assert "details" not in str(nedocs.json())
    saner = push(provider, hospital, {"numbeds": 120, "numBedsOcc": 100})
    assert saner.status_code == 202, saner.text
    assert _rules(saner.json()) == {}

    total, staffed = "hospital.beds.inpatient.total", "hospital.beds.inpatient.staffed"
    figures = wait_for(lambda: all_figures_of(zcv, hospital, {total, staffed}), timeout=20,
                       what="figures of both messages")
    rule = "hospital.beds.inpatient.staffed-within-total"
    assert _flags(figures)[staffed] == [(rule, "warn", [total])]
    assert _flags(figures)[total] == [(rule, "warn", [staffed])]
    # Asked for one item, the figure is still compared with the others, which stay out.
    body = zcv.get("/v1/availability", params={"region": "west", "item": staffed}).json()
    [ours] = [loc for loc in body["locations"] if loc["location_id"] == hospital]
    assert [f["definition"] for f in ours["figures"]] == [staffed]
    assert [f["rule"] for f in ours["figures"][0]["flags"]] == [rule]


def test_a_consistent_report_is_accepted_without_warnings_or_flags(
    provider: httpx.Client, hospital: str, zcv: httpx.Client,
) -> None:
    figures = {"numTotBeds": 900, "numbeds": 800, "numBedsOcc": 700, "numBedsAvail": 60,
               "numICUBeds": 40, "numICUBedsOcc": 36, "numICUBedsAvail": 4,
               "numVent": 30, "numVentUse": 25}
    response = push(provider, hospital, figures)
    assert response.status_code == 202, response.text
    assert [i["severity"] for i in response.json()["issue"]] == ["information"]
    wanted = {"hospital.beds.total", "hospital.beds.inpatient.available", f"{IC}.available",
              "hospital.ventilators.in_use"}
    live = wait_for(lambda: all_figures_of(zcv, hospital, wanted), timeout=20,
                    what="the consistent figures")
    assert len(live) == len(figures)
    assert all(figure["flags"] == [] for figure in live.values()), _flags(live)
