"""The audit trail's hash chain: each record's hash covers its content and the previous hash.

Changing, inserting or removing a record in the middle changes every hash after it, so
`verify` finds the first record that no longer fits. Pure: the writer (`storage/audit.py`) and
the verifier use the same `chain_hash`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

# The first record of an empty trail chains to this.
GENESIS = bytes(32)


@dataclass(frozen=True)
class AuditRecord:
    """One act: who (client, organisation, role), what (action, target), how it ended, when.

    `outcome` is `accepted` (2xx/3xx), `refused` (4xx, with the rule in `reason`) or `failed`
    (5xx); `status` the HTTP status; `request_id` ties it to the logs.
    """

    at: datetime
    request_id: str
    client_id: str | None
    organization: str | None
    role: str | None
    action: str
    target: str
    outcome: str
    status: int
    reason: str | None = None


def canonical(record: AuditRecord) -> bytes:
    """The bytes a record's hash covers: sorted-key JSON, the time in UTC microseconds."""
    fields = asdict(record)
    fields["at"] = record.at.astimezone(UTC).isoformat(timespec="microseconds")
    return json.dumps(fields, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=True).encode()


def chain_hash(previous: bytes, record: AuditRecord) -> bytes:
    """SHA-256 over the previous hash and the record."""
    return hashlib.sha256(previous + canonical(record)).digest()


def chain(previous: bytes, records: list[AuditRecord]) -> list[tuple[bytes, bytes]]:
    """(previous hash, hash) of each record in order, continuing from `previous`."""
    links = []
    for record in records:
        current = chain_hash(previous, record)
        links.append((previous, current))
        previous = current
    return links


@dataclass(frozen=True)
class ChainBreak:
    """Where a trail stops verifying, and why."""

    seq: int
    problem: str


def first_break(previous: bytes | None, seq: int, record: AuditRecord, prev_hash: bytes,
                stored_hash: bytes) -> ChainBreak | None:
    """The problem with one stored record, given the hash of the record before it (None for
    the first record kept, whose stored previous hash is the anchor after retention)."""
    if previous is not None and prev_hash != previous:
        return ChainBreak(seq, "its previous hash is not the hash of the record before it "
                               "(a record was removed or inserted)")
    if chain_hash(prev_hash, record) != stored_hash:
        return ChainBreak(seq, "its content does not match its hash (the record was changed)")
    return None
