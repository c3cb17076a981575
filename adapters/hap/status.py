"""HAP status as JSON: who is on duty, free consults and visits, and the backlog (uitloop).

    {"location": "hap-utrecht-stad", "observed_at": "2026-11-22T13:45:00+01:00",
     "triagists_on_duty": 4, "doctors_on_duty": 6, "consults_free": 9, "visits_free": 3,
     "phone": {"queue": 5, "longest_wait_s": 140},
     "waiting_room": {"waiting": 3, "delay_min": 25}}

`phone` is the backlog on the phone line (callers waiting, longest wait in seconds) and
`waiting_room` the backlog on site (patients past their consult time, delay in minutes). Opening
hours are not part of this message: they are facility information, sent as
HealthcareService.availableTime with PUT /fhir/HealthcareService. Absent fields were not sent;
null is not reported, never 0. Expressions in errors are paths from the root, `body`.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from adapters.base import Issue, MessageMeta, error
from adapters.figures import (
    JsonStatusAdapter,
    map_fields,
    unknown_fields,
)
from core.messages import Observation

ROOT = "body"
FIGURES = {
    "triagists_on_duty": "hap.triagists.on_duty",
    "doctors_on_duty": "hap.doctors.on_duty",
    "consults_free": "hap.consults.free",
    "visits_free": "hap.visits.free",
}
# The backlog comes in two parts, each a small object of its own figures.
BACKLOG = {
    "phone": {"queue": "hap.uitloop.phone.queue",
              "longest_wait_s": "hap.uitloop.phone.longest_wait"},
    "waiting_room": {"waiting": "hap.uitloop.physical.waiting",
                     "delay_min": "hap.uitloop.physical.delay"},
}


def _backlog(body: dict[str, Any], name: str, meta: MessageMeta,
             observed_at: datetime) -> tuple[list[Observation], list[Issue]]:
    """The figures of one backlog part (phone or waiting room), if it was sent."""
    if name not in body:
        return [], []
    part, where, fields = body[name], f"{ROOT}.{name}", BACKLOG[name]
    if not isinstance(part, dict):
        return [], [error("structure", where, f"{name} must be an object with "
                          f"{' and '.join(fields)}; send null inside it for what is not known")]
    observations, problems = map_fields(part, fields, meta, observed_at, where)
    return observations, unknown_fields(part, set(fields), where) + problems


class HapStatusAdapter(JsonStatusAdapter):
    """JSON HAP status -> hap.triagists/doctors on duty, free consults/visits, uitloop."""

    source_format = "json/hap-status"
    sector = "hap"
    path = "/v1/hap/status"
    summary = "Push a HAP's staff on duty, free consults and visits, and phone/on-site backlog"
    examples = Path(__file__).parent / "examples" / "status"

    figures = FIGURES
    parts = frozenset(BACKLOG)
    part_fields = BACKLOG

    def extra(self, body: dict[str, Any], meta: MessageMeta,
              observed_at: datetime) -> tuple[list[Observation], list[Issue]]:
        """The backlog parts: phone and waiting room."""
        observations: list[Observation] = []
        problems: list[Issue] = []
        for name in BACKLOG:
            found, issues = _backlog(body, name, meta, observed_at)
            observations += found
            problems += issues
        return observations, problems


ADAPTER = HapStatusAdapter()
