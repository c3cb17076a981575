"""A realistic LSIV feed for the local stack: ambulances going through their rides.

`python -m stack.lsiv_simulator [--vehicles N] [--regions vr16,vr15] [--rate MSG_PER_S]
[--seconds S] [--seed N]` produces `lsiv/v1` messages (docs/lsiv.md) to the LSIV topic of the
broker in KAFKA_BOOTSTRAP_SERVERS and stops by itself after S seconds.

Each vehicle waits at its post (status 6) near its region's centre, is dispatched (10), drives
to an incident (1), is on scene (2), drives the patient to hospital (3), hands over (4), is free
(5) and drives back to its post (6); some rides end on scene without transport, and now and then
a crew asks to talk to the dispatch centre (7-9). Time runs SPEEDUP times faster than real (a
ride of an hour takes a minute); AVLS positions come every vehicles/rate seconds per vehicle.
About a quarter of the vehicles are type B (zorgambulance). The RNG is seeded: the same
arguments give the same feed. `feed()` is the whole simulation for tests: pass a producer and
`sleep=lambda _: None` with a `start` in the past to get the feed at once.
"""

from __future__ import annotations

import argparse
import heapq
import json
import math
import random
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from core.settings import get_settings
from core.topics import lsiv_topic
from definitions import load_catalogue

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
SPEEDUP = 60.0  # simulated seconds per second of feed: a real minute passes in one second
KM_PER_DEGREE_LAT = 111.2
B_SHARE = 0.25  # zorgambulances among the vehicles
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://zorgcapaciteit.nl/lsiv/simulator")
Point = tuple[float, float]


class ProducerLike(Protocol):
    """What the feed needs of a Kafka producer (confluent_kafka.Producer has it)."""

    def produce(self, topic: str, value: bytes, key: bytes) -> None:
        """Queue one message."""

    def poll(self, timeout: float) -> int:
        """Serve delivery callbacks."""


@dataclass
class SimVehicle:
    """One simulated ambulance: where it is, its status and where it is heading."""

    id: str
    call_sign: str
    region: str
    type: str
    post: Point
    hospital: Point
    at: Point
    status: str = "6"
    target: Point | None = None
    speed_kmh: float = 0.0
    heading_deg: float | None = None
    moved_at: float = 0.0  # feed seconds of the last position update

    def vehicle(self) -> dict[str, str]:
        """The `vehicle` element of its messages."""
        return {"id": self.id, "call_sign": self.call_sign, "rav_region": self.region,
                "type": self.type}


def _offset(rng: random.Random, origin: Point, min_km: float, max_km: float) -> Point:
    """A point between min_km and max_km from origin, in a random direction."""
    distance, bearing = rng.uniform(min_km, max_km), rng.uniform(0, 2 * math.pi)
    lat = origin[0] + distance * math.cos(bearing) / KM_PER_DEGREE_LAT
    lon = origin[1] + distance * math.sin(bearing) / (
        KM_PER_DEGREE_LAT * math.cos(math.radians(origin[0])))
    return lat, lon


def _distance_km(a: Point, b: Point) -> float:
    dy = (b[0] - a[0]) * KM_PER_DEGREE_LAT
    dx = (b[1] - a[1]) * KM_PER_DEGREE_LAT * math.cos(math.radians(a[0]))
    return math.hypot(dx, dy)


def _bearing(a: Point, b: Point) -> float:
    dy = b[0] - a[0]
    dx = (b[1] - a[1]) * math.cos(math.radians(a[0]))
    return math.degrees(math.atan2(dx, dy)) % 360


def _minutes(real_minutes: float) -> float:
    """Feed seconds for a duration in real minutes."""
    return real_minutes * 60 / SPEEDUP


def _drive_minutes(origin: Point, target: Point, speed_kmh: float) -> float:
    return max(2.0, _distance_km(origin, target) / speed_kmh * 60)


@dataclass(order=True)
class _Event:
    due: float
    order: int
    kind: str = field(compare=False)  # "report" (the first status), "status" or "position"
    vehicle: SimVehicle = field(compare=False)


class Simulation:
    """The fleet's rides as a queue of due status changes and position reports."""

    def __init__(self, vehicles: Sequence[SimVehicle], rng: random.Random,
                 position_every: float) -> None:
        self.rng = rng
        self.position_every = position_every
        self._queue: list[_Event] = []
        self._order = 0
        for v in vehicles:
            # Everyone reports their status first, then positions at staggered moments.
            self._schedule(rng.uniform(0, 0.5), "report", v)
            self._schedule(rng.uniform(0.5, 0.5 + position_every), "position", v)

    def _schedule(self, due: float, kind: str, vehicle: SimVehicle) -> None:
        self._order += 1
        heapq.heappush(self._queue, _Event(due, self._order, kind, vehicle))

    def next_due(self) -> float:
        """Feed seconds of the next message."""
        return self._queue[0].due

    def step(self) -> tuple[float, str, SimVehicle]:
        """Advance to the next event: (due, kind, vehicle), with the vehicle updated."""
        event = heapq.heappop(self._queue)
        vehicle = event.vehicle
        _move(vehicle, event.due)
        if event.kind == "position":
            jitter = self.rng.uniform(0.8, 1.2)
            self._schedule(event.due + self.position_every * jitter, "position", vehicle)
            return event.due, "position", vehicle
        if event.kind == "status":
            self._transition(vehicle)
        self._schedule(event.due + self._duration(vehicle), "status", vehicle)
        return event.due, "status", vehicle

    def _transition(self, v: SimVehicle) -> None:
        """The next status of the ride, and where the vehicle drives now."""
        rng, status = self.rng, v.status
        if status in ("7", "8", "9"):
            nxt = "6"
        elif status == "6" and rng.random() < 0.08:
            nxt = rng.choice(("7", "8", "9"))
        elif status in ("5", "6"):
            nxt = "10" if status == "6" or rng.random() < 0.35 else "6"
        else:
            nxt = {"10": "1", "1": "2", "3": "4", "4": "5"}.get(status, "")
            if status == "2":  # about one ride in five ends on scene, without transport
                nxt = "3" if rng.random() < 0.8 else "5"
        v.status = nxt
        v.target, v.speed_kmh = _drive_of(v, rng)

    def _duration(self, v: SimVehicle) -> float:
        """Feed seconds until the vehicle's next status change."""
        rng, status = self.rng, v.status
        if status in ("1", "3", "5") and v.target is not None:
            return _minutes(_drive_minutes(v.at, v.target, v.speed_kmh))
        real = {"10": rng.uniform(1, 2), "2": rng.uniform(15, 30), "4": rng.uniform(10, 25),
                "7": rng.uniform(1, 3), "8": rng.uniform(1, 3), "9": rng.uniform(1, 2),
                # An ambulance does a handful of rides in a 24-hour shift: it mostly waits at post.
                "6": rng.expovariate(1 / (180 if v.type == "B" else 150))}
        return _minutes(real.get(status, 5.0))


def _drive_of(v: SimVehicle, rng: random.Random) -> tuple[Point | None, float]:
    """Where a status sends the vehicle and how fast: (target, km/h)."""
    if v.status == "1":  # to the incident, with lights and sirens for A vehicles
        return _offset(rng, v.post, 2, 12), 85.0 if v.type == "A" else 60.0
    if v.status == "3":
        return v.hospital, 65.0
    if v.status == "5":
        return v.post, 55.0
    return None, 0.0


def _move(v: SimVehicle, now: float) -> None:
    """Drive towards the target for the feed seconds since the last update."""
    elapsed_h = (now - v.moved_at) * SPEEDUP / 3600
    v.moved_at = now
    if v.target is None or v.speed_kmh <= 0:
        v.heading_deg = None
        return
    left = _distance_km(v.at, v.target)
    step = v.speed_kmh * elapsed_h
    v.heading_deg = _bearing(v.at, v.target)
    if step >= left:
        v.at, v.target, v.speed_kmh = v.target, None, 0.0
        return
    share = step / left
    v.at = (v.at[0] + (v.target[0] - v.at[0]) * share,
            v.at[1] + (v.target[1] - v.at[1]) * share)


def fleet(regions: Sequence[str], count: int, rng: random.Random,
          prefix: str = "amb") -> list[SimVehicle]:
    """`count` vehicles spread over `regions`, at posts a few km around each region's centre."""
    safety_regions = load_catalogue().safety_regions
    vehicles = []
    for i in range(count):
        region = safety_regions[regions[i % len(regions)]]
        number = region.number
        post = _offset(rng, region.centre, 0.5, 6)
        call_sign = f"{number:02d}-{101 + i // len(regions)}"
        v = SimVehicle(id=f"{prefix}-{call_sign}", call_sign=call_sign, region=region.code,
                       type="B" if rng.random() < B_SHARE else "A", post=post,
                       hospital=_offset(rng, region.centre, 0, 2), at=post)
        # Start somewhere in the day: most at post or free, some on a ride.
        v.status = rng.choices(("6", "5", "10", "1", "2", "3", "4"),
                               weights=(50, 15, 5, 8, 10, 6, 6))[0]
        v.target, v.speed_kmh = _drive_of(v, rng)
        if v.status in ("2", "3", "4"):
            v.at = _offset(rng, post, 2, 10) if v.status != "4" else v.hospital
        vehicles.append(v)
    return vehicles


def status_message(v: SimVehicle, message_id: str, at: datetime) -> dict[str, Any]:
    """A vehicle-status message."""
    return {"kind": "vehicle-status", "message_id": message_id, "vehicle": v.vehicle(),
            "status": v.status, "at": _instant(at)}


def position_message(v: SimVehicle, message_id: str, at: datetime,
                     rng: random.Random) -> dict[str, Any]:
    """An avls-position message, with a few metres of GPS noise."""
    lat, lon = _offset(rng, v.at, 0, 0.005)
    heading = None if v.heading_deg is None else round(v.heading_deg, 1) % 360
    return {"kind": "avls-position", "message_id": message_id, "vehicle": v.vehicle(),
            "position": {"lat": round(lat, 6), "lon": round(lon, 6),
                         "speed_kmh": round(v.speed_kmh * rng.uniform(0.85, 1.1), 1),
                         "heading_deg": heading, "accuracy_m": rng.choice((3, 4, 5, 6, 8, 12))},
            "at": _instant(at)}


def _instant(at: datetime) -> str:
    return at.astimezone(AMSTERDAM).isoformat(timespec="milliseconds")


def feed(
    producer: ProducerLike, *, topic: str = "zc.lsiv.v1", vehicles: int = 20,
    regions: Sequence[str] = ("vr16",), rate: float = 10.0, seconds: float = 60.0,
    seed: int = 1, prefix: str = "amb", start: datetime | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> list[dict[str, Any]]:
    """Produce the feed for `seconds` (keyed by rav_region) and return the messages sent.

    Message times run from `start` (default now); with the default `sleep` the feed is paced
    to the wall clock, so every message is sent at about its time.
    """
    rng = random.Random(seed)
    origin = start or datetime.now(UTC)
    simulation = Simulation(fleet(regions, vehicles, rng, prefix), rng,
                            position_every=max(vehicles, 1) / rate)
    started = time.monotonic()
    sent: list[dict[str, Any]] = []
    while simulation.next_due() <= seconds:
        due, kind, vehicle = simulation.step()
        sleep(max(0.0, due - (time.monotonic() - started)))
        message_id = str(uuid.uuid5(NAMESPACE, f"{prefix}:{seed}:{len(sent)}"))
        at = origin + timedelta(seconds=due)
        message = (status_message(vehicle, message_id, at) if kind == "status"
                   else position_message(vehicle, message_id, at, rng))
        producer.produce(topic, value=json.dumps(message).encode(), key=vehicle.region.encode())
        producer.poll(0)
        sent.append(message)
    return sent


def main(argv: Sequence[str] | None = None) -> None:
    """CLI: produce a feed to the LSIV topic of the configured broker."""
    from confluent_kafka import Producer  # only the CLI needs a real broker

    parser = argparse.ArgumentParser(prog="python -m stack.lsiv_simulator",
                                     description="Produce a simulated LSIV feed.")
    parser.add_argument("--vehicles", type=int, default=20)
    parser.add_argument("--regions", default="vr16",
                        help="comma-separated veiligheidsregio codes, e.g. vr16,vr15")
    parser.add_argument("--rate", type=float, default=10.0,
                        help="AVLS positions per second over the whole fleet")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    regions = [r.strip() for r in args.regions.split(",") if r.strip()]
    unknown = [r for r in regions if r not in load_catalogue().safety_regions]
    if unknown or args.vehicles < 1 or args.rate <= 0:
        parser.error(f"give known regions (vr01..vr25), --vehicles >= 1 and --rate > 0; "
                     f"unknown: {', '.join(unknown) or '-'}")
    settings = get_settings()
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap_servers,
                         "enable.idempotence": True, "acks": "all"})
    sent = feed(producer, topic=lsiv_topic(settings), vehicles=args.vehicles, regions=regions,
                rate=args.rate, seconds=args.seconds, seed=args.seed)
    unsent = producer.flush(30)
    sys.stdout.write(f"sent {len(sent) - unsent} LSIV messages for {args.vehicles} vehicles "
                     f"in {', '.join(regions)}\n")
    if unsent:
        sys.exit(f"{unsent} messages were not acknowledged by the broker")


if __name__ == "__main__":
    main()
