"""Refusals mapped to HTTP, once: every "no" of the API is a FHIR OperationOutcome.

The family of `core/refusals.py` gives status and issues; request validation errors, unknown
paths, bodies refused while they were read (`api/limits.py`) and a database or broker that is
away are turned into that family here too. Each refusal is counted (message refusals by reason,
access refusals by status and role) and its rule is written into the request's audit record.
Anything else is a bug: answered 500 with an OperationOutcome that carries the request id,
logged with its traceback and counted in `zc_unexpected_errors_total`.
"""

from __future__ import annotations

from collections.abc import Sequence

import psycopg
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from psycopg_pool import PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.audit import AuditContext
from api.fhir_body import unreadable
from api.limits import BodyRefused
from api.methods import allow_header
from api.outcome import outcome_response
from api.producer import DeliveryFailed
from core.metrics import ACCESS_REFUSED, MESSAGES_REJECTED, UNEXPECTED_ERRORS
from core.refusals import (
    Invalid,
    IssueType,
    Refusal,
    Throttled,
    Unauthenticated,
    Unavailable,
    error,
)

log = structlog.get_logger()
ACCESS_STATUSES = (401, 403, 429)


def _note(request: Request, exc: Refusal) -> AuditContext | None:
    context = getattr(request.state, "audit", None)
    if isinstance(context, AuditContext):
        context.reason = str(exc)
        return context
    return None


def _count(context: AuditContext | None, exc: Refusal, status: int) -> None:
    if status in ACCESS_STATUSES:
        who = context.principal if context else None
        ACCESS_REFUSED.labels(status=str(status), role=who.role if who else "none").inc()
    elif context is not None and context.kind == "write":
        MESSAGES_REJECTED.labels(stage="api", reason=exc.reason).inc()


def _headers(request: Request, exc: Refusal) -> dict[str, str]:
    if isinstance(exc, Unauthenticated):
        # RFC 6750 §3: no error code when the request carried no credentials at all.
        if "authorization" not in request.headers:
            return {"WWW-Authenticate": 'Bearer realm="zorgcapaciteit"'}
        detail = exc.issues[0].diagnostics.replace('"', "'") if exc.issues else ""
        return {"WWW-Authenticate": f'Bearer realm="zorgcapaciteit", error="invalid_token", '
                                    f'error_description="{detail[:200]}"'}
    if isinstance(exc, Throttled | Unavailable):
        return {"Retry-After": str(int(exc.retry_after))}
    return {}


async def on_refusal(request: Request, exc: Exception) -> JSONResponse:
    """Any refusal: its status, an OperationOutcome naming element and rule, counted, audited."""
    assert isinstance(exc, Refusal)
    status = exc.http_status
    context = _note(request, exc)
    _count(context, exc, status)
    log.info("request_refused", path=request.url.path, status=status, reason=exc.reason,
             detail=str(exc)[:500])
    response = outcome_response(status, exc.issues)
    response.headers.update(_headers(request, exc))
    return response


def element_of(loc: Sequence[int | str]) -> str:
    """The element a FastAPI validation error is about, named as the platform's refusals name
    it: a parameter by its name (`radius_km`), a body field from `body` (`body.webhook_url`)."""
    where, *rest = [str(part) for part in loc] or ["body"]
    if where == "body":
        return ".".join(["body", *rest])
    return ".".join(rest) or where


async def on_request_invalid(request: Request, exc: Exception) -> JSONResponse:
    """Path, query or body parameters FastAPI could not read: 400 on FHIR endpoints (not what
    the endpoint reads) and for a body that is not JSON, 422 on the JSON ones (a value breaks
    a rule). Each issue names the parameter or body field and the rule it breaks."""
    assert isinstance(exc, RequestValidationError)
    issues = [error(unreadable(request, str(e.get("type", ""))), element_of(e["loc"]),
                    str(e["msg"])) for e in exc.errors()]
    return await on_refusal(request, Invalid(issues))


async def on_http_exception(request: Request, exc: Exception) -> Response:
    """Starlette's own answers (no such path, method not allowed) as OperationOutcomes; a 405
    with every method the path takes in `Allow`, and OPTIONS on a path answered 204 with it."""
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers.update(allow_header(request))
        if request.method == "OPTIONS":  # the path exists: say which methods it takes
            return Response(status_code=204, headers=headers)
    code: IssueType = "not-found" if exc.status_code == 404 else "not-supported"
    detail = str(exc.detail)
    if exc.status_code == 405:
        detail = f"{request.method} is not allowed here; allowed: {headers['Allow']}"
    response = outcome_response(exc.status_code, [error(code, request.url.path, detail)])
    response.headers.update(headers)
    return response


async def on_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """The database or the broker is away: nothing was done, 503 with Retry-After."""
    part = "broker" if isinstance(exc, DeliveryFailed) else "database"
    log.error("dependency_unavailable", path=request.url.path, part=part, error=str(exc))
    what = ("the message could not be queued" if part == "broker"
            else "the database is not reachable")
    return await on_refusal(request, Unavailable(f"not done: {what}; retry later", 5.0))


async def on_body_refused(request: Request, exc: Exception) -> JSONResponse:
    """A body refused while it was read (too large): the refusal it carries."""
    assert isinstance(exc, BodyRefused)
    return await on_refusal(request, exc.refusal)


async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    """Anything no handler above knows: a bug. 500 with the request id to quote, the traceback
    in the log under that id, and `zc_unexpected_errors_total` counted."""
    request_id = str(getattr(request.state, "request_id", "") or "")
    UNEXPECTED_ERRORS.inc()
    log.error("unexpected_error", path=request.url.path, method=request.method,
              request_id=request_id, error=f"{type(exc).__name__}: {str(exc)[:500]}",
              exc_info=exc)
    issue = error("exception", request.url.path,
                  f"an unexpected error; nothing was done. Quote request id {request_id} "
                  "when you report it")
    response = outcome_response(500, [issue])
    # Answered outside the middleware that stamps X-Request-ID on every other answer.
    response.headers["X-Request-ID"] = request_id
    return response


def install(app: FastAPI) -> None:
    """Register the handlers on `app`."""
    app.add_exception_handler(Exception, on_unexpected)
    app.add_exception_handler(BodyRefused, on_body_refused)
    app.add_exception_handler(Refusal, on_refusal)
    app.add_exception_handler(RequestValidationError, on_request_invalid)
    app.add_exception_handler(StarletteHTTPException, on_http_exception)
    for unavailable in (DeliveryFailed, psycopg.OperationalError, PoolTimeout):
        app.add_exception_handler(unavailable, on_unavailable)

