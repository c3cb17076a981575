"""Access tokens: the platform's own (issued, verified, refused when expired or tampered) and
those of a region's OpenID Connect issuer, whose keys come from a real JWKS endpoint."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from api.keys import KeyRing, new_key, write_key
from api.tokens import TokenVerifier, issue
from core.identity import Principal
from core.refusals import Unauthenticated
from core.settings import Settings

ZCV = Principal(subject="zcv-1", organization="zcv-west", role="zcv", regions=("west",))


@pytest.fixture
def keys(tmp_path: Path) -> KeyRing:
    write_key(tmp_path, new_key(datetime.now(UTC)))
    return KeyRing(tmp_path, timedelta(minutes=5))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(auth_keys_dir=tmp_path)


def verify(settings: Settings, keys: KeyRing, token: str) -> Principal:
    return asyncio.run(TokenVerifier(settings, keys).verify(token))


def refusal(settings: Settings, keys: KeyRing, token: str) -> str:
    with pytest.raises(Unauthenticated) as refused:
        verify(settings, keys, token)
    assert refused.value.http_status == 401
    return refused.value.issues[0].diagnostics


def test_an_issued_token_names_client_organisation_role_and_regions(
    settings: Settings, keys: KeyRing,
) -> None:
    issued = issue(keys, settings, ZCV)
    assert 0 < issued.expires_in <= 3600 and issued.scope == "capacity:read"
    header = jwt.get_unverified_header(issued.access_token)
    assert header["alg"] == "ES256" and header["kid"] == keys.signing_key(datetime.now(UTC)).kid
    claims = jwt.decode(issued.access_token, options={"verify_signature": False})
    assert {k: claims[k] for k in ("sub", "org", "role", "regions")} == {
        "sub": "zcv-1", "org": "zcv-west", "role": "zcv", "regions": ["west"]}
    assert verify(settings, keys, issued.access_token) == ZCV


def _claims(settings: Settings, **changes: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {"iss": settings.auth_platform_issuer, "aud": settings.auth_audience, "sub": "zcv-1",
            "org": "zcv-west", "role": "zcv", "regions": ["west"], "iat": int(now.timestamp()),
            "exp": int((now + timedelta(minutes=5)).timestamp()), **changes}


def _sign(keys: KeyRing, claims: dict[str, Any]) -> str:
    key = keys.signing_key(datetime.now(UTC))
    return jwt.encode(claims, key.private_key, algorithm="ES256", headers={"kid": key.kid})


def test_an_expired_token_is_refused(settings: Settings, keys: KeyRing) -> None:
    past = int((datetime.now(UTC) - timedelta(minutes=2)).timestamp())
    assert "expired" in refusal(settings, keys, _sign(keys, _claims(settings, exp=past)))


def test_a_tampered_token_is_refused(settings: Settings, keys: KeyRing) -> None:
    token = issue(keys, settings, ZCV).access_token
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["national"] = True  # a ZCV granting itself national reads
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert "signature" in refusal(settings, keys, f"{header}.{forged}.{signature}")


def test_a_token_signed_by_another_key_with_the_same_kid_is_refused(
    settings: Settings, keys: KeyRing,
) -> None:
    kid = keys.signing_key(datetime.now(UTC)).kid
    stranger = ec.generate_private_key(ec.SECP256R1())
    token = jwt.encode(_claims(settings), stranger, algorithm="ES256", headers={"kid": kid})
    assert "signature" in refusal(settings, keys, token)


def test_unsigned_tokens_other_audiences_and_strangers_are_refused(
    settings: Settings, keys: KeyRing,
) -> None:
    kid = keys.signing_key(datetime.now(UTC)).kid
    # "": no key, which is all the "none" algorithm takes (PyJWT reads it as None).
    unsigned = jwt.encode(_claims(settings), key="", algorithm="none", headers={"kid": kid})
    assert "not valid" in refusal(settings, keys, unsigned)
    no_kid = jwt.encode(_claims(settings), key="", algorithm="none")
    assert "unknown signing key" in refusal(settings, keys, no_kid)
    assert "not valid" in refusal(settings, keys, _sign(keys, _claims(settings, aud="other")))
    assert "not accepted" in refusal(settings, keys, _sign(keys, _claims(settings, iss="x")))
    assert "not valid" in refusal(settings, keys, "not-a-jwt")
    assert "role" in refusal(settings, keys, _sign(keys, _claims(settings, role="root")))


class _Jwks(BaseHTTPRequestHandler):
    body = b"{}"

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def issuer_key() -> Iterator[tuple[ec.EllipticCurvePrivateKey, str]]:
    """A region's identity provider: its key, and its JWKS served on loopback."""
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = {**ECAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": "region-1",
           "alg": "ES256", "use": "sig"}
    handler = type("Handler", (_Jwks,), {"body": json.dumps({"keys": [jwk]}).encode()})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield key, f"http://127.0.0.1:{server.server_port}/jwks"
    finally:
        server.shutdown()
        server.server_close()


def test_tokens_of_a_regions_own_identity_provider_are_mapped_by_claim_names(
    tmp_path: Path, keys: KeyRing, issuer_key: tuple[ec.EllipticCurvePrivateKey, str],
) -> None:
    key, jwks_url = issuer_key
    settings = Settings(auth_keys_dir=tmp_path, auth_issuer="https://idp.roaz-west.example",
                        auth_jwks_url=jwks_url, auth_external_audience="zorgcapaciteit",
                        auth_claim_org="organisation", auth_claim_role="zc_role",
                        auth_claim_regions="roaz")
    now = datetime.now(UTC)
    claims = {"iss": "https://idp.roaz-west.example", "aud": "zorgcapaciteit",
              "sub": "triagist-17", "organisation": "zcv-west", "zc_role": "zcv",
              "roaz": ["west"], "iat": int(now.timestamp()),
              "exp": int((now + timedelta(minutes=5)).timestamp())}
    token = jwt.encode(claims, key, algorithm="ES256", headers={"kid": "region-1"})
    principal = verify(settings, keys, token)
    assert principal == Principal(subject="triagist-17", organization="zcv-west", role="zcv",
                                  regions=("west",), issuer="https://idp.roaz-west.example")
    wrong_audience = jwt.encode({**claims, "aud": "someone-else"}, key, algorithm="ES256",
                                headers={"kid": "region-1"})
    assert "not valid" in refusal(settings, keys, wrong_audience)
    stranger = ec.generate_private_key(ec.SECP256R1())
    forged = jwt.encode(claims, stranger, algorithm="ES256", headers={"kid": "region-1"})
    assert "signature" in refusal(settings, keys, forged)
