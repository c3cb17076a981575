"""Who the tests are: an organisation's provider system, a ZCV, the admin, a tracker.

Every integration test calls the API as one of these, as real clients would, through
`POST /oauth/token` and bearer tokens (`stack.credentials.TokenAuth`).
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from stack.credentials import TokenAuth, register_client_over_api, signed_in
from stack.demo import organization_resource


def token_of(client: httpx.Client) -> str | None:
    """The access token a signed-in client holds (None until its first request)."""
    assert isinstance(client.auth, TokenAuth), "not a signed-in client"
    return client.auth.token


@dataclass(frozen=True)
class Site:
    """A registered location, its organisation, and that organisation's provider client."""

    location_id: str
    organization_id: str
    client: httpx.Client


class Platform:
    """Registers organisations (as the admin) and keeps one signed-in client per identity."""

    def __init__(self, api_url: str, admin: httpx.Client) -> None:
        self.api_url = api_url
        self.admin = admin
        self._clients: dict[tuple[object, ...], httpx.Client] = {}

    def register_organization(self, org_id: str, name: str | None = None,
                              ura: str = "12345678") -> None:
        """The admin registers (or re-registers) an organisation."""
        org = organization_resource(org_id, name or f"Organisatie {org_id}", ura)
        self.admin.put(f"/fhir/Organization/{org_id}", json=org).raise_for_status()

    def provider(self, org_id: str, name: str | None = None,
                 ura: str = "12345678") -> httpx.Client:
        """The provider client of `org_id`, registering the organisation the first time."""
        key = ("provider", org_id)
        if key not in self._clients:
            self.register_organization(org_id, name, ura)
            self._clients[key] = self._signed_in(org_id, "provider")
        return self._clients[key]

    def zcv(self, regions: tuple[str, ...] = (), national: bool = False,
            org_id: str | None = None) -> httpx.Client:
        """A ZCV client coordinating `regions` (or national)."""
        key = ("zcv", regions, national)
        if key not in self._clients:
            org = org_id or f"zcv-{'-'.join(regions) or 'national'}"
            self._clients[key] = self._signed_in(org, "zcv", list(regions), national)
        return self._clients[key]

    def new_client(self, org_id: str, role: str, regions: list[str] | None = None,
                   national: bool = False) -> tuple[str, httpx.Client]:
        """A client of its own (not shared), e.g. to revoke it: (client id, signed in)."""
        credentials = register_client_over_api(self.admin, org_id, role, regions, national)
        return credentials.client_id, signed_in(self.api_url, credentials)

    def _signed_in(self, org_id: str, role: str, regions: list[str] | None = None,
                   national: bool = False) -> httpx.Client:
        return self.new_client(org_id, role, regions, national)[1]

    def close(self) -> None:
        """Close every client."""
        for client in self._clients.values():
            client.close()
