"""What a caller may touch: its own organisation's registrations and figures, its regions.

The one module where ownership and read scope are looked up and checked; the rules themselves
are pure (`core/access.py`). A provider writes and reads only its own organisation's
facilities, units, mappings and figures; a device reports only its unit; a ZCV reads its
regions and their neighbours (nationally only with a national grant); an admin registers
organisations and reads every registration, but no capacity.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

from core.access import check_owner, check_regions, readable_regions
from core.identity import Principal
from core.refusals import Forbidden, NotFound
from definitions import load_catalogue
from storage.facilities import owner_of, owners_of

Conn = psycopg.AsyncConnection[Any]


def neighbour_map() -> dict[str, tuple[str, ...]]:
    """Each ROAZ region's neighbours, from the reference data."""
    return {code: region.neighbours for code, region in load_catalogue().regions.items()}


async def check_may_register(conn: Conn, principal: Principal, kind: str, resource_id: str,
                             owner_in_body: str, references: Sequence[str] = ()) -> None:
    """A PUT of `kind/resource_id` naming `owner_in_body` (and, for a service, locations
    `references`): admins register organisations; providers register only their own
    organisation's things and never take over another's."""
    if kind == "Organization":
        if principal.role != "admin":
            if await owner_of(conn, kind, resource_id) is None:
                raise Forbidden("organisations are registered by the platform's "
                                "administrators", "Organization")
            check_owner(principal, resource_id, f"Organization/{resource_id}", "Organization.id")
        return
    if principal.role != "provider":
        raise Forbidden(f"only the provider that owns it registers a {kind}", kind)
    current = await owner_of(conn, kind, resource_id)
    if current is not None:
        check_owner(principal, current, f"{kind}/{resource_id}", f"{kind}.id")
    check_owner(principal, owner_in_body, f"{kind}/{resource_id} as sent", kind)
    owners = await owners_of(conn, list(references)) if references else {}
    for i, location in enumerate(references):
        if location in owners:
            check_owner(principal, owners[location], f"Location/{location}",
                        f"{kind}.location[{i}]")


async def check_owns(conn: Conn, principal: Principal, kind: str, resource_id: str) -> None:
    """NotFound when `kind/resource_id` was never registered; Forbidden when it is not the
    caller's organisation's."""
    owner = await owner_of(conn, kind, resource_id)
    if owner is None:
        raise NotFound(f"{kind}/{resource_id} is not registered", kind)
    check_owner(principal, owner, f"{kind}/{resource_id}", kind)


async def check_may_read_registration(conn: Conn, principal: Principal, kind: str,
                                      resource_id: str) -> None:
    """Providers read only their own registrations; ZCVs and admins read all of them.
    NotFound when it was never registered."""
    if principal.role == "provider":
        await check_owns(conn, principal, kind, resource_id)
    elif await owner_of(conn, kind, resource_id) is None:
        raise NotFound(f"{kind}/{resource_id} is not registered", kind)


def check_may_report_on(principal: Principal, subject_id: str, subject_owner: str,
                        what: str) -> None:
    """A message about `what` (a location or unit) comes from its owner, or from the device
    of that very unit."""
    if principal.role == "device":
        if principal.unit_id != subject_id:
            raise Forbidden(f"this device key belongs to unit {principal.unit_id}; it may not "
                            f"report on {what}", "id")
        return
    check_owner(principal, subject_owner, what)


@dataclass(frozen=True)
class ReadScope:
    """What a read may return: the regions asked (None: all) and, for a provider, only its
    own organisation's locations and units."""

    regions: list[str] | None
    organization: str | None = None


def read_scope(principal: Principal, regions: list[str] | None) -> ReadScope:
    """The scope of a capacity read over `regions` (None: national). Forbidden for a ZCV
    asking outside its regions and their neighbours, or nationally without a grant."""
    if principal.role == "provider":
        return ReadScope(regions, principal.organization)
    check_regions(principal, regions, neighbour_map())
    return ReadScope(regions)


def default_regions(principal: Principal, regions: list[str] | None) -> list[str] | None:
    """For reads that are not by region (nearest units): the caller's readable regions when
    it gave none and has no national grant."""
    if regions is not None or principal.role != "zcv":
        return regions
    readable = readable_regions(principal, neighbour_map())
    return None if readable is None else sorted(readable)
