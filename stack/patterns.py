"""Daily and weekly rhythms of capacity figures, for generated history (demo, bench, tests).

Until real history exists, every accuracy figure of the forecasts comes from series made here,
so the shapes are kept plain and stated: each item class follows a local-time rhythm (a
multiplier of the location's usual level), around which the figure wanders (a persistent
AR(1) deviation: a busy day stays busy for hours) with report-to-report noise, rounded to whole
numbers for counts and kept inside the item's range. Reports go missing now and then.

| class | rhythm |
|---|---|
| beds-free | free beds lowest mid-afternoon (admissions), highest early morning; more on Sundays |
| beds-occupied | the mirror: occupancy peaks in the afternoon |
| ed-busy | SEH patients and NEDOCS: rising from 09:00, peak 12:00-20:00, Mondays busiest |
| hap-uitloop | HAP queues: evenings and nights, all day at weekends, highest on weekend evenings |
| consults-free | free consults: full in the morning, used up through the day |
| ambulance-free | ambulances free: fewest during the day's peak of calls |
| steady | totals, staff on duty: barely moving |
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

LOCAL = ZoneInfo("Europe/Amsterdam")
# Item codes (by prefix or suffix) and their class; the first match wins.
CLASSES: tuple[tuple[str, str], ...] = (
    ("hap.uitloop.", "hap-uitloop"),
    ("hospital.seh.", "ed-busy"),
    ("hap.consults.free", "consults-free"),
    ("hap.visits.free", "consults-free"),
    ("gp.consults.", "consults-free"),
    ("ambulance.available.", "ambulance-free"),
    (".occupied", "beds-occupied"),
    (".in_use", "beds-occupied"),
    (".available", "beds-free"),
)


def item_class(code: str) -> str:
    """The rhythm class of an item code."""
    for pattern, name in CLASSES:
        if code.startswith(pattern) or code.endswith(pattern):
            return name
    return "steady"


def _bump(hour: float, centre: float, width: float) -> float:
    distance = min(abs(hour - centre), 24 - abs(hour - centre))
    return math.exp(-0.5 * (distance / width) ** 2)


def rhythm(kind: str, moment: datetime) -> float:
    """The multiplier of the usual level at `moment` (local time) for an item class."""
    local = moment.astimezone(LOCAL)
    hour, day = local.hour + local.minute / 60, local.weekday()
    weekend = day >= 5
    if kind == "beds-free":
        return 1.0 - 0.45 * _bump(hour, 15, 3.5) + 0.25 * _bump(hour, 6, 3) + (
            0.15 if day == 6 else 0.0)
    if kind == "beds-occupied":
        return 1.0 + 0.08 * _bump(hour, 15, 3.5) - 0.04 * _bump(hour, 6, 3)
    if kind == "ed-busy":
        return 0.45 + 0.9 * _bump(hour, 16, 4.5) + (0.2 if day == 0 else 0.0)
    if kind == "hap-uitloop":
        evening = _bump(hour, 20, 3)
        if weekend:
            return 0.5 + 0.8 * _bump(hour, 12, 4) + 1.6 * evening
        return 0.15 + 0.9 * evening + (0.3 * _bump(hour, 2, 3))
    if kind == "consults-free":
        return max(0.05, 1.6 - 1.2 * (hour - 8) / 12) if 8 <= hour <= 20 else 1.6
    if kind == "ambulance-free":
        return 1.2 - 0.5 * _bump(hour, 13, 4)
    return 1.0


@dataclass
class Wanderer:
    """One item's figures at one location: the usual level × the class rhythm, plus a
    persistent deviation (AR(1) per hour: `persistence`, innovations of `wander` × level) and
    report noise (`noise` × level); `step` gives the figure at a later moment."""

    kind: str
    level: float
    low: float
    high: float
    whole: bool
    persistence: float = 0.9
    wander: float = 0.06
    noise: float = 0.04
    deviation: float = 0.0
    last: datetime | None = field(default=None, repr=False)

    def step(self, moment: datetime, rng: random.Random) -> float:
        """The figure at `moment` (calls in time order, at any spacing: the deviation moves
        as much as an hourly AR(1) would over the time passed)."""
        scale = max(self.level, 1.0)
        hours = 1.0 if self.last is None else min(
            max((moment - self.last) / timedelta(hours=1), 0.0), 48.0)
        self.last = moment
        kept = self.persistence ** hours
        spread = math.sqrt((1 - kept ** 2) / (1 - self.persistence ** 2))
        self.deviation = kept * self.deviation + rng.gauss(0, self.wander * scale * spread)
        value = (self.level * rhythm(self.kind, moment) + self.deviation
                 + rng.gauss(0, self.noise * scale))
        value = min(self.high, max(self.low, value))
        return float(round(value)) if self.whole else round(value, 1)


class Rhythms:
    """The figures of many locations and items over time, one `Wanderer` each, created on
    first use with the level asked. Calls for one location and item must come in time order."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self._series: dict[tuple[str, str], Wanderer] = {}

    def figure(self, location: str, code: str, moment: datetime, *, level: float,
               high: float, wander: float = 0.06, noise: float = 0.04) -> float:
        """The figure of `code` at `location` at `moment`, a whole number within [0, high]."""
        key = (location, code)
        if key not in self._series:
            self._series[key] = Wanderer(item_class(code), level, 0.0, high, whole=True,
                                         wander=wander, noise=noise)
        return self._series[key].step(moment, self.rng)

    def steady(self, location: str, code: str, moment: datetime, *, level: float,
               high: float) -> float:
        """A figure that barely moves (staffed beds, treatment places)."""
        return self.figure(location, code, moment, level=level, high=high, wander=0.005,
                           noise=0.0)
