"""Limits before work: what a request may carry, checked before anything parses it.

Each endpoint that reads a body declares its kind (`declare_body`): `csv` and `fhir` bodies may
be large (BODY_LIMIT_CSV_BYTES, BODY_LIMIT_FHIR_BYTES), every other body is small
(BODY_LIMIT_JSON_BYTES). `RequestLimitsMiddleware` answers 413 from `Content-Length`, or as soon
as the streamed body passes the endpoint's limit, before a byte is parsed; and 400 for a NUL
character in the path or the query, which no id or filter can hold. Media types are checked by
the body readers (`check_media_type`, 415). Parsing, validating and mapping run in a bounded pool
of threads (`offload`, PARSE_WORKERS) so that a large body never holds up other requests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import parse_qsl

import anyio
import structlog
from fastapi import Depends, Request
from fastapi.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.outcome import outcome_response
from core.input_limits import InputLimits
from core.refusals import Invalid, Refusal, TooLarge, UnsupportedMediaType, error
from core.settings import Settings, get_settings

log = structlog.get_logger()
T = TypeVar("T")
BodyKind = Literal["csv", "fhir", "json"]
BODY_KIND = "zc_body_kind"  # the attribute an endpoint's declared body kind is kept in
SETTING_OF: dict[BodyKind, str] = {"csv": "BODY_LIMIT_CSV_BYTES",
                                   "fhir": "BODY_LIMIT_FHIR_BYTES",
                                   "json": "BODY_LIMIT_JSON_BYTES"}
FHIR_MEDIA_TYPES = ("application/fhir+json", "application/json", "application/json+fhir")
JSON_MEDIA_TYPES = ("application/json",)
CSV_MEDIA_TYPES = ("text/csv",)
# Bodies up to this size parse in microseconds: a thread hop would cost more than it saves.
INLINE_BYTES = 16 * 1024


@dataclass(frozen=True)
class RequestLimits:
    """The limits of one API process, from its settings, and its pool of parsing threads."""

    body_bytes: dict[BodyKind, int]
    content: InputLimits
    workers: anyio.CapacityLimiter = field(compare=False)

    @classmethod
    def of(cls, settings: Settings) -> RequestLimits:
        """The limits `settings` declare."""
        return cls(
            body_bytes={"csv": settings.body_limit_csv_bytes,
                        "fhir": settings.body_limit_fhir_bytes,
                        "json": settings.body_limit_json_bytes},
            content=InputLimits(
                max_depth=settings.json_max_depth,
                max_string_chars=settings.json_max_string_chars,
                max_number_chars=settings.json_max_number_chars,
                max_rows=settings.csv_max_rows, max_cell_chars=settings.csv_max_cell_chars),
            workers=anyio.CapacityLimiter(settings.parse_workers))


@lru_cache(maxsize=1)
def _default_limits() -> RequestLimits:
    # Routers mounted on a bare app (unit tests) get the settings' defaults.
    return RequestLimits.of(get_settings())


def limits_of(request: Request) -> RequestLimits:
    """The limits of the app serving `request`."""
    found = getattr(request.app.state, "limits", None)
    return found if isinstance(found, RequestLimits) else _default_limits()


async def get_limits(request: Request) -> RequestLimits:
    """`limits_of` as a dependency."""
    return limits_of(request)


LimitsDep = Annotated[RequestLimits, Depends(get_limits)]


def declare_body(endpoint: Callable[..., Any], kind: BodyKind) -> None:
    """Declare what kind of body `endpoint` reads (undeclared endpoints: small JSON)."""
    setattr(endpoint, BODY_KIND, kind)


def body_kind(scope: Scope) -> BodyKind:
    """The body kind of the endpoint a request was routed to."""
    kind: BodyKind = getattr(scope.get("endpoint"), BODY_KIND, "json")
    return kind


async def offload(limits: RequestLimits, work: Callable[..., T], *args: Any) -> T:
    """`work(*args)` in the pool of parsing threads, off the event loop."""
    return await anyio.to_thread.run_sync(work, *args, limiter=limits.workers)


async def parse(limits: RequestLimits, size: int, work: Callable[..., T], *args: Any) -> T:
    """`work(*args)` for a body of `size` bytes: inline when small, else in the pool."""
    if size <= INLINE_BYTES:
        return work(*args)
    return await offload(limits, work, *args)


def check_media_type(request: Request, accepted: tuple[str, ...], *,
                     missing_ok: bool = False) -> None:
    """UnsupportedMediaType unless the request's Content-Type is one of `accepted` (UTF-8 when
    a charset is named); a missing one only when `missing_ok`."""
    header = request.headers.get("content-type")
    expected = " or ".join(accepted)
    if header is None:
        if missing_ok:
            return
        raise UnsupportedMediaType(f"no Content-Type: send the body as {expected}",
                                   "Content-Type")
    media_type, _, parameters = header.partition(";")
    if media_type.strip().lower() not in accepted:
        raise UnsupportedMediaType(f"this endpoint reads {expected}, not "
                                   f"{media_type.strip()[:80]!r}", "Content-Type")
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        charset = value.strip().strip('"').lower()
        if name.strip().lower() == "charset" and charset not in ("utf-8", "utf8"):
            raise UnsupportedMediaType(f"bodies are read as UTF-8, not charset {charset[:40]!r}",
                                       "Content-Type")


class BodyRefused(HTTPException):
    """A refusal raised while the body is read. An HTTPException, so that FastAPI passes it on
    unchanged also from the bodies it reads itself; `api/errors.py` answers `refusal`."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.http_status, str(refusal))
        self.refusal = refusal


def _too_large(kind: BodyKind, limit: int, size: str) -> BodyRefused:
    return BodyRefused(TooLarge(f"the body is {size}; this endpoint takes at most {limit:,} "
                                f"bytes ({SETTING_OF[kind]}); send smaller messages", "body"))


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _nul_in_target(scope: Scope) -> Refusal | None:
    """A NUL character in the path or a query parameter: no id or filter can hold one."""
    if "\x00" in scope.get("path", ""):
        return Invalid([error("invalid", "path", "the path holds a NUL character (%00)")])
    query: bytes = scope.get("query_string", b"")
    if b"%00" not in query and b"\x00" not in query:
        return None
    names = [name for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True)
             if "\x00" in name or "\x00" in value]
    where = "".join(c for c in names[0] if c.isprintable())[:60] if names else "query"
    return Invalid([error("invalid", where or "query",
                          "the query parameter holds a NUL character (%00)")])


class RequestLimitsMiddleware:
    """Refuses a NUL in the path or query (400) and a body past its endpoint's limit (413).

    The body's limit is known once the request is routed, which is before its first byte is
    read: the check runs when the endpoint (or FastAPI) first asks for the body."""

    def __init__(self, app: ASGIApp, limits: RequestLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if (refusal := _nul_in_target(scope)) is not None:
            log.info("request_refused", path=scope.get("path", "")[:200].replace("\x00", ""),
                     status=400, reason=refusal.reason)
            await outcome_response(400, refusal.issues)(scope, receive, send)
            return
        await self.app(scope, self._limited(scope, receive), send)

    def _limited(self, scope: Scope, receive: Receive) -> Receive:
        read = 0
        limit: int | None = None

        async def limited() -> Message:
            nonlocal read, limit
            kind = body_kind(scope)
            if limit is None:
                limit = self.limits.body_bytes[kind]
                declared = _declared_length(scope)
                if declared is not None and declared > limit:
                    raise _too_large(kind, limit, f"{declared:,} bytes (Content-Length)")
            message = await receive()
            if message["type"] == "http.request":
                read += len(message.get("body", b""))
                if read > limit:
                    raise _too_large(kind, limit, f"more than {limit:,} bytes")
            return message

        return limited
