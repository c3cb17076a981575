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

Each page of the archive goes out as one topic message per location (up to MESSAGES_PER_SEND of
its messages, in the order received, within INGEST_MESSAGE_MAX_BYTES), keyed by the location
like a push: the order per location is the order received, and the broker and the stream worker
pay their cost per topic message once per many archived ones.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from confluent_kafka import KafkaError, Message, Producer
from tqdm import tqdm

from adapters import AdapterError, map_raw
from core.archive import Archived
from core.ingest import IngestMessage, encode, ingest_message, remapped
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


# Archived messages carried in one topic message at most: enough that the per-message cost of
# the broker and the stream worker vanishes, few enough that a store batch stays balanced.
MESSAGES_PER_SEND = 64
# Archived messages read at a time and grouped per location: the more, the fuller each group
# (a national archive interleaves thousands of locations), within tens of megabytes.
REPLAY_PAGE = 10_000


def replay_message(archived: Archived, remap: bool) -> IngestMessage:
    """The ingest message of an archived message: its archived rows, or mapped again."""
    if archived.mapped is not None and not remap:
        return remapped(archived.header, archived.raw_json(), archived.mapped)
    raw = RawMessage.model_validate_json(archived.raw_json())
    result = map_raw(raw)
    return ingest_message(raw, result.observations, result.positions)


class _Delivery:
    """Counts broker acknowledgements and failures of the archived messages produced."""

    def __init__(self, report: ReplayReport, progress: Any) -> None:
        self._report = report
        self._progress = progress

    def of(self, messages: int) -> Callable[[KafkaError | None, Message], None]:
        """The delivery callback of one topic message carrying `messages` archived ones."""
        def delivered(err: KafkaError | None, _message: Message) -> None:
            if err is None:
                self._report.sent += messages
            else:
                self._report.failed += messages
            self._progress.update(messages)
        return delivered


def _producer(settings: Settings) -> Producer:
    return Producer({"bootstrap.servers": settings.kafka_bootstrap_servers,
                     "enable.idempotence": True, "acks": "all", "linger.ms": 20,
                     "compression.type": "lz4", "allow.auto.create.topics": False,
                     "message.max.bytes": settings.kafka_message_max_bytes,
                     "queue.buffering.max.messages": 200_000})


@dataclass(frozen=True)
class Send:
    """One topic message of a replay: archived messages of one location, as a JSON array."""

    location_id: str
    messages: int
    value: bytes


def sends(messages: Sequence[IngestMessage], most_bytes: int,
          most_messages: int = MESSAGES_PER_SEND) -> Iterator[Send]:
    """`messages` grouped per location, in the order received, each group at most
    `most_messages` long and (unless it is one message) `most_bytes` encoded."""
    by_location: dict[str, list[bytes]] = {}
    for message in messages:
        by_location.setdefault(message.location_id, []).append(encode(message))
    for location, encoded in by_location.items():
        group: list[bytes] = []
        size = 1  # the brackets, less the comma the first message does not need
        for value in encoded:
            if group and (len(group) == most_messages or size + len(value) + 1 > most_bytes):
                yield Send(location, len(group), b"[" + b",".join(group) + b"]")
                group, size = [], 1
            group.append(value)
            size += len(value) + 1
        if group:
            yield Send(location, len(group), b"[" + b",".join(group) + b"]")


def _produce(producer: Producer, topic: str, send: Send, delivered: _Delivery) -> None:
    while True:
        try:
            producer.produce(topic, key=send.location_id.encode(), value=send.value,
                             on_delivery=delivered.of(send.messages))
            return
        except BufferError:  # the local queue is full: let deliveries drain first
            producer.poll(0.5)


def _ingest_messages(page: Sequence[Archived], remap: bool, report: ReplayReport,
                     progress: Any) -> list[IngestMessage]:
    """The page's messages to send; those an adapter now refuses are counted and listed."""
    messages = []
    for archived in page:
        try:
            messages.append(replay_message(archived, remap))
        except AdapterError as exc:
            report.refused += 1
            progress.update(1)
            progress.write(f"refused {archived.header.message_id}: {exc}")
    return messages


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
                                                 location=location, page=REPLAY_PAGE):
                messages = _ingest_messages(page, remap, report, progress)
                for send in sends(messages, settings.ingest_message_max_bytes):
                    _produce(producer, topic, send, delivered)
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
