"""The raw message archive as a replay reads it back: an archived message in its stored parts,
nothing parsed. No I/O: storage/archive.py reads these, streams/replay.py sends them again.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from core.ingest import RawHeader


@dataclass(frozen=True)
class Archived:
    """An archived message as a replay needs it: nothing parsed."""

    header: RawHeader
    sector: str
    payload_json: str
    context_json: str
    mapped: bytes | None

    def raw_json(self) -> bytes:
        """The raw message's JSON, put together from its parts."""
        h = self.header
        return msgspec.json.encode({
            "message_id": h.message_id, "source_format": h.source_format,
            "sector": self.sector, "provider": h.provider, "location_id": h.location_id,
            "received_at": h.received_at, "payload": msgspec.Raw(self.payload_json.encode()),
            "context": msgspec.Raw(self.context_json.encode())})
