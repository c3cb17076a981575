"""Who is calling: the roles of the platform and the principal a verified credential names.

- **provider**: a care provider's system, bound to one organisation (URA / AGB-Z); writes only
  its own organisation's facilities, units, mappings and figures.
- **zcv**: a care coordination centre, bound to one or more ROAZ regions; reads capacity there
  and in the neighbouring regions, nationally only when granted. Never writes capacity.
- **admin**: the platform's operators; organisations, clients, the admin overview, the audit.
- **device**: a vehicle tracker holding one unit's device key; reports that unit's positions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

Role = Literal["provider", "zcv", "admin", "device"]
ROLES: tuple[Role, ...] = get_args(Role)
# Roles an OAuth client can have; device keys are issued per mobile unit, not as clients.
CLIENT_ROLES: tuple[Role, ...] = ("provider", "zcv", "admin")


@dataclass(frozen=True)
class Principal:
    """The verified caller of one request.

    `subject` is the client id (or `device:<unit>` for a tracker); `organization` the
    organisation it acts for; `regions` the ROAZ regions a ZCV coordinates; `national` a ZCV's
    grant to read every region; `unit_id` the one unit a device may report on; `issuer` who
    vouched for the identity (the platform, or a region's own identity provider).
    """

    subject: str
    organization: str
    role: Role
    regions: tuple[str, ...] = ()
    national: bool = False
    unit_id: str | None = None
    issuer: str = "platform"
