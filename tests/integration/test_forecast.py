"""Forecasts over HTTP on the running stack: history pushed as a provider would, a refit by the
forecaster (`python -m forecast --once`), then GET /v1/forecast.

An ELV organisation in ROAZ region Oost (no other test reports there) sends 25 days of hourly
bed figures as spreadsheets: two locations whose free high-complex beds follow a known daily and
weekly rhythm (stack/patterns.py; one of them small, often down to 0), and one whose free
low-complex beds are a random walk (pure noise: every hour's change is random).
"""

from __future__ import annotations

import random
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import numpy as np
import psycopg
import pytest

from core.settings import REPO_ROOT
from stack.config import StackConfig
from stack.demo import location_resource
from stack.patterns import Wanderer
from tests.identities import Platform
from tests.waiting import wait_for

CSV_HEADER = "locatie;zorgsoort;beschikbaar;totaal;tijdstip"
HOURS = 25 * 24
HIGH = "vvt.beds.elv_high_complex.available"
LOW = "vvt.beds.elv_low_complex.available"


@dataclass(frozen=True)
class History:
    """The locations, what each sent last, and the organisation's provider client."""

    busy: str
    small: str
    noisy: str
    last: dict[tuple[str, str], float]
    provider: httpx.Client


def _rows(location: str, care_type: str, total: int, values: list[float],
          start: datetime) -> list[str]:
    return [f"{location};{care_type};{int(v)};{total};{(start + timedelta(hours=k)).isoformat()}"
            for k, v in enumerate(values)]


def _pattern(level: float, seed: int, start: datetime, total: int) -> list[float]:
    rng = random.Random(seed)
    wanderer = Wanderer("beds-free", level, 0, total, whole=True)
    return [wanderer.step(start + timedelta(hours=k), rng) for k in range(HOURS)]


def _push(client: httpx.Client, rows: list[str]) -> None:
    for first in range(0, len(rows), 400):
        text = "\r\n".join([CSV_HEADER, *rows[first:first + 400]]) + "\r\n"
        client.post("/v1/vvt/beds.csv", content=text.encode(),
                    headers={"Content-Type": "text/csv; charset=utf-8"}).raise_for_status()


def _refit(stack: StackConfig) -> None:
    subprocess.run([sys.executable, "-m", "forecast", "--once"], env=stack.service_env(),
                   cwd=REPO_ROOT, check=True, timeout=300, capture_output=True)


@pytest.fixture(scope="module")
def history(stack: StackConfig, platform: Platform) -> Iterator[History]:
    suffix = uuid.uuid4().hex[:8]
    org = f"org-fc-{suffix}"
    provider = platform.provider(org, f"Zorggroep Oost {suffix}", "00009413")
    ids = [f"vvt-fc-{name}-{suffix}" for name in ("busy", "small", "noisy")]
    for i, location in enumerate(ids):
        provider.put(f"/fhir/Location/{location}", json=location_resource(
            location, org, f"ELV {location}", "oost", 51.84 + i / 100, 5.86, "vvt",
        )).raise_for_status()
    # Hourly figures at half past, the newest in the last hour.
    start = (datetime.now(UTC) - timedelta(hours=HOURS)).replace(minute=30, second=0,
                                                                 microsecond=0)
    busy, small = _pattern(20, 1, start, 40), _pattern(2, 2, start, 10)
    noise = np.clip(np.round(250 + np.cumsum(np.random.default_rng(3).normal(0, 2, HOURS))),
                    0, 500).tolist()
    _push(provider, _rows(ids[0], "ELV hoog complex", 40, busy, start)
          + _rows(ids[1], "ELV hoog complex", 10, small, start)
          + _rows(ids[2], "ELV laag complex", 500, noise, start))
    with psycopg.connect(stack.database_url, autocommit=True) as conn:
        def hours_rolled_up() -> bool:
            row = conn.execute("SELECT count(*) FROM observation_1h WHERE location_id ="
                               " ANY(%s) AND definition LIKE '%%.available'", (ids,)).fetchone()
            return row is not None and row[0] >= 3 * HOURS
        wait_for(hours_rolled_up, timeout=120, what="the hourly roll-ups of 25 days")
    _refit(stack)
    yield History(ids[0], ids[1], ids[2], {(ids[0], HIGH): busy[-1], (ids[1], HIGH): small[-1],
                                           (ids[2], LOW): noise[-1]}, provider)


def _forecast(client: httpx.Client, **params: Any) -> dict[str, Any]:
    answer = client.get("/v1/forecast", params=params)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_a_known_pattern_is_forecast_and_beats_both_baselines(
    history: History, zcv: httpx.Client,
) -> None:
    body = _forecast(zcv, location=history.busy, item=HIGH)
    assert body["verdict"] == "forecast" and body["method"] == "model", body["reason"]
    mae = {m: s["mae"] for m, s in body["backtest"]["scores"].items()}
    assert mae["model"] < mae["last-value"] and mae["model"] < mae["same-hour-last-week"]
    assert len(body["points"]) == 4 and body["interval_level"] == 80
    first = datetime.fromisoformat(body["points"][0]["at"])
    assert first == datetime.fromisoformat(body["origin"]) > datetime.now(UTC) - timedelta(
        hours=1)
    for point in body["points"]:
        assert 0 <= point["lower"] <= point["value"] <= point["upper"] <= 40


def test_pure_noise_answers_no_reliable_forecast_with_the_last_value(
    history: History, zcv: httpx.Client,
) -> None:
    body = _forecast(zcv, location=history.noisy, item=LOW, horizon=2)
    assert body["verdict"] == "no reliable forecast"
    assert body["method"] == "last-value" == body["backtest"]["better_baseline"]
    assert "not better beyond chance" in body["reason"]
    assert [p["value"] for p in body["points"]] == [history.last[(history.noisy, LOW)]] * 2


def test_the_items_range_holds_no_negative_beds(history: History, zcv: httpx.Client) -> None:
    body = _forecast(zcv, location=history.small, item=HIGH)
    for point in body["points"]:
        assert 0 <= point["lower"] <= point["upper"] <= 10
        assert 0 <= point["value"] <= 10
        assert point["lower"] == int(point["lower"]) and point["upper"] == int(point["upper"])


def test_a_region_is_forecast_by_the_items_rollup_rule(
    history: History, zcv: httpx.Client,
) -> None:
    """Free beds are summed: the region's forecast is of the two locations' sum, in the sum
    of their ranges; NEDOCS (roll-up 'latest') has no regional forecast."""
    region = _forecast(zcv, region="oost", item=HIGH)
    assert region["region"] == "oost" and region["locations"] == 2 and region["rollup"] == "sum"
    parts = [_forecast(zcv, location=loc, item=HIGH) for loc in (history.busy, history.small)]
    for k, point in enumerate(region["points"]):
        low = sum(p["points"][k]["lower"] for p in parts)
        high = sum(p["points"][k]["upper"] for p in parts)
        assert low - 3 <= point["value"] <= high + 3, (point, low, high)
        assert point["lower"] >= 0 and point["upper"] <= 50
    latest = zcv.get("/v1/forecast", params={"region": "oost",
                                             "item": "hospital.seh.nedocs_score"})
    assert latest.status_code == 422 and "rolls up by 'latest'" in latest.text


def test_forecasts_are_read_as_the_live_figures_are(
    history: History, platform: Platform,
) -> None:
    """A ZCV reads its regions and their neighbours; a provider its own locations."""
    west, brabant = platform.zcv(("west",)), platform.zcv(("brabant",))
    assert west.get("/v1/forecast", params={"location": history.busy,
                                            "item": HIGH}).status_code == 403
    assert west.get("/v1/forecast", params={"region": "oost", "item": HIGH}).status_code == 403
    assert brabant.get("/v1/forecast", params={"region": "oost",  # a neighbour
                                               "item": HIGH}).status_code == 200
    assert _forecast(history.provider, location=history.busy, item=HIGH)["location"]
    other = platform.provider(f"org-fc-other-{uuid.uuid4().hex[:6]}")
    assert other.get("/v1/forecast", params={"location": history.busy,
                                             "item": HIGH}).status_code == 403
    assert history.provider.get("/v1/forecast", params={"region": "oost",
                                                        "item": HIGH}).status_code == 403
    unknown = platform.zcv(national=True).get("/v1/forecast", params={
        "location": history.busy, "item": "vvt.beds.grz.available"})
    assert unknown.status_code == 404
