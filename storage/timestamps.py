"""Reading stored times that Python cannot represent, without failing the whole query.

PostgreSQL stores times from 4713 BC to 294276 AD and `infinity`; Python's datetime holds the
years 1 to 9999. psycopg refuses a value outside those (DataError), and with it the whole query:
one figure stamped `0001-01-01T00:00:00+01:00` (which is 1 BC in UTC) once made
`/v1/availability?region=west` fail for the whole region. The API refuses such times now
(`adapters.base.instant_problem`), but rows written before, or by hand, may still hold one.

`read_times_leniently` makes a connection read such a value as the nearest time Python can hold
(`EARLIEST` or `LATEST`, UTC): a figure then looks ancient (stale) or impossible, and the live
queries flag it, instead of taking its region's answer down.
"""

from __future__ import annotations

import struct
from datetime import UTC, datetime
from typing import Any

from psycopg import DataError
from psycopg.abc import AdaptContext, Buffer
from psycopg.adapt import AdaptersMap, Loader
from psycopg.postgres import types
from psycopg.pq import Format

EARLIEST = datetime.min.replace(tzinfo=UTC)
LATEST = datetime.max.replace(tzinfo=UTC)
TIMESTAMPTZ_OID = types["timestamptz"].oid


def _clamped_text(data: Buffer) -> datetime:
    text = bytes(data).strip()
    return EARLIEST if text.endswith(b"BC") or text.startswith(b"-") else LATEST


def _clamped_binary(data: Buffer) -> datetime:
    # Microseconds since 2000-01-01 UTC: negative is before year 1, positive after 9999.
    (micros,) = struct.unpack("!q", bytes(data))
    return EARLIEST if micros < 0 else LATEST


def nearest_time(text: str) -> datetime:
    """The representable time nearest to a time PostgreSQL printed that Python cannot hold
    (`… BC`, `-infinity`: EARLIEST; a year after 9999, `infinity`: LATEST)."""
    return _clamped_text(text.encode())


class _Lenient(Loader):
    """psycopg's own timestamptz loader, clamping what it cannot represent."""

    default: type[Loader]

    def __init__(self, oid: int, context: AdaptContext | None = None) -> None:
        super().__init__(oid, context)
        self._inner = self.default(oid, context)

    def load(self, data: Buffer) -> Any:
        try:
            return self._inner.load(data)
        except DataError:
            return self.clamp(data)

    @staticmethod
    def clamp(data: Buffer) -> datetime:
        """The representable time nearest to `data`."""
        return _clamped_text(data)


class _LenientBinary(_Lenient):
    format = Format.BINARY

    @staticmethod
    def clamp(data: Buffer) -> datetime:
        """The representable time nearest to `data`."""
        return _clamped_binary(data)


def read_times_leniently(adapters: AdaptersMap) -> None:
    """Register the clamping timestamptz loaders (text and binary) on `adapters` (a
    connection's, e.g. in a pool's `configure`)."""
    for lenient, format_ in ((_Lenient, Format.TEXT), (_LenientBinary, Format.BINARY)):
        default = adapters.get_loader(TIMESTAMPTZ_OID, format_)
        if default is None or issubclass(default, _Lenient):
            continue
        loader = type(lenient.__name__, (lenient,), {"default": default})
        adapters.register_loader(TIMESTAMPTZ_OID, loader)
