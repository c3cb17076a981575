"""The platform's token-signing keys (ES256), kept as PEM files in one folder, and their rotation.

`python -m api.keys init|rotate|list|prune` (AUTH_KEYS_DIR). Every key in the folder is
published at `/.well-known/jwks.json` and accepted for verification. The key that signs is the
newest one that has been published for at least AUTH_KEY_PUBLISH_LEAD_SECONDS, so a rollover
needs no downtime: `rotate` adds a key (published at once, signing after the lead), the old key
keeps verifying the tokens it signed, and `prune` removes it once those have all expired.
Each key id carries its creation time (`20261203T211500Z-1a2b`), which the rules read.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from core.settings import get_settings

ALGORITHM = "ES256"
KID_TIME = "%Y%m%dT%H%M%SZ"
# An unknown key id makes the ring re-read its folder, at most this often; and it re-reads it
# this often anyway, so a key added by `rotate` starts signing without a restart.
RELOAD_COOLDOWN_SECONDS = 1.0
RELOAD_INTERVAL_SECONDS = 10.0


@dataclass(frozen=True)
class SigningKey:
    """One ES256 key pair and when it was made."""

    kid: str
    created_at: datetime
    private_key: ec.EllipticCurvePrivateKey

    @property
    def public_jwk(self) -> dict[str, Any]:
        """The public half as a JWK, for the key set."""
        jwk: dict[str, Any] = ECAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        return {**jwk, "kid": self.kid, "use": "sig", "alg": ALGORITHM}


def created_at_of(kid: str) -> datetime:
    """The creation time a key id carries."""
    return datetime.strptime(kid.split("-")[0], KID_TIME).replace(tzinfo=UTC)


def signing_key_of(keys: list[SigningKey], now: datetime, lead: timedelta) -> SigningKey:
    """The key that signs now: the newest published for at least `lead`; the oldest key when
    none is (a fresh folder has no older key to keep signing with)."""
    ready = [k for k in keys if k.created_at + lead <= now]
    def order(key: SigningKey) -> tuple[datetime, str]:
        return key.created_at, key.kid

    return max(ready, key=order) if ready else min(keys, key=order)


def prunable(keys: list[SigningKey], now: datetime, lead: timedelta,
             token_ttl: timedelta) -> list[SigningKey]:
    """Keys that no valid token can still name: superseded (a newer key signs) longer ago
    than a token lives."""
    ordered = sorted(keys, key=lambda k: k.created_at)
    result = []
    for key, successor in zip(ordered, ordered[1:], strict=False):
        superseded_at = successor.created_at + lead
        if superseded_at + token_ttl < now:
            result.append(key)
    return result


def new_key(now: datetime) -> SigningKey:
    """A fresh P-256 key named by its creation time."""
    kid = f"{now.strftime(KID_TIME)}-{secrets.token_hex(2)}"
    return SigningKey(kid, created_at_of(kid), ec.generate_private_key(ec.SECP256R1()))


def write_key(directory: Path, key: SigningKey) -> Path:
    """Store a key as `<kid>.pem`, readable by its owner only, written atomically."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    pem = key.private_key.private_bytes(serialization.Encoding.PEM,
                                        serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption())
    path = directory / f"{key.kid}.pem"
    partial = directory / f".{key.kid}.partial"
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    partial.replace(path)
    return path


def read_keys(directory: Path) -> list[SigningKey]:
    """Every key in the folder."""
    keys = []
    for path in sorted(directory.glob("*.pem")):
        private = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(private, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{path}: not an EC private key")
        keys.append(SigningKey(path.stem, created_at_of(path.stem), private))
    return keys


class KeyRing:
    """The keys of one API process, re-read when the folder changes (another process rotated)."""

    def __init__(self, directory: Path, lead: timedelta) -> None:
        self.directory = directory
        self.lead = lead
        self._lock = threading.Lock()
        self._keys: dict[str, SigningKey] = {}
        self._last_reload = 0.0
        self.reload()
        if not self._keys:
            raise RuntimeError(f"no signing key in {directory}: run `python -m api.keys init`")

    def reload(self) -> None:
        """Read the folder again."""
        keys = {k.kid: k for k in read_keys(self.directory)} if self.directory.exists() else {}
        with self._lock:
            if keys:
                self._keys = keys
            self._last_reload = time.monotonic()

    def _reload_after(self, seconds: float) -> None:
        if time.monotonic() - self._last_reload > seconds:
            self.reload()

    def signing_key(self, now: datetime) -> SigningKey:
        """The key to sign with now."""
        self._reload_after(RELOAD_INTERVAL_SECONDS)
        return signing_key_of(list(self._keys.values()), now, self.lead)

    def public_key(self, kid: str) -> ec.EllipticCurvePublicKey | None:
        """The public key for `kid`, re-reading the folder once if it is not known yet."""
        key = self._keys.get(kid)
        if key is None:
            self._reload_after(RELOAD_COOLDOWN_SECONDS)
            key = self._keys.get(kid)
        return None if key is None else key.private_key.public_key()

    def jwks(self) -> dict[str, Any]:
        """The public key set: every key in the folder, during a rollover two."""
        self._reload_after(RELOAD_COOLDOWN_SECONDS)
        keys = sorted(self._keys.values(), key=lambda k: k.created_at)
        return {"keys": [k.public_jwk for k in keys]}


def ensure_key(directory: Path) -> SigningKey | None:
    """Create the first key if the folder has none; returns it, or None when keys exist."""
    if directory.exists() and any(directory.glob("*.pem")):
        return None
    key = new_key(datetime.now(UTC))
    write_key(directory, key)
    return key


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")


def main(argv: list[str] | None = None) -> None:
    """CLI: init (first key), rotate (add the next key), list, prune (drop expired keys)."""
    parser = argparse.ArgumentParser(prog="python -m api.keys", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["init", "rotate", "list", "prune"])
    args = parser.parse_args(argv)
    settings = get_settings()
    directory = settings.auth_keys_dir
    lead = timedelta(seconds=settings.auth_key_publish_lead_seconds)
    now = datetime.now(UTC)
    if args.command == "init":
        created = ensure_key(directory)
        _say(f"created {created.kid}" if created else f"{directory} already holds keys")
    elif args.command == "rotate":
        key = new_key(now)
        write_key(directory, key)
        _say(f"added {key.kid}: published now, signs from {(key.created_at + lead).isoformat()}")
    elif args.command == "list":
        keys = read_keys(directory)
        signing = signing_key_of(keys, now, lead) if keys else None
        for key in keys:
            state = "signing" if key is signing else "published"
            _say(f"{key.kid}  created {key.created_at.isoformat()}  {state}")
    else:
        ttl = timedelta(seconds=settings.auth_token_ttl_seconds)
        for key in prunable(read_keys(directory), now, lead, ttl):
            (directory / f"{key.kid}.pem").unlink()
            _say(f"removed {key.kid}")


if __name__ == "__main__":
    main()
