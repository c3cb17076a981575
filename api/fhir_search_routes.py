"""FHIR search: `GET /fhir/{type}?…` answers a Bundle searchset, paged, within what the caller
may read.

Organization, Location and HealthcareService are searched among the registrations; MeasureReport
is built from the stored observations (`core/measure_reports.py`). The parameters each type takes
are declared once in `core/fhir_search.py`. Unknown parameters are ignored as FHIR servers
SHOULD (and named in an OperationOutcome entry of the Bundle, and left out of its `self` link),
unless the client sends `Prefer: handling=strict`: then they are refused (400). A modifier
(`name:exact`) is always refused: none is supported.

Who sees what is the rule of the JSON queries: a provider its own organisation's; a ZCV what lies
in its regions and their neighbours (everything with a national grant); an administrator every
registration but no figures. Pages hold `_count` entries (50 by default, 200 at most); the
`next` link carries `_offset`.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.access import CAPACITY_READERS, REGISTRATION_READERS, Access, PrincipalDep, add_route
from api.contract import FhirJSONResponse, fhir_content, refusal
from api.deps import ConnDep
from api.fhir_facility_routes import with_meta
from api.ownership import neighbour_map
from core.access import readable_regions
from core.fhir_search import (
    JSON_FORMATS,
    MAX_OFFSET,
    MAX_PAGE_SIZE,
    RESULT_PARAMETERS,
    SEARCH_PARAMETERS,
    DateRange,
    SearchRefused,
    alternatives,
    last_day,
    parse_count,
    parse_date,
    parse_near,
    parse_offset,
    parse_reference,
    parse_token,
    refused,
)
from core.identity import Principal
from core.measure_reports import MEASURES, items_of, measure_report
from core.refusals import error, warning
from storage.fhir_search import (
    FacilityCriteria,
    Found,
    Page,
    ReadScope,
    ReportCriteria,
    measure_reports,
    search_facilities,
)

LOCATION_DISTANCE_URL = "http://hl7.org/fhir/StructureDefinition/location-distance"
UCUM = "http://unitsofmeasure.org"


@dataclass(frozen=True)
class SearchRequest:
    """A search's parameters as given: name → its values (AND), each possibly `a,b` (OR)."""

    kind: str
    values: dict[str, list[str]]
    ignored: list[str]
    count: int
    offset: int

    def all(self, name: str) -> list[list[str]]:
        """Every value of `name`, each split into its alternatives."""
        return [alternatives(value) for value in self.values.get(name, [])]

    def used(self) -> list[tuple[str, str]]:
        """The parameters the search was run with, as the links carry them."""
        return [(name, value) for name, values in self.values.items() for value in values]


def _is_strict(request: Request) -> bool:
    prefer = request.headers.get("prefer", "")
    return "handling=strict" in prefer.replace(" ", "").lower()


def read_search(request: Request, kind: str) -> SearchRequest:
    """The search parameters of `request`: known ones kept, unknown ones ignored (or refused
    with `Prefer: handling=strict`), modifiers refused, empty values skipped."""
    known = {p.name for p in SEARCH_PARAMETERS[kind]}
    values: dict[str, list[str]] = {}
    ignored: list[str] = []
    for key, value in request.query_params.multi_items():
        name, _, modifier = key.partition(":")
        if name in known and modifier:
            raise refused(key, f"the modifier :{modifier} is not supported on {name}",
                          "not-supported")
        if name in RESULT_PARAMETERS:
            continue
        if name not in known:
            ignored.append(key)
        elif value:
            values.setdefault(name, []).append(value)
    if ignored and _is_strict(request):
        raise SearchRefused([error("not-supported", name, f"{name} is not a search parameter "
                                   f"of {kind} here; supported: {', '.join(sorted(known))}")
                             for name in ignored])
    data_format = request.query_params.get("_format")
    if data_format is not None and data_format not in JSON_FORMATS:
        raise refused("_format", "only JSON is served", "not-supported")
    return SearchRequest(kind, values, ignored, parse_count(request.query_params.get("_count")),
                         parse_offset(request.query_params.get("_offset")))


def scope_of(principal: Principal) -> ReadScope:
    """What a caller's search may return: its organisation's (provider), its readable regions
    (ZCV), or all registrations (admin)."""
    if principal.role == "provider":
        return ReadScope(organization=principal.organization)
    if principal.role == "zcv":
        regions = readable_regions(principal, neighbour_map())
        return ReadScope(regions=None if regions is None else sorted(regions))
    return ReadScope()


def _link(request: Request, search: SearchRequest, offset: int) -> str:
    query = [*search.used(), ("_count", str(search.count)), ("_offset", str(offset))]
    return str(request.url.replace(query=urlencode(query)))


def _links(request: Request, search: SearchRequest, page: Page,
           shown: int) -> list[dict[str, str]]:
    links = [{"relation": "self", "url": _link(request, search, search.offset)},
             {"relation": "first", "url": _link(request, search, 0)}]
    # Not counted (an offset past the end): a full page may have more behind it.
    more = (search.offset + shown < page.total if page.total is not None
            else shown == search.count)
    if more and search.count > 0 and search.offset + search.count <= MAX_OFFSET:
        links.append({"relation": "next",
                      "url": _link(request, search, search.offset + search.count)})
    if search.offset > 0:
        links.append({"relation": "previous",
                      "url": _link(request, search, max(0, search.offset - search.count))})
    return links


def _ignored_outcome(search: SearchRequest) -> list[dict[str, Any]]:
    if not search.ignored:
        return []
    issues = [warning("not-supported", name, f"{name} is not a search parameter of "
                      f"{search.kind} here and was ignored") for name in search.ignored]
    outcome = {"resourceType": "OperationOutcome", "issue": [
        {"severity": i.severity, "code": i.code, "diagnostics": i.diagnostics,
         "expression": [i.expression]} for i in issues]}
    return [{"resource": outcome, "search": {"mode": "outcome"}}]


def searchset(request: Request, search: SearchRequest, page: Page,
              entries: list[dict[str, Any]]) -> JSONResponse:
    """The Bundle searchset of one page."""
    bundle: dict[str, Any] = {"resourceType": "Bundle", "id": str(uuid.uuid4()),
                              "meta": {"lastUpdated": datetime.now(UTC).isoformat()},
                              "type": "searchset"}
    if page.total is not None:
        bundle["total"] = page.total
    bundle["link"] = _links(request, search, page, len(entries))
    bundle["entry"] = entries + _ignored_outcome(search)
    return JSONResponse(bundle, media_type="application/fhir+json")


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/fhir"


def _facility_entry(request: Request, kind: str, found: Found) -> dict[str, Any]:
    resource = with_meta(found.version)
    entry: dict[str, Any] = {"fullUrl": f"{_base(request)}/{kind}/{resource['id']}",
                             "resource": resource, "search": {"mode": "match"}}
    if found.distance_km is not None:
        entry["search"]["extension"] = [{"url": LOCATION_DISTANCE_URL, "valueDistance": {
            "value": round(found.distance_km, 3), "unit": "km", "system": UCUM, "code": "km"}}]
    return entry


def facility_criteria(search: SearchRequest) -> FacilityCriteria:
    """The facility search's parameters, parsed (400 naming the one that does not parse)."""
    near = search.all("near")
    if len(near) > 1 or any(len(values) > 1 for values in near):
        raise refused("near", "give one point")
    return FacilityCriteria(
        ids=search.all("_id"),
        identifiers=[[parse_token(v, "identifier") for v in vs]
                     for vs in search.all("identifier")],
        names=search.all("name"),
        types=[[parse_token(v, "type") for v in vs] for vs in search.all("type")],
        organizations=[[parse_reference(v, "Organization", "organization") for v in vs]
                       for vs in search.all("organization")],
        locations=[[parse_reference(v, "Location", "location") for v in vs]
                   for vs in search.all("location")],
        near=parse_near(near[0][0]) if near else None)


async def search_facility(kind: str, request: Request, conn: ConnDep,
                          principal: Principal) -> JSONResponse:
    """One page of the registered `kind`s that meet the search."""
    search = read_search(request, kind)
    page = await search_facilities(conn, kind=kind, criteria=facility_criteria(search),
                                   scope=scope_of(principal), limit=search.count,
                                   offset=search.offset)
    return searchset(request, search, page,
                     [_facility_entry(request, kind, found) for found in page.matches])


def _report_dates(search: SearchRequest) -> list[list[DateRange]]:
    dates = [[parse_date(v, name) for v in values] for name in ("date", "period")
             for values in search.all(name)]
    if dates:
        return dates
    default = last_day()
    search.values["date"] = [f"ge{default.start.isoformat()}"]  # so the links say so
    return [[default]]


def _measures(search: SearchRequest) -> set[str] | None:
    if "measure" not in search.values:
        return None
    wanted: set[str] | None = None
    for values in search.all("measure"):
        unknown = [v for v in values if v not in MEASURES.values()]
        if unknown:
            raise refused("measure", f"unknown measure {unknown[0]!r}; one of "
                                     f"{', '.join(MEASURES.values())}")
        wanted = set(values) if wanted is None else wanted & set(values)
    return wanted


async def search_measure_reports(request: Request, conn: ConnDep,
                                 principal: PrincipalDep) -> JSONResponse:
    """MeasureReports of the stored figures (the SANER Measure Consumer's pull): per location,
    moment and measure, newest first; `subject`, `measure`, `date`, `period` (the last 24 h
    when neither is given)."""
    search = read_search(request, "MeasureReport")
    criteria = ReportCriteria(
        subjects=[[parse_reference(v, "Location", "subject") for v in vs]
                  for vs in search.all("subject")],
        dates=_report_dates(search))
    page = await measure_reports(conn, measures=items_of(_measures(search)), criteria=criteria,
                                 scope=scope_of(principal), limit=search.count,
                                 offset=search.offset)
    entries = []
    for record in page.matches:
        report = measure_report(record)
        entries.append({"fullUrl": f"{_base(request)}/MeasureReport/{report['id']}",
                        "resource": report, "search": {"mode": "match"}})
    return searchset(request, search, page, entries)


def _value_schema(name: str) -> dict[str, Any]:
    # The empty value too: FHIR ignores a parameter with an empty value (read_search).
    if name == "measure":  # what `_measures` takes
        return {"type": "string", "enum": [*MEASURES.values(), ""]}
    return {"type": "string"}


def openapi_parameters(kind: str) -> list[dict[str, Any]]:
    """The search parameters of `kind` as OpenAPI query parameters (every one may repeat)."""
    declared: list[dict[str, Any]] = [
        {"name": p.name, "in": "query", "required": False, "style": "form", "explode": True,
         "description": f"{p.type}: {p.documentation}",
         "schema": {"type": "array", "items": _value_schema(p.name)}}
        for p in SEARCH_PARAMETERS[kind]]
    return declared + [
        {"name": "_count", "in": "query", "required": False,
         "description": f"page size (0: only the total); at most {MAX_PAGE_SIZE}",
         "schema": {"type": "integer", "minimum": 0}},
        {"name": "_offset", "in": "query", "required": False,
         "description": "where the page starts; the `next` link carries it",
         "schema": {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET}},
        {"name": "Prefer", "in": "header", "required": False,
         "description": "with `handling=strict`, unknown parameters are refused instead of "
                        "ignored; other preferences (RFC 7240) are ignored",
         "schema": {"type": "string"}}]


SEARCHSET = {"type": "object", "required": ["resourceType", "type", "link"], "properties": {
    "resourceType": {"const": "Bundle"}, "type": {"const": "searchset"},
    "total": {"type": "integer"},
    "link": {"type": "array", "items": {"type": "object", "properties": {
        "relation": {"enum": ["self", "first", "next", "previous"]},
        "url": {"type": "string"}}}},
    "entry": {"type": "array", "items": {"type": "object", "properties": {
        "fullUrl": {"type": "string"}, "resource": {"type": "object"},
        "search": {"type": "object", "properties": {"mode": {"enum": ["match", "outcome"]}}}}}},
}}
SEARCH_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: fhir_content(SEARCHSET, "a Bundle searchset: one page, with self, first, next and "
                                 "previous links"),
    400: refusal(400, "a search parameter that does not parse, a modifier, or (with "
                      "`Prefer: handling=strict`) an unknown parameter"),
}


def _facility_search(kind: str) -> Callable[..., Awaitable[JSONResponse]]:
    async def search(request: Request, conn: ConnDep, principal: PrincipalDep) -> JSONResponse:
        return await search_facility(kind, request, conn, principal)

    search.__doc__ = (f"Search the registered {kind}s: "
                      + ", ".join(f"`{p.name}`" for p in SEARCH_PARAMETERS[kind])
                      + "; a Bundle searchset, paged, of what the caller may read.")
    return search


def router() -> APIRouter:
    """A search route per searchable FHIR type."""
    built = APIRouter(prefix="/fhir", tags=["FHIR R4 search"])
    for kind in ("Organization", "Location", "HealthcareService"):
        add_route(built, f"/{kind}", _facility_search(kind), methods=["GET"],
                  name=f"search_{kind}", summary=f"Search {kind}",
                  response_class=FhirJSONResponse, responses=SEARCH_ANSWERS,
                  openapi_extra={"parameters": openapi_parameters(kind)},
                  rule=Access(REGISTRATION_READERS, f"search {kind}", "read"))
    add_route(built, "/MeasureReport", search_measure_reports, methods=["GET"],
              name="search_MeasureReport", summary="Search MeasureReports of stored figures",
              response_class=FhirJSONResponse, responses=SEARCH_ANSWERS,
              openapi_extra={"parameters": openapi_parameters("MeasureReport")},
              rule=Access(CAPACITY_READERS, "search MeasureReport", "read"))
    return built
