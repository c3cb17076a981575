"""What the ZCV console's region board shows: per sector, the figures that matter for routing.

The board is declared here once, as data; the page (`api/console/assets/`) renders whatever this
declares, with each item's labels, units and freshness taken from the definition catalogue, so
a column can never name an item the catalogue does not know (`tests/unit/test_console.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from definitions import Catalogue, Definition
from definitions.planning import Planning, load_planning
from forecast.items import forecast_items

# How a column draws its figures: one figure; the SEH status with its reason and expected end;
# the departments whose admission stop is on.
Render = Literal["figure", "seh", "stops"]

BED_CATEGORIES = ("inpatient", "ward", "ic", "mc", "ccu", "stroke", "picu", "nicu", "paediatrics",
                  "maternity", "psychiatry", "burns", "isolation")
STOP_DEPARTMENTS = ("ic", "ccu", "picu", "nicu", "maternity", "paediatrics", "stroke", "ward",
                    "psychiatry")
SEH_CODES = ("hospital.seh.status", "hospital.seh.status_reason",
             "hospital.seh.status_expected_end")


@dataclass(frozen=True)
class Column:
    """One column of a sector's table: a heading and the items it shows."""

    key: str
    heading: str
    codes: tuple[str, ...]
    render: Render = "figure"


def _figure(code: str, heading: str) -> Column:
    return Column(code, heading, (code,))


@dataclass(frozen=True)
class SectorBoard:
    """One sector's table, and the items that say whether a location has a place."""

    sector: str
    title: str
    columns: tuple[Column, ...]
    # A location "has a place" when one of these is a fresh count above 0 (map colours).
    places: tuple[str, ...] = field(default=())


def _beds(category: str) -> str:
    return f"hospital.beds.{category}.available"


BOARD: tuple[SectorBoard, ...] = (
    SectorBoard(
        "hospital", "Hospitals",
        (Column("seh", "SEH", SEH_CODES, "seh"),
         _figure("hospital.seh.nedocs_band", "NEDOCS"),
         Column("stops", "Admission stop",
                tuple(f"hospital.admission_stop.{d}" for d in STOP_DEPARTMENTS), "stops"),
         *(_figure(_beds(c), c.upper() if len(c) <= 4 else c.capitalize())
           for c in BED_CATEGORIES)),
        places=tuple(_beds(c) for c in BED_CATEGORIES)),
    SectorBoard(
        "ambulance", "Ambulance (RAV regions)",
        (_figure("ambulance.available.a1", "A1 available"),
         _figure("ambulance.available.a2", "A2 available"),
         _figure("ambulance.available.b", "B available"),
         _figure("ambulance.busyness.deployed_share", "Deployed")),
        places=("ambulance.available.a1", "ambulance.available.a2")),
    SectorBoard(
        "hap", "GP out-of-hours posts (HAP)",
        (_figure("hap.uitloop.phone.queue", "Phone queue"),
         _figure("hap.uitloop.phone.longest_wait", "Longest phone wait"),
         _figure("hap.uitloop.physical.waiting", "Waiting room"),
         _figure("hap.uitloop.physical.delay", "Delay on site"),
         _figure("hap.consults.free", "Consults free"),
         _figure("hap.visits.free", "Visits free"),
         _figure("hap.doctors.on_duty", "Doctors")),
        places=("hap.consults.free", "hap.visits.free")),
    SectorBoard(
        "vvt", "Nursing and care (VVT)",
        (_figure("vvt.beds.elv_low_complex.available", "ELV low complex"),
         _figure("vvt.beds.elv_high_complex.available", "ELV high complex"),
         _figure("vvt.beds.elv_palliative.available", "ELV palliative"),
         _figure("vvt.beds.grz.available", "GRZ"),
         _figure("vvt.beds.wlz_crisis.available", "Wlz crisis"),
         _figure("vvt.district_nursing.teams_available", "District nursing teams")),
        places=tuple(f"vvt.beds.{t}.available" for t in (
            "elv_low_complex", "elv_high_complex", "elv_palliative", "grz", "wlz_crisis"))),
    SectorBoard(
        "ggz", "Acute mental health (GGZ)",
        (_figure("ggz.beds.crisis.available", "Crisis places"),
         _figure("ggz.beds.hic.available", "HIC beds"),
         _figure("ggz.iht.capacity", "IHT"),
         _figure("ggz.crisis_service.available", "Crisis service"),
         _figure("ggz.doctor.available", "GGZ doctor")),
        places=("ggz.beds.crisis.available", "ggz.beds.hic.available")),
    SectorBoard(
        "gp-practice", "GP practices",
        (_figure("gp.consults.u3.free", "U3 free"), _figure("gp.consults.u4.free", "U4 free")),
        places=("gp.consults.u3.free",)),
)


def board_codes() -> set[str]:
    """Every item code the board names."""
    return {code for board in BOARD for column in board.columns for code in column.codes} | {
        code for board in BOARD for code in board.places}


def _item(definition: Definition, forecast: bool) -> dict[str, Any]:
    return {"label": definition.label.en, "label_nl": definition.label.nl,
            "unit": definition.unit, "value_type": definition.value_type,
            "codes": {c.code: c.label for c in definition.codes},
            "freshness_seconds": int(definition.freshness_deadline.total_seconds()),
            "forecast": forecast}


def _label(catalogue: Catalogue, code: str) -> str:
    definition = catalogue.get(code)
    return definition.label.en if definition else code


def planning_config(catalogue: Catalogue, planning: Planning) -> dict[str, Any]:
    """What the board's planning actions need (docs/planning.md): the bed items a hold may be
    placed on, the free-consult items a practice is booked by, the unit kinds a visit may be
    asked of, and the urgencies a visit request names."""
    return {
        "holds": [{"category": c.category, "item": c.available, "sector": c.sector,
                   "ttl_minutes": c.ttl_minutes,
                   "label": _label(catalogue, c.available)}
                  for c in planning.hold_categories],
        "consult_items": [w.item for w in planning.consult_windows],
        "visit_kinds": [{"kind": u.kind, "sector": u.sector, "ttl_minutes": u.ttl_minutes}
                        for u in planning.visit_units],
        "urgencies": [{"code": u.code, "name": u.name}
                      for u in catalogue.urgencies.get("nts", [])],
    }


def board_config(catalogue: Catalogue) -> dict[str, Any]:
    """The board as the page reads it: sectors, columns, every named item's labels, and the
    planning actions."""
    items = {}
    forecast = {d.code for d in forecast_items(catalogue)}
    for code in sorted(board_codes()):
        definition = catalogue.get(code)
        if definition is None:
            raise ValueError(f"the console board names {code!r}, which has no definition")
        items[code] = _item(definition, code in forecast)
    return {
        "sectors": [{"sector": b.sector, "title": b.title, "places": list(b.places),
                     "columns": [{"key": c.key, "heading": c.heading, "codes": list(c.codes),
                                  "render": c.render} for c in b.columns]} for b in BOARD],
        "items": items,
        "bed_categories": [{"code": _beds(c), "label": items[_beds(c)]["label"]}
                           for c in BED_CATEGORIES],
        "regions": [{"code": r.code, "name": r.name, "neighbours": list(r.neighbours)}
                    for r in catalogue.regions.values()],
        "vehicle_statuses": {s.code: {"name": s.name, "available": s.available}
                             for s in catalogue.vehicle_statuses.values()},
        "planning": planning_config(catalogue, load_planning()),
    }
