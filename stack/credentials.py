"""Credentials on the local stack, and an HTTP client that signs in with them.

`make up` creates the platform's first signing key (`.local/keys/`) and one admin client, whose
credentials it writes to `.local/credentials/admin.json` (mode 0600). With those, the admin
registers organisations and their clients over the API, as an operator would; `make run`'s
demo providers and the tests sign in the same way (`TokenAuth`: OAuth client credentials,
the token cached until shortly before it expires, fetched again once on a 401).
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg

from api.clients import register_client
from api.keys import ensure_key
from storage.clients import get_client

# A token is fetched anew this long before it expires.
REFRESH_MARGIN_SECONDS = 60


@dataclass(frozen=True)
class Credentials:
    """An OAuth client's id and secret."""

    client_id: str
    client_secret: str

    def as_json(self) -> dict[str, str]:
        """What credential files hold."""
        return {"client_id": self.client_id, "client_secret": self.client_secret}


def write_credentials(path: Path, credentials: Credentials) -> None:
    """Write a credential file readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(credentials.as_json(), handle, indent=2)
    os.chmod(path, 0o600)


def read_credentials(path: Path) -> Credentials | None:
    """The credentials in a file, or None when there is none."""
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    return Credentials(data["client_id"], data["client_secret"])


async def _admin_is_usable(database_url: str, credentials: Credentials | None) -> bool:
    if credentials is None:
        return False
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        client = await get_client(conn, client_id=credentials.client_id)
    return client is not None and not client.revoked and client.role == "admin"


async def _new_admin(database_url: str) -> Credentials:
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        made = await register_client(conn, organization="platform", role="admin", regions=[],
                                     national=False)
    return Credentials(made.client.client_id, made.secret)


def bootstrap(keys_dir: Path, path: Path, database_url: str) -> Credentials:
    """The stack's first signing key and admin client (its credentials in `path`), made once;
    returns the admin's credentials (made anew when the database no longer knows them)."""
    ensure_key(keys_dir)
    existing = read_credentials(path)
    if asyncio.run(_admin_is_usable(database_url, existing)):
        assert existing is not None
        return existing
    created = asyncio.run(_new_admin(database_url))
    write_credentials(path, created)
    return created


class TokenAuth(httpx.Auth):
    """httpx authentication with OAuth 2.0 client credentials against the same server."""

    requires_response_body = True

    def __init__(self, credentials: Credentials) -> None:
        self.credentials = credentials
        self._token: str | None = None
        self._expires = 0.0

    @property
    def token(self) -> str | None:
        """The current access token, if one was fetched."""
        return self._token

    def _token_request(self, request: httpx.Request) -> httpx.Request:
        return httpx.Request("POST", request.url.copy_with(path="/oauth/token", query=None),
                             data={"grant_type": "client_credentials",
                                   "client_id": self.credentials.client_id,
                                   "client_secret": self.credentials.client_secret})

    def _store(self, response: httpx.Response) -> None:
        if response.status_code != 200:
            raise httpx.HTTPStatusError(f"token request refused: {response.text}",
                                        request=response.request, response=response)
        body: dict[str, Any] = response.json()
        self._token = str(body["access_token"])
        self._expires = time.monotonic() + float(body["expires_in"]) - REFRESH_MARGIN_SECONDS

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Add the bearer token, fetching one first when there is none or it is about to end."""
        if self._token is None or time.monotonic() >= self._expires:
            self._store((yield self._token_request(request)))
        request.headers["Authorization"] = f"Bearer {self._token}"
        response = yield request
        if response.status_code == 401:
            self._store((yield self._token_request(request)))
            request.headers["Authorization"] = f"Bearer {self._token}"
            yield request


def signed_in(base_url: str, credentials: Credentials, timeout: float = 15.0) -> httpx.Client:
    """An HTTP client for the API, signed in as `credentials`."""
    return httpx.Client(base_url=base_url, auth=TokenAuth(credentials), timeout=timeout)


def register_client_over_api(admin: httpx.Client, organization: str, role: str,
                             regions: list[str] | None = None,
                             national: bool = False) -> Credentials:
    """Ask the API (as admin) for a new client; returns its credentials."""
    body: dict[str, Any] = {"organization": organization, "role": role}
    if regions:
        body["regions"] = regions
    if national:
        body["national"] = True
    answer = admin.post("/v1/admin/clients", json=body)
    answer.raise_for_status()
    made = answer.json()
    return Credentials(made["client_id"], made["client_secret"])


def cached_client(admin: httpx.Client, path: Path, organization: str, role: str,
                  regions: list[str] | None = None) -> Credentials:
    """The client whose credentials `path` holds, registered (and written there) when the
    file is missing or the platform no longer accepts it."""
    known = read_credentials(path)
    if known is not None and _accepted(admin, known):
        return known
    made = register_client_over_api(admin, organization, role, regions)
    write_credentials(path, made)
    return made


def _token_answer(base_url: str, credentials: Credentials) -> httpx.Response:
    return httpx.post(f"{str(base_url).rstrip('/')}/oauth/token", data={
        "grant_type": "client_credentials", "client_id": credentials.client_id,
        "client_secret": credentials.client_secret}, timeout=15.0)


def _accepted(admin: httpx.Client, credentials: Credentials) -> bool:
    return _token_answer(str(admin.base_url), credentials).status_code == 200


def access_token(base_url: str, credentials: Credentials) -> str:
    """A fresh access token for `credentials`."""
    answer = _token_answer(base_url, credentials)
    answer.raise_for_status()
    return str(answer.json()["access_token"])
