"""The LSIV fleet: an ambulance's status as the feed reports it, in its RAV region. No I/O:
storage/fleet.py keeps the latest per vehicle, the lsiv stage (streams/lsiv.py) makes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class VehicleStatus:
    """One vehicle's status at a moment, in its RAV region."""

    vehicle_id: str
    rav_region: str
    vehicle_type: str
    status: str
    status_at: datetime
