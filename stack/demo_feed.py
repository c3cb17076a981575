"""`make run`'s demo feed: every demo provider pushes a round of messages every few seconds over
HTTP, and the LSIV simulator drives ambulances through the Kafka feed."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime

import httpx
from confluent_kafka import Producer

from stack.demo import HOSPITALS, hospital_figures, measure_report, register
from stack.demo_sectors import push_tick, register_sites
from stack.lsiv_simulator import feed as lsiv_feed


def feed(api_url: str, stop: threading.Event, interval: float = 5.0, seed: int = 7) -> None:
    """Register the demo providers, then push a round of messages every `interval` seconds:
    SANER bed reports, ED status and NEDOCS for the hospitals, and every other sector."""
    rng = random.Random(seed)
    hospitals = [(h.location_id, h.beds) for h in HOSPITALS]
    with httpx.Client(base_url=api_url, timeout=10.0) as client:
        for hospital in HOSPITALS:
            register(client, hospital)
        register_sites(client)
        tick = 0
        while not stop.is_set():
            now = datetime.now(UTC)
            for hospital in HOSPITALS:
                report = measure_report(hospital.location_id,
                                        hospital_figures(hospital, rng), now)
                client.post("/fhir/MeasureReport", json=report).raise_for_status()
            push_tick(client, hospitals, rng, now, tick)
            tick += 1
            stop.wait(interval)


def feed_ambulances(bootstrap_servers: str, topic: str, stop: threading.Event) -> None:
    """Run the LSIV simulator (West and Midden-Nederland) until stopped, in one-minute runs."""
    def pause(seconds: float) -> None:
        if stop.wait(seconds):
            raise _Stopped

    producer = Producer({"bootstrap.servers": bootstrap_servers, "enable.idempotence": True,
                         "acks": "all"})
    run = 0
    try:
        while True:
            lsiv_feed(producer, topic=topic, vehicles=16, regions=("vr16", "vr09"), rate=4.0,
                      seconds=60.0, seed=run, prefix=f"demo{run}", sleep=pause)
            run += 1
    except _Stopped:
        pass
    finally:
        producer.flush(10)


class _Stopped(Exception):
    """The demo was stopped in the middle of a simulator run."""
