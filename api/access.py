"""Who may call each route: the one access dependency every route declares, in one place.

Routes are added with `add_route(..., rule=...)`: `Public()` for the few open endpoints,
`Access(roles, action, kind)` for everything else (a bearer token from POST /oauth/token or a
region's identity provider), `DeviceAccess` where a tracker's device key is accepted as well.
The rule authenticates the caller, checks that its client is not revoked, applies the role's
rate limit, checks the role, and opens the request's audit record. What the caller may touch
(its own organisation's data, its regions) is checked by the handlers with `api/ownership.py`.
`tests/unit/test_route_rules.py` walks every route and fails on one without a rule.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlows
from fastapi.params import Depends as DependsParam
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.security import APIKeyQuery, OAuth2

from api.audit import AuditContext
from api.contract import answers_of, refusal
from api.deps import ConnDep
from api.revocations import Revocations
from api.tokens import SCOPES, TokenVerifier
from core.access import check_role
from core.credentials import device_key_hash
from core.identity import Principal, Role
from core.metrics import RATE_LIMITED
from core.ratelimit import RateLimiter
from core.refusals import Throttled, Unauthenticated
from core.settings import Settings
from storage.clients import unit_of_device_key

OAUTH2 = OAuth2(
    flows=OAuthFlows(clientCredentials=OAuthFlowClientCredentials(
        tokenUrl="/oauth/token", scopes=SCOPES)),
    scheme_name="oauth2", auto_error=False,
    description="OAuth 2.0 client credentials (RFC 6749 §4.4): POST /oauth/token, then "
                "`Authorization: Bearer <access_token>`.")
DEVICE_KEY = APIKeyQuery(
    name="key", scheme_name="deviceKey", auto_error=False,
    description="A tracker's device key for one mobile unit, issued by PUT "
                "/v1/mobile-units/{id}; put it in the URL the tracker is given.")
Kind = Literal["public", "read", "write", "admin"]
# The role sets the routes declare.
PROVIDER: tuple[Role, ...] = ("provider",)
ZCV: tuple[Role, ...] = ("zcv",)
ADMIN: tuple[Role, ...] = ("admin",)
CAPACITY_READERS: tuple[Role, ...] = ("zcv", "provider")  # providers: their own figures only
REGISTRATION_READERS: tuple[Role, ...] = ("provider", "zcv", "admin")
# What every rule with a token can answer (the bodies: OperationOutcomes, `api/contract.py`).
REFUSALS: dict[int | str, dict[str, Any]] = {status: refusal(status) for status in (401, 403, 429)}


@dataclass
class Authenticator:
    """What the access rules need at run time: the verifier, the settings, the rate limiter."""

    verifier: TokenVerifier
    settings: Settings
    limiter: RateLimiter
    revocations: Revocations

    async def client(self, conn: ConnDep, authorization: str | None) -> Principal:
        """The principal of a bearer token whose client is not revoked."""
        principal = await self.verifier.verify(bearer_token(authorization))
        revoked = await self.revocations.status(conn, principal.subject)
        # A platform token names a client of ours; an external one only when registered here.
        if revoked or (revoked is None and principal.issuer == "platform"):
            raise Unauthenticated(f"client {principal.subject} is revoked or unknown",
                                  "Authorization")
        return principal

    async def device(self, conn: ConnDep, key: str) -> Principal:
        """The principal of a valid device key: the one unit it may report on."""
        found = await unit_of_device_key(conn, key_hash=device_key_hash(key))
        if found is None:
            raise Unauthenticated("the device key is unknown or revoked", "key")
        unit_id, organization = found
        return Principal(subject=f"device:{unit_id}", organization=organization, role="device",
                         unit_id=unit_id)

    def throttle(self, principal: Principal) -> None:
        """Throttled when the client has used up its role's token bucket."""
        wait = self.limiter.take(principal.subject, self.settings.rate_limit(principal.role),
                                 time.monotonic())
        if wait > 0:
            RATE_LIMITED.labels(role=principal.role).inc()
            raise Throttled(f"client {principal.subject} exceeds the {principal.role} rate "
                            "limit; slow down", retry_after=math.ceil(wait))


def bearer_token(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer` header; Unauthenticated without one."""
    if not authorization:
        raise Unauthenticated("this endpoint needs an access token: POST /oauth/token, then "
                              "send `Authorization: Bearer <token>`", "Authorization")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("the Authorization header must be `Bearer <token>`",
                              "Authorization")
    return token.strip()


def _authenticator(request: Request) -> Authenticator:
    auth: Authenticator = request.app.state.auth
    return auth


class Rule:
    """Who may call a route, and what kind of act a call is (for the audit and metrics)."""

    def __init__(self, roles: Collection[Role], action: str, kind: Kind) -> None:
        self.roles = frozenset(roles)
        self.action = action
        self.kind = kind

    def responses(self) -> dict[int | str, dict[str, Any]]:
        """The refusals this rule can answer, for the OpenAPI document."""
        return {} if self.kind == "public" else dict(REFUSALS)

    def _open(self, request: Request) -> AuditContext:
        context = AuditContext(action=self.action, kind=self.kind)
        request.state.audit = context
        return context

    def _admit(self, request: Request, context: AuditContext, principal: Principal) -> Principal:
        context.principal = principal
        _authenticator(request).throttle(principal)
        check_role(principal, self.roles, self.action)
        request.state.principal = principal
        return principal


class Public(Rule):
    """Open to anyone, without a token; not audited (health, metrics, documents, keys)."""

    def __init__(self, action: str = "public") -> None:
        super().__init__((), action, "public")

    async def __call__(self, request: Request) -> None:
        request.state.principal = None


class Access(Rule):
    """A bearer token of one of `roles` is needed."""

    async def __call__(self, request: Request, conn: ConnDep,
                       authorization: Annotated[str | None, Depends(OAUTH2)]) -> Principal:
        context = self._open(request)
        principal = await _authenticator(request).client(conn, authorization)
        return self._admit(request, context, principal)


class DeviceAccess(Rule):
    """A bearer token of one of `roles`, or a device key (`?key=`) of one mobile unit."""

    async def __call__(self, request: Request, conn: ConnDep,
                       authorization: Annotated[str | None, Depends(OAUTH2)],
                       key: Annotated[str | None, Depends(DEVICE_KEY)]) -> Principal:
        context = self._open(request)
        auth = _authenticator(request)
        principal = (await auth.device(conn, key) if key and not authorization
                     else await auth.client(conn, authorization))
        return self._admit(request, context, principal)


def add_route(router: APIRouter, path: str, endpoint: Callable[..., Any], *,
              methods: list[str], rule: Rule, **kwargs: Any) -> None:
    """Add a route with its access rule as its one access dependency, and declare every
    refusal it can answer: its rule's, those that follow from what it reads
    (`api.contract.answers_of`) but for the statuses in `never`, and those given in
    `responses`."""
    declared = kwargs.pop("responses", {})
    never = set(kwargs.pop("never", ()))  # statuses its shape suggests but it never answers
    dependency: Any = rule  # a Rule instance is its own dependency callable
    router.add_api_route(path, endpoint, methods=methods, dependencies=[Depends(dependency)],
                         responses={**rule.responses(), **declared}, **kwargs)
    route = router.routes[-1]
    assert isinstance(route, APIRoute)
    inferred = answers_of(route, protected=rule.kind != "public")
    answers = {**inferred, **route.responses}
    route.responses = {status: answers[status] for status in sorted(answers, key=str)
                       if status not in never}


def rules_of(route: APIRoute) -> list[Rule]:
    """The access rules a route declares (exactly one for a well-formed route)."""
    found: list[Any] = [d.dependency for d in route.dependencies
                        if isinstance(d, DependsParam)]
    return [rule for rule in found if isinstance(rule, Rule)]


async def current_principal(request: Request) -> Principal:
    """The caller admitted by the route's rule (async: a plain def would cost a thread hop)."""
    principal: Principal = request.state.principal
    return principal


async def current_audit(request: Request) -> AuditContext:
    """The audit record the route's rule opened, for the handler to name its target."""
    context: AuditContext = request.state.audit
    return context


PrincipalDep = Annotated[Principal, Depends(current_principal)]
AuditDep = Annotated[AuditContext, Depends(current_audit)]


@dataclass(frozen=True)
class DeclaredRoute:
    """One route of an app as served: its full path, methods and declared access rules."""

    path: str
    methods: frozenset[str]
    rules: list[Rule]
    name: str


def declared_routes(app: FastAPI) -> list[DeclaredRoute]:
    """Every route of `app`, included routers flattened, with the rules it declares (a route
    that is not an APIRoute declares none)."""
    table = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        rules = rules_of(route) if isinstance(route, APIRoute) else []
        table.append(DeclaredRoute(str(context.path), frozenset(context.methods or ()), rules,
                                   str(context.name)))
    return table
