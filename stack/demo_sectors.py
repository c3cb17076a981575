"""Demo providers of the other sectors for `make run`: HAPs with visit cars, GP practices, VVT,
acute GGZ, and hospital ED status and NEDOCS; plausible figures that drift a little each tick.

Every message goes through the same HTTP endpoints a provider system would use.
"""

from __future__ import annotations

import math
import random
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx

from stack.demo import location_resource
from stack.patterns import Rhythms


@dataclass(frozen=True)
class DemoSite:
    """One demo location of one sector."""

    location_id: str
    organization_id: str
    name: str
    ura: str
    sector: str
    region: str
    latitude: float
    longitude: float


SITES = (
    DemoSite("hap-leiden", "hap-leiden-org", "HAP Leiden", "00000201", "hap", "west",
             52.1665, 4.4782),
    DemoSite("hap-utrecht", "hap-utrecht-org", "HAP Utrecht Stad", "00000202", "hap",
             "midden-nederland", 52.0867, 5.1790),
    DemoSite("hap-groningen", "hap-groningen-org", "HAP Groningen", "00000203", "hap",
             "noord-nederland", 53.2213, 6.5760),
    DemoSite("gp-oegstgeest", "gp-oegstgeest-org", "Huisartsenpraktijk Oegstgeest", "00000301",
             "gp-practice", "west", 52.1820, 4.4690),
    DemoSite("gp-zeist", "gp-zeist-org", "Gezondheidscentrum Zeist", "00000302", "gp-practice",
             "midden-nederland", 52.0880, 5.2350),
    DemoSite("vvt-leiden-elv", "vvt-leiden-org", "ELV De Rijnstreek", "00000401", "vvt", "west",
             52.1550, 4.5000),
    DemoSite("vvt-utrecht-elv", "vvt-utrecht-org", "ELV Utrecht Oost", "00000402", "vvt",
             "midden-nederland", 52.0900, 5.1500),
    DemoSite("ggz-leiden-crisis", "ggz-leiden-org", "GGZ Crisiscentrum Leiden", "00000501",
             "ggz", "west", 52.1500, 4.4900),
    DemoSite("ggz-utrecht-crisis", "ggz-utrecht-org", "GGZ Crisisdienst Utrecht", "00000502",
             "ggz", "midden-nederland", 52.0800, 5.1000),
)
CARE_TYPES = ("elv_low_complex", "elv_high_complex", "elv_palliative", "grz", "wlz_crisis")


def register_sites(providers: Mapping[str, httpx.Client]) -> dict[str, str]:
    """Every demo site registers itself with its organisation's client, and one visit car per
    HAP; returns each visit car's device key (a new one every run), by car id."""
    device_keys = {}
    for site in SITES:
        client = providers[site.organization_id]
        loc = location_resource(site.location_id, site.organization_id, site.name, site.region,
                                site.latitude, site.longitude, site.sector)
        client.put(f"/fhir/Location/{site.location_id}", json=loc).raise_for_status()
        if site.sector == "hap":
            car = f"{site.location_id}-visite-1"
            client.put(f"/v1/mobile-units/{car}", json={
                "kind": "hap-visit-car", "organization_id": site.organization_id,
                "label": f"{site.name} visite 1", "roaz_region": site.region,
            }).raise_for_status()
            answer = client.post(f"/v1/mobile-units/{car}/device-key")
            answer.raise_for_status()
            device_keys[car] = answer.json()["device_key"]
    return device_keys


def _moment(at: str) -> datetime:
    return datetime.fromisoformat(at)


def _fixed(*parts: str, low: int, high: int) -> int:
    """A figure that belongs to a place (treatment places, beds of a care type): stable per
    run and location (crc32, not hash(): that is salted per process)."""
    return low + zlib.crc32("|".join(parts).encode()) % (high - low + 1)


def _hap(site: DemoSite, rng: random.Random, at: str,
         rhythms: Rhythms | None = None) -> dict[str, Any]:
    rhythms, moment, where = rhythms or Rhythms(rng), _moment(at), site.location_id
    queue = int(rhythms.figure(where, "hap.uitloop.phone.queue", moment, level=5, high=40))
    waiting = int(rhythms.figure(where, "hap.uitloop.physical.waiting", moment, level=3,
                                 high=20))
    return {"location": where, "observed_at": at,
            "triagists_on_duty": rng.randint(3, 6), "doctors_on_duty": rng.randint(3, 7),
            "consults_free": int(rhythms.figure(where, "hap.consults.free", moment, level=6,
                                                high=20)),
            "visits_free": int(rhythms.figure(where, "hap.visits.free", moment, level=2,
                                              high=6)),
            "phone": {"queue": queue, "longest_wait_s": queue * rng.randint(20, 60)},
            "waiting_room": {"waiting": waiting, "delay_min": waiting * rng.randint(3, 8)}}


def _gp(site: DemoSite, rng: random.Random, at: str,
        rhythms: Rhythms | None = None) -> dict[str, Any]:
    rhythms, moment, where = rhythms or Rhythms(rng), _moment(at), site.location_id
    u3 = int(rhythms.figure(where, "gp.consults.u3.free", moment, level=2, high=8))
    later = int(rhythms.figure(where, "gp.consults.u4.free", moment, level=6, high=20))
    return {"location": where, "observed_at": at, "u3_free": u3, "u4_free": u3 + later}


def _vvt_beds(site: DemoSite, rng: random.Random, at: str,
              rhythms: Rhythms | None = None) -> dict[str, Any]:
    rhythms, moment, where = rhythms or Rhythms(rng), _moment(at), site.location_id
    beds = {}
    for care_type in CARE_TYPES:
        total = _fixed(where, care_type, low=4, high=20)
        available = rhythms.figure(where, f"vvt.beds.{care_type}.available", moment,
                                   level=max(1.0, total * 0.2), high=total)
        beds[care_type] = {"available": int(available), "total": total}
    return {"location": where, "observed_at": at, "beds": beds}


def _ggz(site: DemoSite, rng: random.Random, at: str,
         rhythms: Rhythms | None = None) -> dict[str, Any]:
    rhythms, moment, where = rhythms or Rhythms(rng), _moment(at), site.location_id
    return {"location": where, "observed_at": at,
            "crisis_beds": {"available": int(rhythms.figure(
                where, "ggz.beds.crisis.available", moment, level=1.5, high=6)), "total": 6},
            "hic_beds": {"available": int(rhythms.figure(
                where, "ggz.beds.hic.available", moment, level=2.5, high=12)), "total": 12},
            "iht_capacity": int(rhythms.figure(where, "ggz.iht.capacity", moment, level=2,
                                               high=4)),
            "crisis_service_available": rng.random() > 0.2,
            "doctor_available": rng.random() > 0.1}


def _site_messages(site: DemoSite, rng: random.Random, at: str,
                   rhythms: Rhythms | None = None) -> list[tuple[str, Any]]:
    if site.sector == "hap":
        return [("/v1/hap/status", _hap(site, rng, at, rhythms))]
    if site.sector == "gp-practice":
        return [("/v1/gp/consults", _gp(site, rng, at, rhythms))]
    if site.sector == "vvt":
        status = {"location": site.location_id, "observed_at": at,
                  "district_nursing_teams_available": rng.randint(0, 5),
                  "busyness_level": str(rng.choice([1, 2, 2, 3]))}
        return [("/v1/vvt/beds", _vvt_beds(site, rng, at, rhythms)),
                ("/v1/vvt/status", status)]
    return [("/v1/ggz/status", _ggz(site, rng, at, rhythms))]


def _visit_car(site: DemoSite, moment: datetime, tick: int) -> dict[str, str]:
    # A car circling its post at about 3 km: a position the map can show moving.
    angle = tick / 6
    return {"id": f"{site.location_id}-visite-1",
            "lat": f"{site.latitude + 0.027 * math.sin(angle):.6f}",
            "lon": f"{site.longitude + 0.043 * math.cos(angle):.6f}",
            "timestamp": str(int(moment.timestamp())), "speed": "22", "bearing": "90"}


def _seh(location_id: str, rng: random.Random, moment: datetime) -> dict[str, Any]:
    at = moment.isoformat()
    if rng.random() < 0.15:
        end = (moment + timedelta(minutes=rng.choice([30, 45, 60]))).isoformat()
        seh = {"status": "time-out", "reason": rng.choice(["seh-full", "no-beds"]),
               "expected_end": end}
    else:
        seh = {"status": "open"}
    return {"location": location_id, "observed_at": at, "seh": seh,
            "admission_stops": {"ic": rng.random() < 0.1, "ccu": rng.random() < 0.05}}


def _nedocs(location_id: str, beds: int, rng: random.Random, at: str,
            rhythms: Rhythms | None = None) -> dict[str, Any]:
    rhythms, moment = rhythms or Rhythms(rng), _moment(at)
    places = _fixed(location_id, "places", low=18, high=30)
    patients = int(rhythms.figure(location_id, "hospital.seh.patients", moment, level=places,
                                  high=60))
    boarders = int(rhythms.figure(location_id, "hospital.seh.admitted_boarders", moment,
                                  level=3, high=20))
    return {"location": location_id, "observed_at": at, "ed_patients": patients,
            "ed_treatment_places": places, "admitted_boarders": min(boarders, patients),
            "ventilated_patients": min(rng.randint(0, 2), patients),
            "longest_boarder_wait_min": rng.randint(0, 300),
            "last_bed_placement_wait_min": rng.randint(0, 90), "hospital_beds": beds}


@dataclass(frozen=True)
class DemoHospitalEd:
    """A hospital whose ED reports status and NEDOCS with its organisation's client."""

    location_id: str
    organization_id: str
    beds: int


def push_tick(providers: Mapping[str, httpx.Client], device_keys: Mapping[str, str],
              hospitals: list[DemoHospitalEd], rng: random.Random, moment: datetime,
              tick: int, rhythms: Rhythms | None = None) -> None:
    """One round of messages from every demo site and hospital ED, each with its own
    organisation's client; the visit cars report as trackers do, with their device key."""
    at = moment.isoformat()
    for site in SITES:
        client = providers[site.organization_id]
        for path, body in _site_messages(site, rng, at, rhythms):
            client.post(path, json=body).raise_for_status()
        if site.sector == "hap":
            car = _visit_car(site, moment, tick)
            tracker = {**car, "key": device_keys[car["id"]]}
            httpx.get(client.base_url.join("/osmand"), params=tracker,
                      timeout=10.0).raise_for_status()
    for hospital in hospitals:
        client, location_id, beds = (providers[hospital.organization_id],
                                     hospital.location_id, hospital.beds)
        client.post("/v1/hospital/seh-status", json=_seh(location_id, rng, moment)
                    ).raise_for_status()
        client.post("/v1/hospital/nedocs", json=_nedocs(location_id, beds, rng, at, rhythms)
                    ).raise_for_status()
