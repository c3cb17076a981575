"""`POST /oauth/token` (client credentials, RFC 6749 §4.4) and `GET /.well-known/jwks.json`.

The token endpoint answers errors in RFC 6749 §5.2's shape (`error`, `error_description`), which
OAuth client libraries read, and carries the same refusal as an OperationOutcome (`resourceType`,
`issue`) beside it, like every other refusal of the API.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import time
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.access import Authenticator, Public, add_route
from api.audit import AuditContext
from api.contract import OUTCOME_REF
from api.deps import ConnDep
from api.keys import KeyRing
from api.outcome import operation_outcome
from api.tokens import issue
from core.credentials import secret_matches
from core.identity import Principal, Role
from core.metrics import RATE_LIMITED, TOKENS_ISSUED
from core.ratelimit import Limit
from core.refusals import IssueType, error
from storage.clients import get_client, secret_hash_of

# Checking a secret costs ~0.1 s of CPU (argon2): a client asks at most this often, and at most
# this many checks run at once, so the token endpoint cannot starve the push path.
TOKEN_LIMIT = Limit(rate=1.0, burst=10)
HASH_CHECKS = asyncio.Semaphore(2)
FORM = "application/x-www-form-urlencoded"
TOKEN_REQUEST = {"requestBody": {"required": True, "content": {FORM: {"schema": {
    "type": "object", "required": ["grant_type"],
    "properties": {"grant_type": {"const": "client_credentials"},
                   "client_id": {"type": "string"}, "client_secret": {"type": "string"},
                   "scope": {"type": "string", "description": "ignored: the role decides"}}}}}}}
# RFC 6749 §5.2's error, with the same refusal as an OperationOutcome beside it.
OAUTH_ERROR = {"allOf": [OUTCOME_REF, {"type": "object", "required": ["error"], "properties": {
    "error": {"enum": ["invalid_request", "invalid_client", "unsupported_grant_type",
                       "slow_down"]},
    "error_description": {"type": "string"}}}]}
TOKEN = {"type": "object", "required": ["access_token", "token_type", "expires_in"],
         "properties": {"access_token": {"type": "string"}, "token_type": {"const": "Bearer"},
                        "expires_in": {"type": "integer"}, "scope": {"type": "string"}}}


def _oauth(description: str, schema: dict[str, Any] = OAUTH_ERROR) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


TOKEN_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: _oauth("`{access_token, token_type: Bearer, expires_in, scope}`", TOKEN),
    400: _oauth("`unsupported_grant_type` or `invalid_request` (RFC 6749 §5.2)"),
    401: _oauth("`invalid_client`: unknown, revoked, or wrong secret"),
    429: _oauth("too many token requests for this client; retry after `Retry-After`"),
}


class TokenRefused(Exception):
    """An RFC 6749 §5.2 error."""

    def __init__(self, status: int, code: str, description: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(description)
        self.status, self.code, self.description = status, code, description
        self.headers = headers or {}


def oauth_error(exc: TokenRefused) -> JSONResponse:
    """RFC 6749's error body, with the same refusal as an OperationOutcome beside it."""
    issue_type: IssueType = ("login" if exc.code == "invalid_client" else
                             "throttled" if exc.code == "slow_down" else "invalid")
    body = {"error": exc.code, "error_description": exc.description,
            **operation_outcome([error(issue_type, "client", exc.description)])}
    return JSONResponse(body, status_code=exc.status,
                        headers={"Cache-Control": "no-store", **exc.headers})


def credentials_of(form: dict[str, str], authorization: str | None) -> tuple[str, str, bool]:
    """(client_id, client_secret, sent as HTTP Basic) from the Basic header or the form."""
    if authorization and authorization.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise TokenRefused(401, "invalid_client", "malformed HTTP Basic credentials",
                               {"WWW-Authenticate": 'Basic realm="zorgcapaciteit"'}) from None
        client_id, _, secret = decoded.partition(":")
        return unquote_plus(client_id), unquote_plus(secret), True
    client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
    if not client_id or not secret:
        raise TokenRefused(401, "invalid_client", "send client_id and client_secret in the form "
                           "or as HTTP Basic credentials")
    return client_id, secret, False


async def _form(request: Request) -> dict[str, str]:
    try:
        text = (await request.body()).decode("ascii")
    except UnicodeDecodeError:
        raise TokenRefused(400, "invalid_request", "the body must be form-encoded "
                           f"({FORM})") from None
    return dict(parse_qsl(text, keep_blank_values=True))


async def _authenticated_client(conn: ConnDep, auth: Authenticator, client_id: str,
                                secret: str, basic: bool) -> Principal:
    wait = auth.limiter.take(f"token:{client_id}", TOKEN_LIMIT, time.monotonic())
    if wait > 0:
        RATE_LIMITED.labels(role="token").inc()
        raise TokenRefused(429, "slow_down", "too many token requests for this client; a "
                           "token is valid for a while, reuse it",
                           {"Retry-After": str(int(wait) + 1)})
    stored = await secret_hash_of(conn, client_id=client_id)
    async with HASH_CHECKS:
        good = stored is not None and await asyncio.to_thread(secret_matches, stored, secret)
    client = await get_client(conn, client_id=client_id) if good else None
    if client is None:
        raise TokenRefused(401, "invalid_client", "unknown or revoked client, or wrong secret",
                           {"WWW-Authenticate": 'Basic realm="zorgcapaciteit"'} if basic else {})
    role: Role = client.role  # type: ignore[assignment]  # checked by the table's constraint
    return Principal(subject=client.client_id, organization=client.organization, role=role,
                     regions=tuple(client.regions), national=client.national)


async def token(request: Request, conn: ConnDep) -> JSONResponse:
    """Exchange client credentials for a short-lived access token (a JWT signed by the
    platform, ES256; keys at /.well-known/jwks.json)."""
    context = AuditContext(action="issue token", kind="admin", target="/oauth/token")
    request.state.audit = context
    try:
        form = await _form(request)
        if form.get("grant_type") != "client_credentials":
            raise TokenRefused(400, "unsupported_grant_type",
                               "grant_type must be client_credentials")
        client_id, secret, basic = credentials_of(form, request.headers.get("authorization"))
        context.target = f"client {client_id}"
        auth: Authenticator = request.app.state.auth
        principal = await _authenticated_client(conn, auth, client_id, secret, basic)
    except TokenRefused as exc:
        context.reason = f"{exc.code}: {exc.description}"
        return oauth_error(exc)
    context.principal = principal
    issued = issue(request.app.state.keys, request.app.state.settings, principal)
    TOKENS_ISSUED.labels(role=principal.role).inc()
    return JSONResponse({"access_token": issued.access_token, "token_type": "Bearer",
                         "expires_in": issued.expires_in, "scope": issued.scope},
                        headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


async def jwks(request: Request) -> JSONResponse:
    """The public keys that verify the platform's tokens (two during a key rollover)."""
    keys: KeyRing = request.app.state.keys
    return JSONResponse(keys.jwks(), headers={"Cache-Control": "public, max-age=300"})


def router() -> APIRouter:
    """The token endpoint and the key set: public, as OAuth wants them."""
    built = APIRouter(tags=["Authentication"])
    add_route(built, "/oauth/token", token, methods=["POST"], rule=Public("issue token"),
              summary="Get an access token (OAuth 2.0 client credentials)",
              openapi_extra=TOKEN_REQUEST, responses=TOKEN_RESPONSES)
    add_route(built, "/.well-known/jwks.json", jwks, methods=["GET"], rule=Public("read keys"),
              summary="The public keys of the platform's tokens (JWKS)")
    return built

