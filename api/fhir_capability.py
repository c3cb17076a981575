"""`GET /fhir/metadata`: the CapabilityStatement, generated from the routes the app really has.

A FHIR server SHALL publish its CapabilityStatement there. The interactions are read off the
app's route table (`/fhir/{type}/{id}` GET is read, PUT update; `…/_history` is history-instance;
`/fhir/{type}` GET is search-type, POST create), the search parameters from their one
declaration (`core/fhir_search.py`): a route added or removed changes the statement with it.

The statement is public: it holds no data, and a client reads it before it has a token (it
names the token endpoint). Everything it describes needs a token.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, FastAPI, Request

from api.access import Public, add_route, declared_routes
from api.contract import FhirJSONResponse, fhir_content
from core.fhir_search import SEARCH_PARAMETERS

FHIR_VERSION = "4.0.1"
OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
SECURITY_SERVICE = "http://terminology.hl7.org/CodeSystem/restful-security-service"
# Route shapes under /fhir and the interaction each method is.
INTERACTIONS = (
    (re.compile(r"^/fhir/([A-Z][A-Za-z]+)/\{[a-z_]+\}$"), {"GET": "read", "PUT": "update"}),
    (re.compile(r"^/fhir/([A-Z][A-Za-z]+)/\{[a-z_]+\}/_history$"), {"GET": "history-instance"}),
    (re.compile(r"^/fhir/([A-Z][A-Za-z]+)$"), {"GET": "search-type", "POST": "create"}),
)
ORDER = ("read", "vread", "update", "history-instance", "create", "search-type")
NOTES = {
    "MeasureReport": "create: a SANER-style capacity report, answered 202 with an "
                     "OperationOutcome once it is queued (its figures are stored, not the "
                     "report). search-type: reports built from the stored figures, one per "
                     "location, moment and measure.",
    "Location": "update: register or change a location (its provider only).",
    "Organization": "update: organisations are registered by the platform's administrators.",
    "Slot": "search-type: `location=<id>`, the practice's bookable slots (free in its latest "
            "agenda, not started, not booked); docs/planning.md.",
    "Appointment": "create: a ZCV books a slot (pending). search-type: `actor=Location/<id>`, "
                   "`status`: a practice's bookings, or a ZCV's own. `$cancel` by either "
                   "side; docs/planning.md.",
    "AppointmentResponse": "create: the practice accepts (booked) or declines (cancelled) a "
                           "booking at its own location; answered with the Appointment.",
}


def supported_interactions(app: FastAPI) -> dict[str, set[str]]:
    """Resource type → the FHIR interactions the app has routes for."""
    found: dict[str, set[str]] = {}
    for route in declared_routes(app):
        for pattern, by_method in INTERACTIONS:
            matched = pattern.match(route.path)
            if matched is None:
                continue
            for method in route.methods & set(by_method):
                found.setdefault(matched.group(1), set()).add(by_method[method])
    return found


def _resource(kind: str, interactions: set[str]) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "type": kind,
        "interaction": [{"code": code} for code in ORDER if code in interactions],
    }
    if kind in NOTES:
        resource["documentation"] = NOTES[kind]
    if "history-instance" in interactions:
        resource.update(versioning="versioned", readHistory=True)
    if "update" in interactions:
        resource.update(updateCreate=True, conditionalCreate=False, conditionalUpdate=False)
    if "search-type" in interactions:
        resource["searchParam"] = [
            {"name": p.name, "definition": p.definition, "type": p.type,
             "documentation": p.documentation} for p in SEARCH_PARAMETERS.get(kind, ())]
    return resource


def _interactions(app: FastAPI) -> dict[str, set[str]]:
    """`supported_interactions`, worked out once per app: its routes do not change once it
    serves (working them out costs more than the rest of the answer)."""
    cached: dict[str, set[str]] | None = getattr(app.state, "fhir_interactions", None)
    if cached is None:
        cached = app.state.fhir_interactions = supported_interactions(app)
    return cached


def capability_statement(app: FastAPI, base: str) -> dict[str, Any]:
    """The app's CapabilityStatement, with `base` as the FHIR endpoint's address."""
    interactions = _interactions(app)
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": datetime.now(UTC).date().isoformat(),
        "publisher": "Zorgcapaciteit",
        "kind": "instance",
        "software": {"name": app.title, "version": app.version},
        "implementation": {"description": "Zorgcapaciteit: live capacity of Dutch acute care",
                           "url": base},
        "fhirVersion": FHIR_VERSION,
        "format": ["json"],
        "rest": [{
            "mode": "server",
            "documentation": "Also POST /fhir/bed-status (a Bundle of bed Locations) and POST "
                             "/fhir/consult-slots (a Bundle of Schedules and Slots): capacity "
                             "pushes, answered 202. Unknown search parameters are ignored, or "
                             "refused with `Prefer: handling=strict`; pages via `_count` and "
                             "the `next` link.",
            "security": {
                "cors": False,
                "service": [{"coding": [{"system": SECURITY_SERVICE, "code": "OAuth"}]}],
                "description": "OAuth 2.0 client credentials: POST /oauth/token, then "
                               "`Authorization: Bearer <token>`; who may read and write what: "
                               "docs/security.md",
                "extension": [{"url": OAUTH_URIS, "extension": [
                    {"url": "token", "valueUri": base.removesuffix("/fhir") + "/oauth/token"}]}],
            },
            "resource": [_resource(kind, interactions[kind]) for kind in sorted(interactions)],
        }],
    }


async def metadata(request: Request) -> FhirJSONResponse:
    """The CapabilityStatement: what this FHIR server supports, generated from its routes."""
    base = str(request.base_url).rstrip("/") + "/fhir"
    return FhirJSONResponse(capability_statement(request.app, base))


CAPABILITY = {"type": "object", "required": ["resourceType", "status", "kind", "fhirVersion",
                                             "format", "rest"],
              "properties": {"resourceType": {"const": "CapabilityStatement"},
                             "fhirVersion": {"type": "string"},
                             "rest": {"type": "array", "items": {"type": "object"}}}}


def router() -> APIRouter:
    """GET /fhir/metadata, open to anyone."""
    built = APIRouter(prefix="/fhir", tags=["FHIR R4 search"])
    add_route(built, "/metadata", metadata, methods=["GET"], name="capabilities",
              summary="The CapabilityStatement (public)", response_class=FhirJSONResponse,
              responses={200: fhir_content(CAPABILITY, "the CapabilityStatement")},
              rule=Public("read capability statement"))
    return built
