"""History for `make run`: the demo providers send the hours they missed, so forecasts have
weeks of daily and weekly rhythm to learn from from the first run on.

On start the demo sends, for every hour since its figures were last stored (at most
`HISTORY`, four weeks), what each provider would have sent at half past that hour: bed reports,
NEDOCS inputs, HAP, GP and GGZ status, and the ELV beds as one spreadsheet per organisation;
about one hour in thirty is left out (a report that never came). Everything goes over the same
HTTP endpoints a provider system uses, each organisation with its own client, several at a time.
Ambulance figures come from the LSIV feed and have no history here.
"""

from __future__ import annotations

import random
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import httpx
import structlog

from stack.demo import HOSPITALS, hospital_figures, measure_report
from stack.demo_sectors import SITES, _nedocs, _site_messages
from stack.patterns import Rhythms

log = structlog.get_logger()
HISTORY = timedelta(days=28)
HOUR = timedelta(hours=1)
MISSING = 1 / 30
PARALLEL = 4
# An item every demo location reports, to find where its stored history ends.
PROBE = {"hospital": "hospital.beds.inpatient.available", "hap": "hap.consults.free",
         "gp-practice": "gp.consults.u3.free", "vvt": "vvt.beds.grz.available",
         "ggz": "ggz.beds.hic.available"}
Message = tuple[str, Any]


def _stored_until(client: httpx.Client, location: str, code: str, now: datetime) -> datetime:
    """The hour after the newest stored hour of `location` (or HISTORY before now)."""
    answer = client.get("/v1/history", params={
        "location": location, "definition": code, "resolution": "1h",
        "from": (now - HISTORY).isoformat(), "to": now.isoformat()})
    answer.raise_for_status()
    hours = [p["bucket"] for p in answer.json()["points"] if p["value"] is not None]
    if not hours:
        return now - HISTORY
    return datetime.fromisoformat(max(hours)) + HOUR


def _messages(rhythms: Rhythms, rng: random.Random, start: datetime,
              now: datetime) -> dict[str, list[Message]]:
    """Per organisation, its messages from `start` until `now`, in time order."""
    sent: dict[str, list[Message]] = defaultdict(list)
    moment = start.replace(minute=30, second=0, microsecond=0)
    while moment < now:
        at = moment.isoformat()
        for hospital in HOSPITALS:
            if rng.random() >= MISSING:
                figures = hospital_figures(hospital, rng, moment, rhythms)
                sent[hospital.organization_id] += [
                    ("/fhir/MeasureReport", measure_report(hospital.location_id, figures,
                                                           moment)),
                    ("/v1/hospital/nedocs", _nedocs(hospital.location_id, hospital.beds, rng,
                                                    at, rhythms))]
        for site in SITES:
            if rng.random() >= MISSING:
                sent[site.organization_id] += [m for m in _site_messages(site, rng, at, rhythms)
                                               if m[0] != "/v1/vvt/status"]
        moment += HOUR
    return sent


def _send(client: httpx.Client, messages: list[Message]) -> None:
    for path, body in messages:
        while True:
            answer = client.post(path, json=body)
            if answer.status_code != 429:  # the provider's rate limit: wait as told
                answer.raise_for_status()
                break
            time.sleep(float(answer.headers.get("Retry-After", "1")))


def backfill(providers: Mapping[str, httpx.Client], rhythms: Rhythms, rng: random.Random,
             now: datetime) -> Callable[[], int]:
    """Make the missing hours' messages now (so `rhythms` can go on with live figures) and
    return the job that sends them, answering how many it sent."""
    first = HOSPITALS[0]
    start = _stored_until(providers[first.organization_id], first.location_id,
                          PROBE["hospital"], now)
    for site in SITES:
        start = min(start, _stored_until(providers[site.organization_id], site.location_id,
                                         PROBE[site.sector], now))
    messages = _messages(rhythms, rng, start, now)

    def send() -> int:
        started = time.monotonic()
        with ThreadPoolExecutor(PARALLEL) as pool:
            list(pool.map(lambda org: _send(providers[org], messages[org]), messages))
        count = sum(len(m) for m in messages.values())
        log.info("demo_history_sent", since=start.isoformat(), messages=count,
                 seconds=round(time.monotonic() - started, 1))
        return count

    return send
