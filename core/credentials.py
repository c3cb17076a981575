"""Client secrets and device keys: how they are made and how they are kept.

Client secrets are kept as argon2id hashes (argon2-cffi, RFC 9106 parameters): checked once per
token request, so the slow hash costs little. Device keys are checked on every position report,
so they are kept as SHA-256: they are 256 random bits, which no hash speed makes guessable.
"""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()


def new_client_id(role: str) -> str:
    """A new client id: readable role prefix, random rest (not a secret)."""
    return f"{role}-{secrets.token_hex(8)}"


def new_secret() -> str:
    """A new client secret or device key: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    """The argon2id hash a client secret is stored as."""
    return _HASHER.hash(secret)


def secret_matches(stored_hash: str, secret: str) -> bool:
    """True when `secret` is the one `stored_hash` was made from (constant-time)."""
    try:
        return _HASHER.verify(stored_hash, secret)
    except (VerificationError, InvalidHashError):
        return False


def device_key_hash(key: str) -> bytes:
    """The SHA-256 a device key is stored and looked up as."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()
