"""Access tokens: the platform's own JWTs (ES256, PyJWT), and a region's OpenID Connect issuer.

A platform token carries `sub` (client id), `org`, `role`, `regions`, `national` and `scope`,
lives at most an hour, and names its signing key (`kid`) from `/.well-known/jwks.json`. Tokens
of the external issuer (AUTH_ISSUER, keys from AUTH_JWKS_URL) are mapped to the same principal
through the claim names in settings, so a region can plug in its own identity provider.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from api.keys import ALGORITHM, KeyRing
from core.identity import CLIENT_ROLES, Principal, Role
from core.refusals import Unauthenticated
from core.settings import Settings

# What each role's token is for, in OAuth terms (informational; the roles decide).
SCOPES: dict[str, str] = {"provider": "capacity:write", "zcv": "capacity:read",
                          "admin": "platform:admin"}
REQUIRED_CLAIMS = ["exp", "iat", "sub", "iss"]
# Tolerated clock difference between the issuer and this process.
LEEWAY = timedelta(seconds=30)


@dataclass(frozen=True)
class IssuedToken:
    """A signed access token and what the token endpoint answers about it."""

    access_token: str
    expires_in: int
    scope: str


def issue(keys: KeyRing, settings: Settings, principal: Principal) -> IssuedToken:
    """Sign a token for a client, valid AUTH_TOKEN_TTL_SECONDS (at most an hour)."""
    now = datetime.now(UTC)
    ttl = settings.auth_token_ttl_seconds
    key = keys.signing_key(now)
    claims = {
        "iss": settings.auth_platform_issuer, "aud": settings.auth_audience,
        "sub": principal.subject, "org": principal.organization, "role": principal.role,
        "regions": list(principal.regions), "national": principal.national,
        "scope": SCOPES[principal.role], "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=ttl)).timestamp()), "jti": uuid.uuid4().hex,
    }
    token = jwt.encode(claims, key.private_key, algorithm=ALGORITHM, headers={"kid": key.kid})
    return IssuedToken(token, ttl, SCOPES[principal.role])


def _refusal(exc: jwt.PyJWTError) -> Unauthenticated:
    if isinstance(exc, jwt.ExpiredSignatureError):
        return Unauthenticated("the access token has expired; ask POST /oauth/token for a new "
                               "one", "Authorization")
    if isinstance(exc, jwt.InvalidSignatureError):
        return Unauthenticated("the access token's signature does not verify", "Authorization")
    return Unauthenticated(f"the access token is not valid: {exc}", "Authorization")


def _claim(claims: dict[str, Any], name: str, kind: type, default: Any) -> Any:
    value = claims.get(name, default)
    if not isinstance(value, kind):
        raise Unauthenticated(f"the access token's claim {name!r} must be a "
                              f"{kind.__name__}", "Authorization")
    return value


def principal_of(claims: dict[str, Any], names: dict[str, str], issuer: str) -> Principal:
    """The principal a verified token names; `names` maps org/role/regions/national to the
    issuer's claim names."""
    role = _claim(claims, names["role"], str, None)
    if role not in CLIENT_ROLES:
        raise Unauthenticated(f"the access token's role {role!r} is not one of "
                              f"{', '.join(CLIENT_ROLES)}", "Authorization")
    regions = _claim(claims, names["regions"], list, [])
    if not all(isinstance(r, str) for r in regions):
        raise Unauthenticated("the access token's regions must be strings", "Authorization")
    checked_role: Role = role
    return Principal(subject=_claim(claims, "sub", str, None),
                     organization=_claim(claims, names["org"], str, None), role=checked_role,
                     regions=tuple(regions), national=_claim(claims, names["national"], bool,
                                                             False), issuer=issuer)


PLATFORM_CLAIMS = {"org": "org", "role": "role", "regions": "regions", "national": "national"}


class TokenVerifier:
    """Verifies bearer tokens of the platform, and of the external issuer when configured.

    A client sends the same token with every request until it expires: a verified token is
    remembered (bounded, until its `exp`), so the signature is checked once per token, not
    once per push. Revocation is not remembered: the caller checks it on every request.
    """

    def __init__(self, settings: Settings, keys: KeyRing, remember: int = 10_000) -> None:
        self.settings = settings
        self.keys = keys
        self._verified: OrderedDict[str, tuple[Principal, float]] = OrderedDict()
        self._remember = remember
        self.external: jwt.PyJWKClient | None = None
        if settings.auth_jwks_url is not None:
            self.external = jwt.PyJWKClient(settings.auth_jwks_url, lifespan=300,
                                            cooldown_duration=5, timeout=5)
        self.external_claims = {"org": settings.auth_claim_org, "role": settings.auth_claim_role,
                                "regions": settings.auth_claim_regions,
                                "national": settings.auth_claim_national}

    async def verify(self, token: str) -> Principal:
        """The principal of a valid token; Unauthenticated naming what is wrong otherwise."""
        known = self._verified.get(token)
        if known is not None and time.time() < known[1]:
            return known[0]
        principal, expires = await self._verify(token)
        self._verified[token] = (principal, expires)
        while len(self._verified) > self._remember:
            self._verified.popitem(last=False)
        return principal

    async def _verify(self, token: str) -> tuple[Principal, float]:
        try:
            issuer = jwt.decode(token, options={"verify_signature": False}).get("iss")
            if issuer == self.settings.auth_platform_issuer:
                return self._platform(token)
            if self.external is not None and issuer == self.settings.auth_issuer:
                # Fetching the issuer's key set may block: never on the event loop.
                return await asyncio.to_thread(self._external, token)
        except jwt.PyJWTError as exc:
            raise _refusal(exc) from None
        raise Unauthenticated(f"tokens of issuer {issuer!r} are not accepted here",
                              "Authorization")

    def _platform(self, token: str) -> tuple[Principal, float]:
        kid = jwt.get_unverified_header(token).get("kid")
        key = self.keys.public_key(str(kid))
        if key is None:
            raise Unauthenticated(f"the access token names an unknown signing key {kid!r}",
                                  "Authorization")
        claims = jwt.decode(token, key, algorithms=[ALGORITHM],
                            audience=self.settings.auth_audience,
                            issuer=self.settings.auth_platform_issuer, leeway=LEEWAY,
                            options={"require": REQUIRED_CLAIMS})
        return principal_of(claims, PLATFORM_CLAIMS, "platform"), float(claims["exp"])

    def _external(self, token: str) -> tuple[Principal, float]:
        assert self.external is not None and self.settings.auth_issuer is not None
        try:
            key = self.external.get_signing_key_from_jwt(token)
        except jwt.PyJWKClientError as exc:
            raise Unauthenticated(f"the issuer's signing key could not be found: {exc}",
                                  "Authorization") from None
        audience = self.settings.auth_external_audience
        algorithms = self.settings.auth_external_algorithms.split(",")
        claims = jwt.decode(token, key, algorithms=algorithms, audience=audience,
                            issuer=self.settings.auth_issuer, leeway=LEEWAY,
                            options={"require": REQUIRED_CLAIMS,
                                     "verify_aud": audience is not None})
        principal = principal_of(claims, self.external_claims, self.settings.auth_issuer)
        return principal, float(claims["exp"])
