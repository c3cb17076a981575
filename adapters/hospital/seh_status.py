"""SEH (emergency department) status and department admission stops, as a JSON status message.

    {"location": "umcu-utrecht", "observed_at": "2026-11-22T13:40:00+01:00",
     "seh": {"status": "stop", "reason": "no-beds", "expected_end": "2026-11-22T16:00:00+01:00"},
     "admission_stops": {"ic": true, "ccu": false}}

`seh` says whether the ED takes ambulance patients (open, time-out, stop), and when it does not,
why and until when the hospital expects it to last: a time-out or stop without a reason and an
expected end is of little use to a coordination centre planning where to send the next patient,
so both are required then, and an open ED has neither. `admission_stops` says per department
(the departments of the `hospital.admission_stop.*` definitions) whether it takes acute
admissions. Either part may be sent alone.
Expressions in errors are paths from the root, `body` (e.g. `body.seh.expected_end`).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import Field, create_model

from adapters.base import (
    AdapterError,
    AdapterResult,
    Issue,
    MessageMeta,
    Payload,
    check_value,
    error,
    json_object,
    observation,
    parse_instant,
    require_definition,
)
from adapters.bodies import FORBID, figure_field, figure_type, figures_model
from adapters.figures import (
    JsonStatusAdapter,
    finish,
    map_fields,
    observed_at_of,
    unknown_fields,
)
from core.messages import Observation
from definitions import load_catalogue

ROOT = "body"
STOP_PREFIX = "hospital.admission_stop."
OPEN = "open"


def admission_stop_departments() -> dict[str, str]:
    """Department key -> definition code, for every `hospital.admission_stop.*` item."""
    return {code.removeprefix(STOP_PREFIX): code for code in load_catalogue().codes()
            if code.startswith(STOP_PREFIX)}


def _object(body: dict[str, Any], name: str) -> tuple[dict[str, Any] | None, list[Issue]]:
    """An optional sub-object of the message; present but not an object is an error."""
    if name not in body:
        return None, []
    part = body[name]
    if isinstance(part, dict):
        return part, []
    return None, [error("structure", f"{ROOT}.{name}", f"{name} must be a JSON object")]


def _expected_end(seh: dict[str, Any], observed_at: datetime,
                  meta: MessageMeta) -> Observation | Issue:
    where = f"{ROOT}.seh.expected_end"
    definition = require_definition("hospital.seh.status_expected_end", observed_at)
    try:
        end = parse_instant(seh["expected_end"], where)
    except AdapterError as exc:  # returned, not raised: the other problems are collected too
        return exc.issues[0]
    if end <= observed_at:
        return error("business-rule", where,
                     f"the expected end {end.isoformat()} must lie after observed_at "
                     f"{observed_at.isoformat()}; send status open when the ED has reopened")
    return observation(definition, end.isoformat(), meta, observed_at)


def _not_open_details(seh: dict[str, Any], status: str, observed_at: datetime,
                      meta: MessageMeta) -> tuple[list[Observation], list[Issue]]:
    """Reason and expected end, both required while the ED is in time-out or stop."""
    observations: list[Observation] = []
    problems: list[Issue] = []
    if seh.get("reason") is None:
        allowed = ", ".join(sorted(require_definition("hospital.seh.status_reason",
                                                      observed_at).allowed_codes()))
        problems.append(error("required", f"{ROOT}.seh.reason",
                              f"give the reason for the {status} (one of {allowed})"))
    else:
        found, bad = map_fields(seh, {"reason": "hospital.seh.status_reason"}, meta,
                                observed_at, f"{ROOT}.seh")
        observations += found
        problems += bad
    if seh.get("expected_end") is None:
        problems.append(error("required", f"{ROOT}.seh.expected_end",
                              f"give when the {status} is expected to end (ISO 8601 with "
                              "timezone); if unsure, give your best estimate and update it"))
    else:
        end = _expected_end(seh, observed_at, meta)
        if isinstance(end, Observation):
            observations.append(end)
        else:
            problems.append(end)
    return observations, problems


def _seh(seh: dict[str, Any], observed_at: datetime,
         meta: MessageMeta) -> tuple[list[Observation], list[Issue]]:
    """The ED status, with reason and expected end exactly when it is not open."""
    problems = unknown_fields(seh, {"status", "reason", "expected_end"}, f"{ROOT}.seh")
    if "status" not in seh:
        return [], problems + [error("required", f"{ROOT}.seh.status",
                                     "give the ED status: open, time-out or stop")]
    definition = require_definition("hospital.seh.status", observed_at)
    status = seh["status"]
    if (bad := check_value(definition, status, f"{ROOT}.seh.status")) is not None:
        return [], problems + [bad]
    observations = [observation(definition, status, meta, observed_at)]
    if status == OPEN:
        problems += [error("business-rule", f"{ROOT}.seh.{name}",
                           f"leave out {name} while the ED is open: it only applies to a "
                           "time-out or stop") for name in ("reason", "expected_end")
                     if name in seh]
        return observations, problems
    details, issues = _not_open_details(seh, str(status), observed_at, meta)
    return observations + details, problems + issues


def _admission_stops(stops: dict[str, Any], observed_at: datetime,
                     meta: MessageMeta) -> tuple[list[Observation], list[Issue]]:
    """One true/false (or null: not known) per known department."""
    departments = admission_stop_departments()
    where = f"{ROOT}.admission_stops"
    problems = [error("not-supported", f"{where}.{key}",
                      f"unknown department {key!r}; admission stops are kept for "
                      f"{', '.join(sorted(departments))}")
                for key in stops if key not in departments]
    observations, bad = map_fields(stops, departments, meta, observed_at, where)
    return observations, problems + bad


class SehStatusAdapter(JsonStatusAdapter):
    """JSON SEH status and admission stops -> hospital.seh.status* and admission_stop.*."""

    source_format = "json/seh-status"
    sector = "hospital"
    path = "/v1/hospital/seh-status"
    summary = "Push the SEH status (open, time-out, stop) and department admission stops"
    examples = Path(__file__).parent / "examples" / "seh-status"

    def body_fields(self) -> dict[str, Any]:
        """`seh` (status, and reason and expected end while not open) and `admission_stops`
        (per department true, false or null)."""
        seh = create_model(
            "SehStatusEd", __config__=FORBID,
            __doc__="The ED status; reason and expected end while it is in time-out or stop, "
                    "and neither while it is open",
            status=(figure_type("hospital.seh.status"), Field(description="open, time-out or "
                                                                          "stop")),
            reason=figure_field("hospital.seh.status_reason"),
            expected_end=figure_field("hospital.seh.status_expected_end"))
        stops = figures_model("SehStatusAdmissionStops", admission_stop_departments(),
                              "Per department: true when it takes no acute admissions")
        return {"seh": (seh, None), "admission_stops": (stops, None)}

    def request_schema(self) -> dict[str, Any]:
        """The body's JSON Schema: `seh`, `admission_stops` or both."""
        schema = super().request_schema()
        schema["anyOf"] = [{"required": ["seh"]}, {"required": ["admission_stops"]}]
        return schema

    def parse(self, payload: Payload, meta: MessageMeta) -> AdapterResult:
        """Map the ED status and the admission stops; refuse the whole message on any error."""
        body = json_object(payload, ROOT)
        observed_at = observed_at_of(body, meta, ROOT)
        problems = unknown_fields(body, {"location", "observed_at", "seh", "admission_stops"},
                                  ROOT)
        seh, bad_seh = _object(body, "seh")
        stops, bad_stops = _object(body, "admission_stops")
        problems += bad_seh + bad_stops
        if "seh" not in body and "admission_stops" not in body:
            problems.append(error("required", ROOT, "give seh, admission_stops or both"))
        observations: list[Observation] = []
        for part, mapper in ((seh, _seh), (stops, _admission_stops)):
            if part is not None:
                found, issues = mapper(part, observed_at, meta)
                observations += found
                problems += issues
        return AdapterResult(finish(observations, problems, ROOT))


ADAPTER = SehStatusAdapter()
