"""Realistic demo data: a few Dutch hospitals pushing SANER bed capacity over HTTP.

The resource builders are also what the end-to-end tests post, so the demo and the tests speak
exactly the FHIR a provider system would.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from adapters.facility import AGB_SYSTEM, ROAZ_REGION_URL, SECTOR_SYSTEM, URA_SYSTEM
from adapters.fhir import DATA_ABSENT_REASON_URL
from stack.patterns import Rhythms

SANER_POPULATION_SYSTEM = "http://hl7.org/fhir/us/saner/CodeSystem/MeasurePopulationSystem"
MEASURE_POPULATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/measure-population"


@dataclass(frozen=True)
class DemoHospital:
    """A hospital location with its size, for plausible figures."""

    location_id: str
    organization_id: str
    name: str
    ura: str
    region: str
    latitude: float
    longitude: float
    beds: int
    icu_beds: int


HOSPITALS = (
    DemoHospital("umcg-groningen", "umcg", "UMCG Groningen", "00000101", "noord-nederland",
                 53.2219, 6.5756, 1300, 60),
    DemoHospital("isala-zwolle", "isala", "Isala Zwolle", "00000102", "zwolle",
                 52.5126, 6.0935, 1100, 40),
    DemoHospital("umcu-utrecht", "umcu", "UMC Utrecht", "00000103", "midden-nederland",
                 52.0854, 5.1792, 1000, 48),
    DemoHospital("lumc-leiden", "lumc", "LUMC Leiden", "00000104", "west",
                 52.1665, 4.4782, 880, 36),
    DemoHospital("erasmusmc-rotterdam", "erasmusmc", "Erasmus MC Rotterdam", "00000105",
                 "zuidwest", 51.9110, 4.4697, 1200, 70),
    DemoHospital("etz-tilburg", "etz", "ETZ Tilburg", "00000106", "brabant",
                 51.5625, 5.0554, 800, 30),
)


def organization_resource(
    org_id: str, name: str, ura: str, agb: str | None = None,
) -> dict[str, Any]:
    """An nl-core-HealthcareProvider-Organization."""
    identifiers = [{"system": URA_SYSTEM, "value": ura}]
    if agb:
        identifiers.append({"system": AGB_SYSTEM, "value": agb})
    return {"resourceType": "Organization", "id": org_id, "identifier": identifiers,
            "name": name, "active": True}


def location_resource(
    location_id: str, organization_id: str, name: str, region: str, latitude: float,
    longitude: float, sector: str = "hospital",
) -> dict[str, Any]:
    """An nl-core-HealthcareProvider Location with region and sector."""
    return {
        "resourceType": "Location", "id": location_id, "status": "active", "name": name,
        "extension": [{"url": ROAZ_REGION_URL, "valueCode": region}],
        "type": [{"coding": [{"system": SECTOR_SYSTEM, "code": sector}]}],
        "position": {"latitude": latitude, "longitude": longitude},
        "managingOrganization": {"reference": f"Organization/{organization_id}"},
    }


def _population(code: str, count: int | None) -> dict[str, Any]:
    population: dict[str, Any] = {"code": {"coding": [
        {"system": SANER_POPULATION_SYSTEM, "code": code},
        {"system": MEASURE_POPULATION_SYSTEM, "code": "initial-population"},
    ]}}
    if count is None:
        population["_count"] = {"extension": [
            {"url": DATA_ABSENT_REASON_URL, "valueCode": "unsupported"}]}
    else:
        population["count"] = count
    return population


def measure_report(
    location_id: str, figures: Mapping[str, int | None], observed_at: datetime,
) -> dict[str, Any]:
    """A SANER-style bed capacity MeasureReport; None figures are sent as not reported."""
    moment = observed_at.isoformat()
    return {
        "resourceType": "MeasureReport", "status": "complete", "type": "summary",
        "measure": "http://hl7.org/fhir/us/saner/Measure/CDCHospitalCapacity",
        "subject": {"reference": f"Location/{location_id}"},
        "date": moment, "period": {"start": moment, "end": moment},
        "group": [{
            "code": {"coding": [{"system": "http://hl7.org/fhir/us/saner/CodeSystem/"
                                 "MeasureGroupSystem", "code": "Beds"}]},
            "population": [_population(code, count) for code, count in figures.items()],
        }],
    }


def hospital_figures(hospital: DemoHospital, rng: random.Random,
                     moment: datetime | None = None,
                     rhythms: Rhythms | None = None) -> dict[str, int | None]:
    """Plausible bed figures at `moment` (default now): staffed <= total, occupied <= staffed,
    free beds following the afternoon's admissions (stack/patterns.py), a few beds held back."""
    rhythms = rhythms or Rhythms(rng)
    moment = moment or datetime.now(UTC)
    where = hospital.location_id
    staffed = int(rhythms.steady(where, "hospital.beds.inpatient.staffed", moment,
                                 level=hospital.beds * 0.83, high=hospital.beds))
    available = int(rhythms.figure(where, "hospital.beds.inpatient.available", moment,
                                   level=staffed * 0.1, high=staffed))
    icu_staffed = int(rhythms.steady(where, "hospital.beds.ic.staffed", moment,
                                     level=hospital.icu_beds * 0.92, high=hospital.icu_beds))
    icu_available = int(rhythms.figure(where, "hospital.beds.ic.available", moment,
                                       level=max(2.0, icu_staffed * 0.12), high=icu_staffed))
    return {
        "numTotBeds": hospital.beds, "numbeds": staffed,
        "numBedsOcc": max(0, staffed - available - rng.randint(0, 5)),
        "numBedsAvail": available,
        "numICUBeds": icu_staffed, "numICUBedsOcc": icu_staffed - icu_available,
        # Some hospitals cannot say how many ICU beds are available right now.
        "numICUBedsAvail": None if rng.random() < 0.15 else icu_available,
    }


def register_organization(admin: httpx.Client, organization_id: str, name: str,
                          ura: str) -> None:
    """The platform's administrator registers a provider organisation."""
    org = organization_resource(organization_id, name, ura)
    admin.put(f"/fhir/Organization/{organization_id}", json=org).raise_for_status()


def register(provider: httpx.Client, hospital: DemoHospital) -> None:
    """The hospital's own system registers its location (its organisation is registered)."""
    loc = location_resource(hospital.location_id, hospital.organization_id, hospital.name,
                            hospital.region, hospital.latitude, hospital.longitude)
    provider.put(f"/fhir/Location/{hospital.location_id}", json=loc).raise_for_status()
