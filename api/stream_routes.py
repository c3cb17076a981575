"""Live updates over Server-Sent Events: GET /v1/stream (ZCVs; providers their own figures).

Filtered like /v1/availability (region with neighbours, sector, item, location) and limited to
what the caller's token may read. Event names: `figure` (a LocationAvailability with the
figure that changed), `status` (SEH status or admission stop changed), `stale` / `fresh`,
`position` (a unit as /v1/units shows it), `alert` (the caller's organisation's alerts),
`planning` (a booking, hold or visit request of the caller's organisation, as asker or as
provider, was made, answered, cancelled or expired: docs/planning.md), and `reset` (reload
the snapshot: what was missed is no longer known). Every event has an id; send it back
as `Last-Event-ID` when reconnecting and the missed events follow, none twice.
A comment line `: heartbeat` every STREAM_HEARTBEAT_SECONDS keeps proxies from closing it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.encoders import jsonable_encoder
from sse_starlette import EventSourceResponse, ServerSentEvent

from api.access import CAPACITY_READERS, Access, PrincipalDep, add_route
from api.availability_routes import (
    Item,
    Neighbours,
    Region,
    SectorFilter,
    _figure,
    check_sector,
    regions_in_scope,
)
from api.events_hub import EventsHub, Received, Reset
from api.ownership import default_regions, read_scope
from api.units_routes import unit_out
from core.events import (
    AlertRaised,
    Event,
    FigureChanged,
    Freshness,
    PlanningChanged,
    StatusChanged,
    UnitMoved,
    parse_event_id,
)
from core.figures import LatestFigure, item_matches
from core.identity import Principal
from core.metrics import STREAM_CLIENTS
from definitions import load_catalogue
from storage.units import UnitPosition


@dataclass(frozen=True)
class StreamFilter:
    """What one client asked for, within what it may read."""

    regions: frozenset[str] | None
    organization: str | None
    sector: str | None
    item: str | None
    location: str | None
    alerts_of: str

    def __call__(self, event: Event) -> bool:
        if isinstance(event, AlertRaised):
            return event.owner_organization_id == self.alerts_of
        if isinstance(event, PlanningChanged):
            # Either side of the request, nobody else.
            return self.alerts_of in (event.provider_organization, event.requester_organization)
        if isinstance(event, UnitMoved):
            return self._region(event.roaz_region) and self._org(event.organization_id) and (
                self.location in (None, event.id))
        return (self._region(event.roaz_region) and self._org(event.organization_id)
                and self.sector in (None, event.sector)
                and self.location in (None, event.location_id)
                and (self.item is None or item_matches(event.definition, self.item)))

    def _region(self, region: str) -> bool:
        return self.regions is None or region in self.regions

    def _org(self, organization: str) -> bool:
        return self.organization is None or organization == self.organization


def stream_filter(principal: Principal, region: str | None, neighbours: bool,
                  sector: str | None, item: str | None, location: str | None) -> StreamFilter:
    """The filter of a stream request; 403 outside what the caller may read."""
    check_sector(sector)
    asked = default_regions(principal, regions_in_scope(region, neighbours))
    scope = read_scope(principal, asked)
    return StreamFilter(
        regions=None if scope.regions is None else frozenset(scope.regions),
        organization=scope.organization, sector=sector, item=item, location=location,
        alerts_of=principal.organization)


def _figure_data(event: FigureChanged, now: datetime) -> dict[str, Any]:
    row = LatestFigure(**{name: getattr(event, name) for name in event.__struct_fields__})
    catalogue = load_catalogue()
    definition = catalogue.version(event.definition, event.definition_version) or (
        catalogue.get(event.definition))
    return {"location_id": event.location_id, "name": event.location_name,
            "organization_id": event.organization_id, "sector": event.sector,
            "roaz_region": event.roaz_region, "latitude": event.latitude,
            "longitude": event.longitude, "distance_km": None,
            # Flags relate a figure to the location's other figures, which an event does not
            # carry: they are on /v1/availability (the snapshot a client loads).
            "figures": [_figure(row, definition, now, []).model_dump(mode="json")]}


def _located_data(event: StatusChanged | Freshness) -> dict[str, Any]:
    data = {name: getattr(event, name) for name in event.__struct_fields__}
    data["name"] = data.pop("location_name")
    return data


def sse(received: Received) -> ServerSentEvent:
    """An event as the client receives it."""
    event, now = received.event, datetime.now(UTC)
    name: str
    data: Any
    if isinstance(event, FigureChanged):
        name, data = "figure", _figure_data(event, now)
    elif isinstance(event, StatusChanged):
        name, data = "status", _located_data(event)
    elif isinstance(event, Freshness):
        name, data = ("stale" if event.stale else "fresh"), _located_data(event)
    elif isinstance(event, UnitMoved):
        unit = UnitPosition(**{n: getattr(event, n) for n in event.__struct_fields__})
        name, data = "position", unit_out(unit, now).model_dump(mode="json")
    elif isinstance(event, PlanningChanged):
        name, data = "planning", {n: getattr(event, n) for n in event.__struct_fields__}
    else:
        data = {n: getattr(event, n) for n in event.__struct_fields__
                if n != "owner_organization_id"}
        name = "alert"
    return ServerSentEvent(_json(data), event=name, id=received.id)


def _json(data: Any) -> str:
    return json.dumps(jsonable_encoder(data), separators=(",", ":"))


def reset_event(reset: Reset) -> ServerSentEvent:
    """Tell the client to reload its snapshot."""
    return ServerSentEvent(_json({"reason": reset.reason}), event="reset")


async def events(hub: EventsHub, wants: Callable[[Event], bool],
                 last_event_id: str | None) -> AsyncIterator[ServerSentEvent]:
    """What was missed since `last_event_id` (if any), then live events, none twice."""
    subscriber = hub.subscribe(wants)
    STREAM_CLIENTS.inc()
    try:
        last = -1
        resume = parse_event_id(last_event_id)
        if last_event_id and resume is None:
            yield reset_event(Reset("Last-Event-ID is not an id this stream sent"))
        elif resume is not None:
            missed = await hub.since(*resume)
            if isinstance(missed, Reset):
                yield reset_event(missed)
            else:
                last = resume[0]
                for received in missed:
                    if wants(received.event):
                        yield sse(received)
                    last = received.offset
        while True:  # until the client goes: sse-starlette then cancels this generator
            if subscriber.overflowed:
                yield reset_event(Reset("this client fell too far behind"))
                return
            item = await subscriber.queue.get()
            if isinstance(item, Reset):
                last = -1
                yield reset_event(item)
            elif item.offset > last:
                last = item.offset
                yield sse(item)
    finally:
        STREAM_CLIENTS.dec()
        hub.unsubscribe(subscriber)


Location = Annotated[str | None, Query(description="only this location (or unit) id")]


async def stream(request: Request, principal: PrincipalDep, region: Region = None,
                 neighbours: Neighbours = False, sector: SectorFilter = None, item: Item = None,
                 location: Location = None,
                 last_event_id: Annotated[str | None, Header()] = None) -> EventSourceResponse:
    """Live updates as Server-Sent Events, filtered like /v1/availability and limited to what
    the token may read; resume with `Last-Event-ID` (events kept for at least an hour)."""
    wants = stream_filter(principal, region, neighbours, sector, item, location)
    hub: EventsHub = request.app.state.events
    heartbeat = request.app.state.settings.stream_heartbeat_seconds
    return EventSourceResponse(
        events(hub, wants, last_event_id), ping=heartbeat,
        ping_message_factory=lambda: ServerSentEvent(comment="heartbeat"),
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


def router() -> APIRouter:
    """Live updates (ZCVs; providers their own locations)."""
    built = APIRouter(prefix="/v1", tags=["Live capacity (care coordination)"])
    add_route(built, "/stream", stream, methods=["GET"],
              rule=Access(CAPACITY_READERS, "follow live updates", "read"),
              response_class=EventSourceResponse)
    return built
