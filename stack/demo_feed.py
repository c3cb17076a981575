"""`make run`'s demo feed: every demo provider pushes a round of messages every few seconds over
HTTP, and the LSIV simulator drives ambulances through the Kafka feed."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import structlog
from confluent_kafka import KafkaException, Producer

from stack.credentials import cached_client, read_credentials, signed_in
from stack.demo import (
    HOSPITALS,
    hospital_figures,
    measure_report,
    register,
    register_organization,
)
from stack.demo_history import backfill
from stack.demo_sectors import SITES, DemoHospitalEd, push_tick, register_sites
from stack.lsiv_simulator import feed as lsiv_feed
from stack.patterns import Rhythms

log = structlog.get_logger()


def demo_providers(admin: httpx.Client, credentials_dir: Path) -> dict[str, httpx.Client]:
    """Every demo organisation registered by the admin, each with its own provider client
    (credentials kept in `credentials_dir`, reused on the next run), signed in."""
    organizations = {h.organization_id: (h.name, h.ura) for h in HOSPITALS}
    organizations.update({s.organization_id: (s.name, s.ura) for s in SITES})
    providers = {}
    for org_id, (name, ura) in organizations.items():
        register_organization(admin, org_id, name, ura)
        credentials = cached_client(admin, credentials_dir / f"{org_id}.json", org_id,
                                    "provider")
        providers[org_id] = signed_in(str(admin.base_url), credentials, timeout=10.0)
    return providers


def feed(api_url: str, admin_credentials: Path, stop: threading.Event, interval: float = 5.0,
         seed: int = 7, after_history: Callable[[], None] | None = None) -> None:
    """Register the demo providers, send the hours of history they missed (stack/demo_history;
    then `after_history`, in the background), then push a round of messages every `interval`
    seconds: SANER bed reports, ED status and NEDOCS for the hospitals, and every other sector,
    each provider with its own client. Figures follow daily and weekly rhythms
    (stack/patterns.py)."""
    rng = random.Random(seed)
    rhythms = Rhythms(rng)
    hospitals = [DemoHospitalEd(h.location_id, h.organization_id, h.beds) for h in HOSPITALS]
    credentials = read_credentials(admin_credentials)
    assert credentials is not None, f"no admin credentials in {admin_credentials}"
    with signed_in(api_url, credentials) as admin:
        providers = demo_providers(admin, admin_credentials.parent / "demo")
    try:
        for hospital in HOSPITALS:
            register(providers[hospital.organization_id], hospital)
        device_keys = register_sites(providers)
        history = backfill(providers, rhythms, rng, datetime.now(UTC))
        threading.Thread(target=_history_then, args=(history, after_history), daemon=True,
                         name="demo-history").start()
        tick = 0
        while not stop.is_set():
            now = datetime.now(UTC)
            for hospital in HOSPITALS:
                report = measure_report(hospital.location_id,
                                        hospital_figures(hospital, rng, now, rhythms), now)
                providers[hospital.organization_id].post(
                    "/fhir/MeasureReport", json=report).raise_for_status()
            push_tick(providers, device_keys, hospitals, rng, now, tick, rhythms)
            tick += 1
            stop.wait(interval)
    finally:
        for client in providers.values():
            client.close()


def _history_then(send: Callable[[], int], after: Callable[[], None] | None) -> None:
    try:
        send()
    except httpx.HTTPError as exc:  # the demo goes on live without its history
        log.warning("demo_history_failed", error=str(exc))
        return
    if after is not None:
        after()


def feed_ambulances(bootstrap_servers: str, topic: str, stop: threading.Event) -> None:
    """Run the LSIV simulator (West and Midden-Nederland) until stopped, in one-minute runs,
    each with a producer of its own (a broker that restarted leaves an idempotent producer in
    a fatal state: the next run starts afresh)."""
    def pause(seconds: float) -> None:
        if stop.wait(seconds):
            raise _Stopped

    run = 0
    while not stop.is_set():
        producer = Producer({"bootstrap.servers": bootstrap_servers, "enable.idempotence": True,
                             "allow.auto.create.topics": False, "acks": "all"})
        try:
            lsiv_feed(producer, topic=topic, vehicles=16, regions=("vr16", "vr09"), rate=4.0,
                      seconds=60.0, seed=run, prefix=f"demo{run}", sleep=pause)
        except _Stopped:
            return
        except KafkaException as exc:
            log.warning("demo_lsiv_run_failed", error=str(exc))
            if stop.wait(5.0):
                return
        finally:
            producer.flush(10)
        run += 1


class _Stopped(Exception):
    """The demo was stopped in the middle of a simulator run."""
