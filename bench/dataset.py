"""A seeded national data set built from the real reference data (regions, definitions).

Locations are spread over the 25 veiligheidsregio's (positions jittered around each region's
centre), each reports a realistic subset of its sector's items at a cadence that follows the
item's freshness deadline, and the mobile units drive around their home base. Everything is
generated lazily and deterministically from the seed, so the same seed and end time give the
same rows. Ids start with `bench-` (the 25 RAV regions are the `rav-vrNN` locations the
migrations seed) and every observation's provider is `bench`, so the rows are easy to tell apart.
"""

from __future__ import annotations

import random
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from definitions import Definition, load_catalogue
from definitions.catalogue import rav_location_id
from stack.patterns import Wanderer, item_class

PROVIDER = "bench"
SOURCE_FORMAT = "bench/generated"
POSITION_FORMAT = "bench/positions"
NOT_REPORTED = "temp-unknown"
# Most reports arrive within seconds; a figure goes unreported now and then.
NOT_REPORTED_SHARE = 0.01
HOURLY_MISSING = 1 / 30
HOUR = timedelta(hours=1)
NUMERIC = ("count", "quantity")

# A realistic subset of each sector's live items (available capacity and busyness).
SECTOR_ITEMS: dict[str, tuple[str, ...]] = {
    "hospital": (
        "hospital.beds.inpatient.available", "hospital.beds.inpatient.occupied",
        "hospital.beds.inpatient.total", "hospital.beds.ic.available",
        "hospital.beds.ic.occupied", "hospital.beds.ic.staffed", "hospital.beds.ic.total",
        "hospital.beds.ward.available", "hospital.beds.ward.occupied",
        "hospital.seh.status", "hospital.seh.patients", "hospital.seh.treatment_places",
        "hospital.seh.nedocs_score", "hospital.admission_stop.ic", "hospital.diagnostics.ct",
    ),
    "hap": (
        "hap.consults.free", "hap.doctors.on_duty", "hap.triagists.on_duty", "hap.visits.free",
        "hap.uitloop.phone.queue", "hap.uitloop.phone.longest_wait",
        "hap.uitloop.physical.waiting", "hap.uitloop.physical.delay",
    ),
    # The catalogue has only these two live items for GP practices.
    "gp-practice": ("gp.consults.u3.free", "gp.consults.u4.free"),
    "vvt": (
        "vvt.beds.elv_high_complex.available", "vvt.beds.elv_high_complex.total",
        "vvt.beds.elv_low_complex.available", "vvt.beds.elv_low_complex.total",
        "vvt.beds.elv_palliative.available", "vvt.beds.elv_palliative.total",
        "vvt.beds.grz.available", "vvt.beds.grz.total",
        "vvt.beds.wlz_crisis.available", "vvt.beds.wlz_crisis.total",
        "vvt.district_nursing.teams_available", "vvt.busyness.level",
    ),
    "ggz": (
        "ggz.beds.crisis.available", "ggz.beds.crisis.total", "ggz.beds.hic.available",
        "ggz.beds.hic.total", "ggz.crisis_service.available", "ggz.doctor.available",
        "ggz.iht.capacity",
    ),
    "ambulance": (
        "ambulance.available.a1", "ambulance.available.a2", "ambulance.available.b",
        "ambulance.busyness.deployed_share",
    ),
}
UNIT_STATUS_ITEM = "ambulance.vehicle.status"
# Codes drawn more often than others (repeats weigh): about half the ambulances are free or at
# post, most emergency departments are open.
LIKELY_CODES: dict[str, tuple[str, ...]] = {
    UNIT_STATUS_ITEM: ("5", "6", "5", "6", "6", "1", "2", "3", "4", "10", "0", "7"),
    "hospital.seh.status": ("open",) * 8 + ("time-out", "stop"),
    "vvt.busyness.level": ("1", "2", "2", "3", "4"),
}
# Sector -> (name in Dutch, how many locations, locations per organisation).
SECTOR_SHAPE: dict[str, tuple[str, int, int]] = {
    "hospital": ("Ziekenhuis", 100, 2),
    "hap": ("Huisartsenpost", 120, 3),
    "gp-practice": ("Huisartsenpraktijk", 600, 1),
    "vvt": ("Zorglocatie", 300, 4),
    "ggz": ("GGZ crisisdienst", 60, 3),
}
UNIT_POSITION_EVERY = timedelta(minutes=15)


@dataclass(frozen=True)
class Scale:
    """How big the data set is: counts per sector, mobile units, and history length."""

    hospitals: int = 100
    haps: int = 120
    gp_practices: int = 600
    vvt: int = 300
    ggz: int = 60
    ambulances_per_region: int = 40
    hap_visit_cars: int = 500
    district_nurses: int = 500
    history: timedelta = timedelta(days=3)
    # Before `history`, numeric figures once an hour: four weeks in all for the forecasts.
    hourly_history: timedelta = timedelta(days=25)

    def locations(self, sector: str) -> int:
        """How many generated locations of `sector` (the RAV regions are seeded, not counted)."""
        return {
            "hospital": self.hospitals, "hap": self.haps, "gp-practice": self.gp_practices,
            "vvt": self.vvt, "ggz": self.ggz,
        }[sector]


@dataclass(frozen=True)
class Organisation:
    """A provider organisation."""

    id: str
    name: str


@dataclass(frozen=True)
class Site:
    """A location that reports figures; `seeded` ones (RAV regions) exist after migration."""

    id: str
    organization_id: str
    name: str
    sector: str
    roaz_region: str
    veiligheidsregio: str
    latitude: float
    longitude: float
    items: tuple[str, ...]
    seeded: bool = False


@dataclass(frozen=True)
class Unit:
    """A mobile unit with its home base (where its random walk is anchored)."""

    id: str
    kind: str
    organization_id: str
    label: str
    roaz_region: str
    veiligheidsregio: str
    latitude: float
    longitude: float


def cadence(definition: Definition) -> timedelta:
    """How often an item is reported: well within its freshness deadline."""
    if definition.freshness_minutes <= 15:
        return timedelta(minutes=5)
    if definition.freshness_minutes <= 240:
        return timedelta(minutes=15)
    return timedelta(hours=1)


def _rng(seed: int, *parts: str) -> random.Random:
    # A stable per-thing stream (crc32, not hash(): that is salted per process).
    return random.Random(seed * 1_000_003 + zlib.crc32("|".join(parts).encode()))


def _floor(moment: datetime, step: timedelta) -> datetime:
    epoch = datetime(2000, 1, 1, tzinfo=moment.tzinfo)
    return moment - (moment - epoch) % step


class NationalDataSet:
    """The organisations, locations, units and their history, generated from `seed`.

    `end` is the newest moment of the history (the bench uses now, so live figures are fresh).
    """

    def __init__(self, seed: int, end: datetime, scale: Scale | None = None) -> None:
        self.seed = seed
        self.end = _floor(end, timedelta(minutes=5))
        self.scale = scale or Scale()
        self.catalogue = load_catalogue()
        self.start = self.end - self.scale.history
        self.organisations: list[Organisation] = []
        self.sites: list[Site] = []
        self.units: list[Unit] = []
        rng = _rng(seed, "layout")
        for sector in SECTOR_SHAPE:
            self._add_sector(rng, sector)
        self._add_rav_regions()
        self._add_units(rng)

    def _region_for(self, rng: random.Random) -> Any:
        return rng.choice(sorted(self.catalogue.safety_regions.values(), key=lambda r: r.code))

    def _items_of(self, rng: random.Random, sector: str) -> tuple[str, ...]:
        # Some providers never send some figures: drop about one item in ten.
        items = SECTOR_ITEMS[sector]
        kept = tuple(code for code in items if rng.random() >= 0.1)
        return kept or items[:1]

    def _add_sector(self, rng: random.Random, sector: str) -> None:
        noun, _, per_org = SECTOR_SHAPE[sector]
        for index in range(self.scale.locations(sector)):
            region = self._region_for(rng)
            org_id = f"bench-org-{sector}-{index // per_org:04d}"
            if index % per_org == 0:
                self.organisations.append(Organisation(org_id, f"{noun}organisatie {org_id[-4:]}"))
            lat, lon = region.centre
            self.sites.append(Site(
                id=f"bench-{sector}-{index:04d}", organization_id=org_id,
                name=f"{noun} {region.name} {index:04d}", sector=sector,
                roaz_region=region.roaz_region, veiligheidsregio=region.code,
                latitude=round(lat + rng.gauss(0, 0.08), 5),
                longitude=round(lon + rng.gauss(0, 0.12), 5),
                items=self._items_of(rng, sector),
            ))

    def _add_rav_regions(self) -> None:
        for region in sorted(self.catalogue.safety_regions.values(), key=lambda r: r.code):
            rid = rav_location_id(region.code)
            self.sites.append(Site(
                id=rid, organization_id=rid, name=f"RAV {region.name}", sector="ambulance",
                roaz_region=region.roaz_region, veiligheidsregio=region.code,
                latitude=region.centre[0], longitude=region.centre[1],
                items=SECTOR_ITEMS["ambulance"], seeded=True,
            ))

    def _add_units(self, rng: random.Random) -> None:
        for site in self.sites_of("ambulance"):
            for n in range(self.scale.ambulances_per_region):
                self.units.append(self._unit(
                    rng, site, "ambulance", f"bench-amb-{site.veiligheidsregio}-{n:03d}",
                    f"{site.veiligheidsregio.upper()}-{n:03d}"))
        self._add_fleet(rng, "hap", "hap-visit-car", self.scale.hap_visit_cars, "bench-car")
        self._add_fleet(rng, "vvt", "district-nurse", self.scale.district_nurses, "bench-nurse")

    def _add_fleet(self, rng: random.Random, sector: str, kind: str, count: int,
                   prefix: str) -> None:
        bases = self.sites_of(sector)
        for n in range(count if bases else 0):
            base = bases[n % len(bases)]
            self.units.append(self._unit(rng, base, kind, f"{prefix}-{n:04d}", f"{n:04d}"))

    @staticmethod
    def _unit(rng: random.Random, base: Site, kind: str, unit_id: str, label: str) -> Unit:
        return Unit(
            id=unit_id, kind=kind, organization_id=base.organization_id, label=label,
            roaz_region=base.roaz_region, veiligheidsregio=base.veiligheidsregio,
            latitude=round(base.latitude + rng.gauss(0, 0.05), 5),
            longitude=round(base.longitude + rng.gauss(0, 0.08), 5),
        )

    def sites_of(self, sector: str) -> list[Site]:
        """The locations of one sector."""
        return [s for s in self.sites if s.sector == sector]

    def units_of(self, kind: str) -> list[Unit]:
        """The mobile units of one kind."""
        return [u for u in self.units if u.kind == kind]

    def definition(self, code: str) -> Definition:
        """The current definition of an item (the bench only uses known items)."""
        found = self.catalogue.get(code)
        if found is None:
            raise KeyError(code)
        return found

    # --- history --------------------------------------------------------------------------

    def observation_rows(self, site: Site, start: datetime | None = None,
                         end: datetime | None = None) -> Iterator[tuple[Any, ...]]:
        """One site's observations from start (exclusive) to end (inclusive), in time order.

        Rows have the columns of `OBSERVATION_COLUMNS`. One provider message carries all items
        due at a moment, so they share a raw_message_id.
        """
        first, last = start or self.start, end or self.end
        rng = _rng(self.seed, "obs", site.id, first.isoformat())
        series = [_Series(self.definition(code), rng, _rng(self.seed, "shape", site.id, code))
                  for code in site.items]
        moment = first + timedelta(minutes=5)
        while moment <= last:
            due = [s for s in series if (moment - self.start) % s.every == timedelta(0)]
            if due:
                message = uuid.UUID(int=rng.getrandbits(128), version=4)
                received = moment + timedelta(seconds=rng.randint(1, 30))
                for item in due:
                    value, text, reason = item.next(rng, moment=moment)
                    yield (site.id, item.definition.code, moment, item.definition.version,
                           value, text, reason, received, PROVIDER, SOURCE_FORMAT, message)
            moment += timedelta(minutes=5)

    def hourly_rows(self, site: Site) -> Iterator[tuple[Any, ...]]:
        """The site's numeric figures once an hour for `scale.hourly_history` before the
        recent history (what forecasts train on; older figures than that are only kept as
        hourly roll-ups anyway): about one hour in thirty without a report."""
        rng = _rng(self.seed, "hourly", site.id)
        series = [_Series(self.definition(code), rng, _rng(self.seed, "shape", site.id, code))
                  for code in site.items if self.definition(code).value_type in NUMERIC]
        hours = int(self.scale.hourly_history / HOUR)
        for back in range(hours, 0, -1):
            moment = self.start - back * HOUR
            if not series or rng.random() < HOURLY_MISSING:
                continue
            message = uuid.UUID(int=rng.getrandbits(128), version=4)
            received = moment + timedelta(seconds=rng.randint(1, 30))
            for item in series:
                value, text, reason = item.next(rng, moment=moment)
                yield (site.id, item.definition.code, moment, item.definition.version, value,
                       text, reason, received, PROVIDER, SOURCE_FORMAT, message)

    def status_rows(self, unit: Unit) -> Iterator[tuple[Any, ...]]:
        """An ambulance's LSIV status every 15 minutes (observations on the unit)."""
        rng = _rng(self.seed, "status", unit.id)
        status = _Series(self.definition(UNIT_STATUS_ITEM), rng)
        moment = self.start + UNIT_POSITION_EVERY
        while moment <= self.end:
            _, text, _ = status.next(rng, allow_not_reported=False)
            received = moment + timedelta(seconds=rng.randint(1, 5))
            yield (unit.id, UNIT_STATUS_ITEM, moment, status.definition.version, None, text,
                   None, received, PROVIDER, SOURCE_FORMAT,
                   uuid.UUID(int=rng.getrandbits(128), version=4))
            moment += UNIT_POSITION_EVERY

    def position_rows(self, unit: Unit) -> Iterator[tuple[Any, ...]]:
        """A unit's positions every 15 minutes: a random walk pulled back to its base."""
        rng = _rng(self.seed, "pos", unit.id)
        lat, lon = unit.latitude, unit.longitude
        moment = self.start + UNIT_POSITION_EVERY
        while moment <= self.end:
            lat += rng.gauss(0, 0.01) + (unit.latitude - lat) * 0.2
            lon += rng.gauss(0, 0.015) + (unit.longitude - lon) * 0.2
            yield (unit.id, moment, round(lat, 6), round(lon, 6), float(rng.randint(3, 25)),
                   float(rng.choice((0, 0, 0, 35, 60, 90))), float(rng.randint(0, 359)),
                   moment + timedelta(seconds=rng.randint(1, 10)), POSITION_FORMAT)
            moment += UNIT_POSITION_EVERY

    def all_observation_rows(self) -> Iterator[tuple[Any, ...]]:
        """Every location's history (hourly, then recent), then every ambulance's status
        history."""
        for site in self.sites:
            yield from self.hourly_rows(site)
            yield from self.observation_rows(site)
        for unit in self.units_of("ambulance"):
            yield from self.status_rows(unit)

    def all_position_rows(self) -> Iterator[tuple[Any, ...]]:
        """Every unit's position history."""
        for unit in self.units:
            yield from self.position_rows(unit)


OBSERVATION_COLUMNS = (
    "location_id", "definition", "observed_at", "definition_version", "value", "value_text",
    "not_reported_reason", "received_at", "provider", "source_format", "raw_message_id",
)
POSITION_COLUMNS = (
    "unit_id", "observed_at", "latitude", "longitude", "accuracy_m", "speed_kmh", "heading_deg",
    "received_at", "source_format",
)


class _Series:
    """One item's figures at one location: its class's daily and weekly rhythm around a usual
    level, with a persistent deviation and noise (stack/patterns.py), or a sticky code/flag.
    The usual level comes from `shape` (one stream per location and item), so the hourly
    history and the recent history of a series are one series."""

    def __init__(self, definition: Definition, rng: random.Random,
                 shape: random.Random | None = None) -> None:
        self.definition = definition
        self.every = cadence(definition)
        top = definition.range.max if definition.range else 100.0
        self.level = round((shape or rng).uniform(0.02, 0.2) * top)
        self.wanderer = Wanderer(item_class(definition.code), float(self.level), 0.0,
                                 float(min(top, max(self.level * 2, 1))),
                                 whole=definition.value_type == "count")
        self.codes = LIKELY_CODES.get(definition.code) or tuple(c.code for c in definition.codes)
        self.code = rng.choice(self.codes) if self.codes else ""
        # Stops are rare; services and devices are mostly up.
        self.flag = 0.0 if "admission_stop" in definition.code else 1.0

    def next(self, rng: random.Random, allow_not_reported: bool = True,
             moment: datetime | None = None) -> tuple[float | None, str | None, str | None]:
        """(value, value_text, not_reported_reason) of the report at `moment`."""
        if allow_not_reported and rng.random() < NOT_REPORTED_SHARE:
            return None, None, NOT_REPORTED
        kind = self.definition.value_type
        if kind == "code":
            if rng.random() < 0.1:
                self.code = rng.choice(self.codes)
            return None, self.code, None
        if kind == "boolean":
            if rng.random() < 0.02:
                self.flag = 1.0 - self.flag
            return self.flag, None, None
        assert moment is not None, "a number needs the moment of its report"
        return self.wanderer.step(moment, rng), None, None
