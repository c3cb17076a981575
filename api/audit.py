"""The audit trail of the API: one record per act, written in batches off the request path.

Every route's access rule (`api/access.py`) opens an `AuditContext` on the request; the
`AuditMiddleware` closes it with the answer's status and the refusal's rule, and hands the
record to the `AuditTrail`, which appends batches (chained by hash, `storage/audit.py`) every
AUDIT_FLUSH_SECONDS. A request never waits for the audit. What a process has buffered but not
yet written is lost only when the process is killed outright (SIGKILL), never on a normal stop.

`python -m api.audit verify` walks the whole chain and says where it breaks.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import time
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

import psycopg
import structlog
from psycopg_pool import AsyncConnectionPool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.audit_chain import AuditRecord, ChainBreak, first_break
from core.identity import Principal
from core.input_limits import escape_forbidden
from core.metrics import AUDIT_BUFFERED, AUDIT_DROPPED, AUDIT_WRITTEN
from core.settings import get_settings
from storage import audit as audit_store

log = structlog.get_logger()
# Query parameters never written to the trail: credentials.
SECRET_PARAMETERS = frozenset({"key", "client_secret", "access_token"})
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# Beyond this many unwritten records (the database away for long), the oldest are dropped,
# counted in zc_audit_dropped_total: the API keeps answering.
MAX_BUFFERED = 200_000


@dataclass
class AuditContext:
    """The act one request is: opened by the route's access rule, refined by the handler."""

    action: str
    kind: str
    principal: Principal | None = None
    target: str | None = None
    reason: str | None = None


def outcome_of(status: int) -> str:
    """accepted (2xx, 3xx), refused (4xx) or failed (5xx)."""
    if status >= 500:
        return "failed"
    return "refused" if status >= 400 else "accepted"


def target_of(scope: Scope) -> str:
    """The path and query of a request, without credentials."""
    query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    kept = [(k, v) for k, v in query if k not in SECRET_PARAMETERS]
    path: str = scope["path"]
    return path + (f"?{urlencode(kept)}" if kept else "")


def record_of(context: AuditContext, scope: Scope, status: int, request_id: str) -> AuditRecord:
    """The audit record of a finished request. Target and reason may quote what the caller
    sent: a NUL or lone surrogate in them is escaped, or it would fail the whole batch."""
    who = context.principal
    return AuditRecord(
        at=datetime.now(UTC), request_id=request_id,
        client_id=who.subject if who else None, organization=who.organization if who else None,
        role=who.role if who else None, action=context.action,
        target=escape_forbidden((context.target or target_of(scope))[:2000]),
        outcome=outcome_of(status), status=status,
        reason=escape_forbidden(context.reason[:2000]) if context.reason else None)


class AuditTrail:
    """Records waiting to be written, and the task that writes them in batches."""

    def __init__(self, flush_seconds: float) -> None:
        self._pool: AsyncConnectionPool[Any] | None = None
        self._flush_seconds = flush_seconds
        self._buffer: deque[AuditRecord] = deque()
        self._task: asyncio.Task[None] | None = None

    def add(self, record: AuditRecord) -> None:
        """Queue a record; never blocks."""
        self._buffer.append(record)
        if len(self._buffer) > MAX_BUFFERED:
            self._buffer.popleft()
            AUDIT_DROPPED.inc()
        AUDIT_BUFFERED.set(len(self._buffer))

    def start(self, pool: AsyncConnectionPool[Any]) -> None:
        """Write batches to `pool`'s database in the background until `close`."""
        self._pool = pool
        self._task = asyncio.create_task(self._run(), name="audit-trail")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._flush_seconds)
            await self.flush()

    async def flush(self) -> None:
        """Write what is buffered in one transaction; on failure keep it for the next try."""
        batch = list(self._buffer)
        if not batch or self._pool is None:
            return
        try:
            async with self._pool.connection() as conn, conn.transaction():
                await audit_store.append(conn, batch)
        except (psycopg.Error, OSError, TimeoutError) as exc:
            log.error("audit_write_failed", records=len(batch), error=str(exc))
            return
        for _ in batch:
            self._buffer.popleft()
        AUDIT_WRITTEN.inc(len(batch))
        AUDIT_BUFFERED.set(len(self._buffer))

    async def close(self) -> None:
        """Stop the background task and write what is left."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.flush()


class AuditMiddleware:
    """Gives every request an id (`X-Request-ID`, taken from the caller when sane) and, when
    the route's access rule opened an audit context, records the act with its outcome."""

    def __init__(self, app: ASGIApp, trail: AuditTrail) -> None:
        self.app = app
        self.trail = trail

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []),
                                      (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            context = state.get("audit")
            if isinstance(context, AuditContext):
                self.trail.add(record_of(context, scope, status, request_id))


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            text: str = value.decode("latin-1")
            if REQUEST_ID.match(text):
                return text
    return uuid.uuid4().hex


async def verify_chain(database_url: str, progress: bool = True) -> tuple[int, ChainBreak | None]:
    """Walk the whole trail oldest first: (records checked, the first break or None)."""
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        total = await audit_store.count(conn)
        previous: bytes | None = None
        checked, started = 0, time.monotonic()
        async for stored in audit_store.walk(conn):
            problem = first_break(previous, stored.seq, stored.record, stored.prev_hash,
                                  stored.hash)
            if problem is not None:
                return checked, problem
            previous, checked = stored.hash, checked + 1
            if progress and checked % 50_000 == 0:
                _say(f"  {checked:,} of {total:,} records verified "
                     f"({time.monotonic() - started:.0f} s)")
    return checked, None


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> None:
    """CLI: `verify` walks the chain; exit 1 and the first broken record when it breaks."""
    parser = argparse.ArgumentParser(prog="python -m api.audit")
    parser.add_argument("command", choices=["verify"])
    parser.parse_args(argv)
    checked, problem = asyncio.run(verify_chain(get_settings().database_url))
    if problem is not None:
        _say(f"audit chain BROKEN at record {problem.seq}: {problem.problem} "
             f"({checked:,} records before it verified)")
        sys.exit(1)
    _say(f"audit chain intact: {checked:,} records verified")


if __name__ == "__main__":
    main()
