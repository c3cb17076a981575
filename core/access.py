"""The pure rules of who may do what: roles per route, ownership, and the regions a ZCV reads.

Every check here raises `Forbidden` naming the rule, so a refused caller knows why. The routes
declare their roles (`api/access.py`); `api/ownership.py` looks up owners and calls these.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from core.identity import Principal, Role
from core.refusals import Forbidden


def check_role(principal: Principal, allowed: Collection[Role], action: str) -> None:
    """Forbidden unless the caller's role is one of `allowed`."""
    if principal.role not in allowed:
        may = ", ".join(sorted(allowed)) or "nobody"
        raise Forbidden(f"role {principal.role} may not {action}; allowed: {may}", "role")


def check_owner(principal: Principal, owner: str, what: str,
                expression: str = "subject") -> None:
    """Forbidden unless `what` (e.g. `Location/x`) belongs to the caller's organisation."""
    if owner != principal.organization:
        raise Forbidden(f"{what} belongs to Organization/{owner}; this client acts for "
                        f"Organization/{principal.organization}", expression)


def readable_regions(principal: Principal,
                     neighbours: Mapping[str, Sequence[str]]) -> frozenset[str] | None:
    """The ROAZ regions a ZCV may read: its own and their neighbours; None means all."""
    if principal.national:
        return None
    regions = set(principal.regions)
    for region in principal.regions:
        regions.update(neighbours.get(region, ()))
    return frozenset(regions)


def check_regions(principal: Principal, regions: Collection[str] | None,
                  neighbours: Mapping[str, Sequence[str]]) -> None:
    """Forbidden unless every region asked for (None: the whole country) is readable."""
    readable = readable_regions(principal, neighbours)
    if readable is None:
        return
    if regions is None:
        raise Forbidden("a national read needs a national grant; ask for region=<code> (your "
                        f"regions: {', '.join(sorted(readable))})", "region")
    outside = sorted(set(regions) - readable)
    if outside:
        raise Forbidden(f"region {', '.join(outside)} is not coordinated by Organization/"
                        f"{principal.organization}; readable: {', '.join(sorted(readable))}",
                        "region")
