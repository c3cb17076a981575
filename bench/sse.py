"""SSE fan-out: N clients on /v1/stream, a figure pushed every 200 ms, the time from the figure
being stored to each client receiving its event.

The clients run in a process of their own (`python -m bench.sse`, asyncio, raw sockets: a
compiled-speed reader is not needed for a few events a second, but the clients must not share
the measuring process's interpreter). The bench process pushes one report at a time, notes
when its figure is in `observation` (polling every 5 ms, as the push -> queryable probe does),
and afterwards matches those moments with the clients' receive times (same machine, same
clock). Figures: p50 / p99 over every (client, figure) pair, how many events were missed.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg

from stack.config import StackConfig
from stack.demo import measure_report

LOCATION = "bench-h1"
ITEM = "hospital.beds.ic.available"


async def _client(port: int, token: str, received: list[tuple[str, float]],
                  connected: list[int], stop: asyncio.Event) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
    writer.write((f"GET /v1/stream?location={LOCATION}&item={ITEM} HTTP/1.1\r\n"
                  f"Host: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n"
                  "Accept: text/event-stream\r\n\r\n").encode())
    await writer.drain()
    status = await reader.readline()
    if b" 200 " not in status:
        raise RuntimeError(f"stream refused: {status!r}")
    connected.append(1)
    while not stop.is_set():
        line = await reader.readline()
        if not line:
            return
        # Each event is one chunk of the chunked body: its lines arrive whole.
        if line.startswith(b"data: ") and b'"figures"' in line:
            at = time.time()
            data = json.loads(line[6:])
            received.append((data["figures"][0]["observed_at"], at))
    writer.close()


async def _clients(port: int, token: str, count: int) -> dict[str, Any]:
    received: list[tuple[str, float]] = []
    connected: list[int] = []
    stop = asyncio.Event()
    tasks = [asyncio.create_task(_client(port, token, received, connected, stop))
             for _ in range(count)]
    while len(connected) < count:
        await asyncio.sleep(0.05)
        failed = [t for t in tasks if t.done() and t.exception() is not None]
        if failed:
            raise RuntimeError(str(failed[0].exception()))
    sys.stdout.write("connected\n")
    sys.stdout.flush()
    # Until the bench says it has seen every figure through (a line on stdin), then a moment
    # for the last events in flight.
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    await asyncio.sleep(2.0)
    stop.set()
    for task in tasks:
        task.cancel()
    return {"received": received}


def main() -> None:
    """`python -m bench.sse PORT TOKEN CLIENTS`: prints 'connected', reads a line from stdin,
    then prints the events received as JSON."""
    port, token, count = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    result = asyncio.run(_clients(port, token, count))
    sys.stdout.write(json.dumps(result) + "\n")


def _push_and_time(config: StackConfig, provider_token: str, pushes: int,
                   ) -> dict[str, float]:
    """Push `pushes` reports one by one; when each figure was stored (epoch seconds)."""
    stored: dict[str, float] = {}
    with httpx.Client(base_url=config.api_url, timeout=30,
                      headers={"Authorization": f"Bearer {provider_token}"}) as client, \
            psycopg.connect(config.database_url, autocommit=True) as conn:
        for n in range(pushes):
            moment = datetime.now(UTC) + timedelta(microseconds=uuid.uuid4().int % 1000)
            answer = client.post("/fhir/MeasureReport", json=measure_report(
                LOCATION, {"numICUBedsAvail": n % 50}, moment))
            answer.raise_for_status()
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                row = conn.execute("SELECT 1 FROM observation WHERE location_id = %s AND"
                                   " definition = %s AND observed_at = %s",
                                   (LOCATION, ITEM, moment)).fetchone()
                if row:
                    stored[moment.isoformat().replace("+00:00", "Z")] = time.time()
                    break
                time.sleep(0.005)
            time.sleep(0.2)
    return stored


def _await_subscribed(config: StackConfig, clients: int, timeout: float = 60.0) -> None:
    """Until the API counts every client as subscribed (a client has its answer's status
    line a moment before the API registers it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        page = httpx.get(f"{config.api_url}/metrics", timeout=10).text
        for line in page.splitlines():
            if line.startswith("zc_stream_clients ") and float(line.split()[1]) >= clients:
                return
        time.sleep(0.1)
    raise RuntimeError("the API did not register every SSE client")


def _moment_key(text: str) -> str:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).isoformat().replace(
        "+00:00", "Z")


def measure_fanout(config: StackConfig, zcv_token: str, provider_token: str,
                   clients: int = 500, pushes: int = 50) -> dict[str, Any]:
    """N clients connected, `pushes` figures: stored -> received p50 / p99 and misses."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.sse", str(config.api_port), zcv_token, str(clients)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    if process.stdout.readline().strip() != "connected":
        process.kill()
        raise RuntimeError("the SSE clients did not connect")
    _await_subscribed(config, clients)
    stored = _push_and_time(config, provider_token, pushes)
    out, _ = process.communicate("stop\n", timeout=120)
    received: list[tuple[str, float]] = json.loads(out.strip().splitlines()[-1])["received"]
    delays = sorted(at - stored[key] for moment, at in received
                    if (key := _moment_key(moment)) in stored)
    per_figure: dict[str, int] = {}
    for moment, _ in received:
        per_figure[_moment_key(moment)] = per_figure.get(_moment_key(moment), 0) + 1
    short = {k: clients - per_figure.get(k, 0) for k in stored if per_figure.get(k, 0) < clients}
    expected = clients * len(stored)

    def pct(q: float) -> float:
        return round(delays[min(len(delays) - 1, int(q * len(delays)))] * 1000, 1)

    return {"clients": clients, "figures": len(stored), "events_expected": expected,
            "events_received": len(delays), "events_missed": expected - len(delays),
            "figures_missed_by_some": len(short),
            "stored_to_received_p50_ms": pct(0.5), "stored_to_received_p99_ms": pct(0.99)}


if __name__ == "__main__":
    main()
