"""The fleet of one RAV region (`lsiv/fleet`): its figures, derived from its vehicles' statuses.

The stream stage `fleet` keeps every vehicle's latest LSIV status (a faust table) and, for each
region a batch touched, sends this snapshot: the region, the moment, and each vehicle's type
and status. Deriving the figures here, from the snapshot, keeps the rule in one pure place and
makes the figures replayable like any other message.

Available for A1 and A2: type A vehicles in an available status (5 free, 6 at post); for B:
every vehicle in an available status. Deployed share: deployed vehicles (0-4, 10) of all
vehicles known in the region, in %, one decimal; call requests (7-9) are in service but neither
free nor deployed. A region without vehicles (its last one moved away) has none available and
no share (not reported, never 0).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from adapters.base import (
    AdapterError,
    AdapterResult,
    MessageMeta,
    Payload,
    error,
    json_object,
    observation,
    require_definition,
)
from definitions import load_catalogue
from definitions.catalogue import rav_location_id

AVAILABLE = {"A1": "ambulance.available.a1", "A2": "ambulance.available.a2",
             "B": "ambulance.available.b"}
DEPLOYED_SHARE = "ambulance.busyness.deployed_share"
VEHICLE_TYPES = ("A", "B")


def region_figures(vehicles: Iterable[Mapping[str, Any]]) -> dict[str, float | None]:
    """The region's figures from each vehicle's `type` and `status`."""
    statuses = load_catalogue().vehicle_statuses
    known = list(vehicles)
    free = [v for v in known if v["status"] in statuses and statuses[v["status"]].available]
    deployed = [v for v in known if v["status"] in statuses and statuses[v["status"]].deployed]
    free_a = sum(1 for v in free if v["type"] == "A")
    return {
        AVAILABLE["A1"]: free_a, AVAILABLE["A2"]: free_a, AVAILABLE["B"]: len(free),
        DEPLOYED_SHARE: round(100 * len(deployed) / len(known), 1) if known else None,
    }


def snapshot(region: str, observed_at: datetime,
             vehicles: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The payload of a region's fleet at a moment."""
    return {"rav_region": region, "observed_at": observed_at.isoformat(),
            "vehicles": [{"id": v["id"], "type": v["type"], "status": v["status"]}
                         for v in sorted(vehicles, key=lambda v: str(v["id"]))]}


def _vehicles(payload: dict[str, Any]) -> list[dict[str, Any]]:
    vehicles = payload.get("vehicles")
    if not isinstance(vehicles, list):
        raise AdapterError([error("structure", "vehicles", "expected a list of vehicles")])
    problems = []
    for i, vehicle in enumerate(vehicles):
        if not isinstance(vehicle, dict) or not isinstance(vehicle.get("status"), str):
            problems.append(error("structure", f"vehicles[{i}]",
                                  "a vehicle has an `id`, a `type` and a `status` code"))
        elif vehicle.get("type") not in VEHICLE_TYPES:
            problems.append(error("value", f"vehicles[{i}].type",
                                  f"type must be one of {', '.join(VEHICLE_TYPES)}"))
    if problems:
        raise AdapterError(problems)
    return vehicles


def _moment(payload: dict[str, Any]) -> datetime:
    try:
        moment = datetime.fromisoformat(str(payload.get("observed_at")))
    except ValueError:
        raise AdapterError([error("value", "observed_at",
                                  "observed_at must be an ISO 8601 moment")]) from None
    if moment.tzinfo is None:
        raise AdapterError([error("value", "observed_at", "observed_at needs a timezone")])
    return moment


class FleetAdapter:
    """A RAV region's fleet snapshot -> ambulances available per urgency, share deployed."""

    source_format = "lsiv/fleet"
    sector = "ambulance"
    media_type = "application/json"
    path: str | None = None
    subject = "location"
    needs_mapping = False
    summary = "A RAV region's vehicles, as the fleet stage derives its figures from"
    examples = Path(__file__).parent / "examples" / "fleet"

    def location_of(self, payload: Payload) -> str:
        """The region's location: `rav-<veiligheidsregio>`."""
        region = json_object(payload, "fleet snapshot").get("rav_region")
        if not isinstance(region, str) or region not in load_catalogue().safety_regions:
            raise AdapterError([error("value", "rav_region",
                                      "rav_region must be a veiligheidsregio code (vr01-vr25)")])
        return rav_location_id(region)

    def parse(self, payload: Payload, meta: MessageMeta) -> AdapterResult:
        """The region's four figures at the snapshot's moment."""
        body = json_object(payload, "fleet snapshot")
        location = self.location_of(body)
        moment = _moment(body)
        figures = region_figures(_vehicles(body))
        return AdapterResult([
            observation(require_definition(code, moment), value, meta, moment,
                        "not-applicable" if value is None else None, location_id=location)
            for code, value in figures.items()])


ADAPTER = FleetAdapter()
