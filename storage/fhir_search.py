"""FHIR search in SQL: registered facilities by their search parameters, and MeasureReports
built from the stored observations.

Criteria come parsed (`core/fhir_search.py`): each parameter a list of AND-ed conditions, each
condition a list of OR-ed values. Token parameters are matched inside the stored resource with a
SQL/JSON path, so every coding or identifier the provider sent can be searched, not only the
ones the platform keeps in columns. The caller's read scope (its organisation, or the regions
it may read) is part of every query: what it may not read is never counted either.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from core.fhir_search import DateRange, Near, Token
from core.measure_reports import ReportRecord
from storage.facilities import FacilityVersion
from storage.geo import distance_sql

Conn = psycopg.AsyncConnection[Any]
AndOr = Sequence[Sequence[Any]]  # AND of OR-lists


@dataclass(frozen=True)
class ReadScope:
    """What a search may return: one organisation's, the locations in some ROAZ regions, or
    (both None) everything."""

    organization: str | None = None
    regions: Sequence[str] | None = None


@dataclass(frozen=True)
class FacilityCriteria:
    """The parsed search parameters of a facility search (empty: not given)."""

    ids: AndOr = ()
    identifiers: AndOr = ()  # Tokens
    names: AndOr = ()
    types: AndOr = ()  # Tokens
    organizations: AndOr = ()
    locations: AndOr = ()
    near: Near | None = None


@dataclass(frozen=True)
class Table:
    """Where a facility type is kept, and how the read scope applies to it."""

    name: str
    by_organization: str  # column of the owning organisation
    in_regions: str  # SQL: the row lies in the regions %(regions)s


TABLES = {
    "Organization": Table("organization", "t.id", "EXISTS (SELECT 1 FROM location sl WHERE"
                          " sl.organization_id = t.id AND sl.roaz_region = ANY(%(regions)s))"),
    "Location": Table("location", "t.organization_id", "t.roaz_region = ANY(%(regions)s)"),
    "HealthcareService": Table("healthcare_service", "t.organization_id",
                               "EXISTS (SELECT 1 FROM location sl WHERE sl.id = ANY("
                               "t.location_ids) AND sl.roaz_region = ANY(%(regions)s))"),
}
# Where a token parameter's values sit in the stored resource, and the key of the code.
TOKEN_PATHS = {"identifiers": ("$.identifier[*]", "value"),
               "types": ("$.type[*].coding[*]", "code")}
DISTANCE = distance_sql("t.latitude", "t.longitude")


@dataclass
class Query:
    """A WHERE clause under construction, with its parameters."""

    conditions: list[sql.Composable] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)

    def value(self, value: Any) -> sql.Placeholder:
        """A fresh named parameter holding `value`."""
        name = f"p{len(self.params)}"
        self.params[name] = value
        return sql.Placeholder(name)

    def add_any(self, alternatives: Sequence[sql.Composable]) -> None:
        """One condition: any of `alternatives`."""
        self.conditions.append(sql.SQL("({})").format(sql.SQL(" OR ").join(alternatives)))

    def where(self) -> sql.Composable:
        """The conditions AND-ed (TRUE when none)."""
        if not self.conditions:
            return sql.SQL("TRUE")
        return sql.SQL(" AND ").join(self.conditions)


def _token_condition(query: Query, resource: str, path: str, key: str,
                     token: Token) -> sql.Composable:
    tests, variables = [], {}
    if token.system is not None:
        tests.append("@.system == $system")
        variables["system"] = token.system
    if token.no_system:
        tests.append("!(exists(@.system))")
    if token.code is not None:
        tests.append(f"@.{key} == $code")
        variables["code"] = token.code
    jsonpath = f"{path} ? ({' && '.join(tests)})"
    return sql.SQL("jsonb_path_exists({}, {}::jsonpath, {})").format(
        sql.SQL(resource), query.value(jsonpath), query.value(Jsonb(variables)))


def _facility_query(kind: str, criteria: FacilityCriteria, scope: ReadScope) -> Query:
    table = TABLES[kind]
    query = Query()
    if scope.organization is not None:
        query.conditions.append(sql.SQL(f"{table.by_organization} = {{}}").format(
            query.value(scope.organization)))
    if scope.regions is not None:
        query.params["regions"] = list(scope.regions)
        query.conditions.append(sql.SQL(table.in_regions))
    columns = {"ids": "t.id = ANY({})", "organizations": "t.organization_id = ANY({})",
               "locations": "t.location_ids && {}::text[]"}
    for name, template in columns.items():
        for values in getattr(criteria, name):
            query.conditions.append(sql.SQL(template).format(query.value(list(values))))
    for values in criteria.names:
        query.add_any([sql.SQL("starts_with(lower(t.name), lower({}))").format(query.value(v))
                       for v in values])
    for name, (path, key) in TOKEN_PATHS.items():
        for tokens in getattr(criteria, name):
            query.add_any([_token_condition(query, "t.resource", path, key, token)
                           for token in tokens])
    return query


@dataclass(frozen=True)
class Found:
    """One match: the current version, and its distance to `near` when one was given."""

    version: FacilityVersion
    distance_km: float | None


@dataclass(frozen=True)
class Page:
    """One page of matches and how many match in all (None: not known)."""

    total: int | None
    matches: list[Any]


async def search_facilities(conn: Conn, *, kind: str, criteria: FacilityCriteria,
                            scope: ReadScope, limit: int, offset: int) -> Page:
    """The current versions of the registered `kind`s that meet `criteria` within `scope`:
    by id, or nearest first when `near` is given."""
    query = _facility_query(kind, criteria, scope)
    distance: sql.Composable = sql.SQL("NULL::float8")
    order: sql.Composable = sql.SQL("t.id")
    if criteria.near is not None:
        query.params.update(near_lat=criteria.near.latitude, near_lon=criteria.near.longitude)
        distance = sql.SQL(DISTANCE)
        query.conditions.append(sql.SQL(f"{DISTANCE} <= {{}}").format(
            query.value(criteria.near.distance_km)))
        order = sql.SQL("distance_km, t.id")
    statement = sql.SQL(
        "SELECT v.version, v.valid_from, v.valid_to, v.resource, {distance} AS distance_km,"
        " count(*) OVER () AS total FROM {table} t JOIN facility_version v"
        " ON v.resource_type = {kind} AND v.resource_id = t.id AND v.valid_to IS NULL"
        " WHERE {where} ORDER BY {order} LIMIT {limit} OFFSET {offset}").format(
        distance=distance, table=sql.Identifier(TABLES[kind].name), kind=query.value(kind),
        where=query.where(), order=order, limit=query.value(max(limit, 1)),
        offset=query.value(offset))
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(statement, query.params)
        rows = await cur.fetchall()
    total = int(rows[0]["total"]) if rows else await _count_beyond(conn, kind, criteria,
                                                                   scope, offset)
    matches = [Found(FacilityVersion(r["version"], r["valid_from"], r["valid_to"],
                                     r["resource"]), r["distance_km"]) for r in rows]
    return Page(total, matches[:limit])


async def _count_beyond(conn: Conn, kind: str, criteria: FacilityCriteria, scope: ReadScope,
                        offset: int) -> int:
    """The total when the page itself is empty (an offset past the end)."""
    if offset == 0:
        return 0
    query = _facility_query(kind, criteria, scope)
    if criteria.near is not None:
        query.params.update(near_lat=criteria.near.latitude, near_lon=criteria.near.longitude)
        query.conditions.append(sql.SQL(f"{DISTANCE} <= {{}}").format(
            query.value(criteria.near.distance_km)))
    statement = sql.SQL("SELECT count(*) FROM {table} t WHERE {where}").format(
        table=sql.Identifier(TABLES[kind].name), where=query.where())
    cur = await conn.execute(statement, query.params)
    row = await cur.fetchone()
    return int(row[0]) if row else 0


# --- MeasureReports from the stored observations --------------------------------------------

@dataclass(frozen=True)
class ReportCriteria:
    """The parsed search parameters of a MeasureReport search."""

    subjects: AndOr = ()
    dates: AndOr = ()  # DateRanges, from `date` and `period` alike


def _date_condition(query: Query, column: str, found: DateRange) -> sql.Composable:
    start, end, negated = found.bounds()
    parts = []
    if start is not None:
        parts.append(sql.SQL(f"{column} >= {{}}").format(query.value(start)))
    if end is not None:
        parts.append(sql.SQL(f"{column} < {{}}").format(query.value(end)))
    both = sql.SQL("({})").format(sql.SQL(" AND ").join(parts))
    return sql.SQL("NOT {}").format(both) if negated else both


async def measure_reports(conn: Conn, *, measures: dict[str, str], criteria: ReportCriteria,
                          scope: ReadScope, limit: int, offset: int) -> Page:
    """The reports (location × observed time × measure) of the items in `measures` (item code
    → measure URL) that meet `criteria` within `scope`, newest first."""
    query = Query()
    query.params.update(codes=list(measures), urls=list(measures.values()))
    if scope.organization is not None:
        query.conditions.append(sql.SQL("l.organization_id = {}").format(
            query.value(scope.organization)))
    if scope.regions is not None:
        query.conditions.append(sql.SQL("l.roaz_region = ANY({})").format(
            query.value(list(scope.regions))))
    for subjects in criteria.subjects:
        query.conditions.append(sql.SQL("o.location_id = ANY({})").format(
            query.value(list(subjects))))
    for ranges in criteria.dates:
        query.add_any([_date_condition(query, "o.observed_at", found) for found in ranges])
    statement = sql.SQL(
        "SELECT o.location_id, l.name AS location_name, l.organization_id, o.observed_at,"
        " m.measure, array_agg(o.definition ORDER BY o.definition) AS definitions,"
        " array_agg(o.definition_version ORDER BY o.definition) AS versions,"
        " array_agg(o.value ORDER BY o.definition) AS values,"
        " array_agg(o.not_reported_reason ORDER BY o.definition) AS reasons,"
        " max(o.received_at) AS received_at, count(*) OVER () AS total"
        " FROM observation o JOIN location l ON l.id = o.location_id"
        " JOIN unnest(%(codes)s::text[], %(urls)s::text[]) AS m(definition, measure)"
        " ON m.definition = o.definition"
        " WHERE {where}"
        " GROUP BY o.location_id, l.name, l.organization_id, o.observed_at, m.measure"
        " ORDER BY o.observed_at DESC, o.location_id, m.measure"
        " LIMIT {limit} OFFSET {offset}").format(
        where=query.where(), limit=query.value(max(limit, 1)), offset=query.value(offset))
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(statement, query.params)
        rows = await cur.fetchall()
    total = int(rows[0]["total"]) if rows else 0
    reports = [ReportRecord(**{k: v for k, v in row.items() if k != "total"}) for row in rows]
    # An offset past the end finds no row to count on: the total is then not known.
    return Page(total if rows or offset == 0 else None, reports[:limit])
