"""`python -m streams.replay`: feed archived messages through the normal path again.

    python -m streams.replay --from 2026-12-01T00:00:00Z --to 2026-12-02T00:00:00Z
    python -m streams.replay --from ... --to ... --location lumc-leiden

Reads the raw message archive (received in [from, to), of one location or all) and sends every
message to the ingest topic again with its original id and receipt time, with a progress bar:
with what its adapter made of it when it was accepted (archived beside it; nothing is parsed),
or, with `--remap`, mapped again by today's adapter (after an adapter was fixed). The writes
are idempotent: a replay changes no row that the first time wrote, and restores what was lost
since (a table restored from an older backup, say). Messages an adapter now refuses are counted
and listed, not sent.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from confluent_kafka import KafkaError, Message, Producer
from tqdm import tqdm

from adapters import AdapterError, map_raw
from core.archive import Archived
from core.ingest import encode, ingest_message, remapped
from core.logs import configure_logging
from core.messages import RawMessage
from core.settings import Settings, get_settings
from core.topics import ingest_topic
from storage import archive


@dataclass
class ReplayReport:
    """What a replay did."""

    sent: int = 0
    refused: int = 0
    failed: int = 0


def replay_message(archived: Archived, remap: bool) -> bytes:
    """The ingest message of an archived message: its archived rows, or mapped again."""
    if archived.mapped is not None and not remap:
        return encode(remapped(archived.header, archived.raw_json(), archived.mapped))
    raw = RawMessage.model_validate_json(archived.raw_json())
    result = map_raw(raw)
    return encode(ingest_message(raw, result.observations, result.positions))


class _Delivery:
    """Counts broker acknowledgements and failures of what was produced."""

    def __init__(self, report: ReplayReport, progress: Any) -> None:
        self._report = report
        self._progress = progress

    def __call__(self, err: KafkaError | None, _message: Message) -> None:
        if err is None:
            self._report.sent += 1
        else:
            self._report.failed += 1
        self._progress.update(1)


def _producer(settings: Settings) -> Producer:
    return Producer({"bootstrap.servers": settings.kafka_bootstrap_servers,
                     "enable.idempotence": True, "acks": "all", "linger.ms": 20,
                     "compression.type": "lz4", "allow.auto.create.topics": False,
                     "queue.buffering.max.messages": 200_000})


def _produce(producer: Producer, topic: str, archived: Archived, remap: bool,
             delivered: _Delivery) -> None:
    value = replay_message(archived, remap)
    while True:
        try:
            producer.produce(topic, key=archived.header.location_id.encode(), value=value,
                             on_delivery=delivered)
            return
        except BufferError:  # the local queue is full: let deliveries drain first
            producer.poll(0.5)


async def replay(settings: Settings, *, start: datetime, end: datetime,
                 location: str | None, remap: bool = False,
                 progress_to: Any = sys.stderr) -> ReplayReport:
    """Send the archived messages of [start, end) again; returns the counts."""
    report = ReplayReport()
    producer = _producer(settings)
    topic = ingest_topic(settings)
    async with await psycopg.AsyncConnection.connect(settings.database_url) as conn:
        total = await archive.count_received(conn, start=start, end=end, location=location)
        with tqdm(total=total, unit="msg", file=progress_to, desc="replay",
                  mininterval=1.0) as progress:
            delivered = _Delivery(report, progress)
            async for page in archive.for_replay(conn, start=start, end=end,
                                                 location=location):
                for archived in page:
                    try:
                        _produce(producer, topic, archived, remap, delivered)
                    except AdapterError as exc:
                        report.refused += 1
                        progress.update(1)
                        progress.write(f"refused {archived.header.message_id}: {exc}")
                producer.poll(0)
            producer.flush(60)
    return report


def _moment(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} needs a timezone, e.g. 2026-12-01T00:00Z")
    return moment


def main(argv: list[str] | None = None) -> None:
    """CLI entry point."""
    parser = argparse.ArgumentParser(prog="python -m streams.replay", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--from", dest="start", type=_moment, required=True,
                        help="received at or after (ISO 8601 with timezone)")
    parser.add_argument("--to", dest="end", type=_moment, required=True,
                        help="received before (ISO 8601 with timezone)")
    parser.add_argument("--location", help="only this location's (or unit's) messages")
    parser.add_argument("--remap", action="store_true",
                        help="map every message again with today's adapter")
    args = parser.parse_args(argv)
    settings = get_settings()
    configure_logging(settings.log_level, process="replay")
    report = asyncio.run(replay(settings, start=args.start, end=args.end,
                                location=args.location, remap=args.remap))
    sys.stdout.write(f"replayed {report.sent} message(s); {report.refused} refused by their "
                     f"adapter, {report.failed} not acknowledged by the broker\n")
    sys.exit(1 if report.failed else 0)


if __name__ == "__main__":
    main()
