"""Which clients are revoked, known in memory and kept current by PostgreSQL notifications.

Every request must be refused once its client is revoked, and a database round trip per request
would be most of what authentication costs on the push path. So each API process listens on
the `zc_client_revoked` channel (`storage/clients.py` notifies in the revoking transaction) and
keeps two sets: clients confirmed active, and clients revoked. A client it has not seen yet is
looked up once. While the listening connection is down, nothing is trusted from memory: every
request asks the database, until the listener is back and has reloaded the revoked set.

A revocation through this process's API takes effect at once; one made elsewhere (another API
process, `python -m api.clients revoke`) as soon as PostgreSQL delivers the notification,
milliseconds after its commit.
"""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg
import structlog

from storage.clients import REVOCATION_CHANNEL, is_revoked, revoked_clients

log = structlog.get_logger()
Conn = psycopg.AsyncConnection[Any]
RECONNECT_SECONDS = 1.0


class Revocations:
    """The revocation state of clients, for one API process."""

    def __init__(self, database_url: str) -> None:
        self._database_url = database_url
        self._active: set[str] = set()
        self._revoked: set[str] = set()
        self._live = False
        self._task: asyncio.Task[None] | None = None
        self.ready = asyncio.Event()

    @property
    def live(self) -> bool:
        """True while notifications are being received (memory may be trusted)."""
        return self._live

    async def status(self, conn: Conn, client_id: str) -> bool | None:
        """True revoked, False active, None not a client of this platform."""
        if self._live:
            if client_id in self._revoked:
                return True
            if client_id in self._active:
                return False
        revoked = await is_revoked(conn, client_id=client_id)
        if self._live and revoked is not None:
            (self._revoked if revoked else self._active).add(client_id)
        return revoked

    def revoke(self, client_id: str) -> None:
        """Refuse `client_id` from now on in this process (its notification may come later)."""
        self._active.discard(client_id)
        self._revoked.add(client_id)

    def start(self) -> None:
        """Listen in the background until `close`."""
        self._task = asyncio.create_task(self._run(), name="revocations")

    async def close(self) -> None:
        """Stop listening."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            try:
                await self._listen()
            except (psycopg.Error, OSError) as exc:
                log.warning("revocation_listener_down", error=str(exc))
            finally:
                self._live = False
            await asyncio.sleep(RECONNECT_SECONDS)

    async def _listen(self) -> None:
        async with await psycopg.AsyncConnection.connect(self._database_url,
                                                         autocommit=True) as conn:
            await conn.execute(f"LISTEN {REVOCATION_CHANNEL}")
            # Listening first, then loading: a revocation in between is in the set or comes
            # as a notification, never lost. What was confirmed active is checked again.
            self._revoked = set(await revoked_clients(conn))
            self._active = set()
            self._live = True
            self.ready.set()
            log.info("revocation_listener_live", revoked=len(self._revoked))
            async for notification in conn.notifies():
                self.revoke(notification.payload)
