"""The live and history queries of `storage/`, called directly on the database.

Every test runs twice, through the fixture `query_conn`: on plain PostgreSQL (the path of the
embedded stack) and on TimescaleDB (PGlite), with the same expectations, so both paths give the
same answers. Rows are written with plain SQL (not the platform's writer), and the roll-ups are
filled here from `observation` (tables on the plain path; a refresh of the continuous aggregates
over the test rows' window on TimescaleDB), so these tests check the queries alone.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import psycopg
import pytest
from psycopg.types.json import Jsonb

from core.figures import LatestFigure
from core.geo import Point, haversine_km
from storage.availability import LiveLocation, live_availability, live_locations
from storage.busyness import region_figures
from storage.forecasts import hourly_series
from storage.geo import distance_sql, near_params
from storage.history import Scope, history
from storage.live_state import catch_up
from storage.providers import (
    Rejection,
    provider_deliveries,
    record_rejection,
    rejection_counts,
)
from storage.units import latest_unit_positions, nearest_units
from tests.backends import BACKENDS

T = TypeVar("T")
MESSAGE = "00000000-0000-4000-8000-00000000000a"
# Hospitals (lat, lon): Leiden and Utrecht in neighbouring regions, Maastricht far away.
PLACES = {"leiden": ("west", 52.1665, 4.4782), "utrecht": ("midden-nederland", 52.0854, 5.1792),
          "maastricht": ("limburg", 50.8424, 5.7107)}
MAASTRICHT = Point(50.8513, 5.6910)  # Maastricht Markt, where the test ambulances drive
# History lives in a fixed past day (UTC 2026-11-18) that no other test writes to.
H0 = datetime(2026, 11, 18, 8, 0, tzinfo=UTC)
ROLLUP_WIDTHS = {"observation_5m": "5 minutes", "observation_1h": "1 hour"}


@dataclass(frozen=True)
class QueryConn:
    """Runs storage queries on one database, one connection at a time (PGlite-friendly)."""

    url: str

    def connect(self) -> psycopg.Connection[Any]:
        """A synchronous autocommit connection, for writing test rows."""
        return psycopg.connect(self.url, autocommit=True, prepare_threshold=None)

    def run(self, query: Callable[..., Awaitable[T]], **kwargs: Any) -> T:
        """`await query(conn, **kwargs)` on a fresh async connection, committed."""
        async def call() -> T:
            conn = await psycopg.AsyncConnection.connect(self.url, prepare_threshold=None)
            try:
                result = await query(conn, **kwargs)
                await conn.commit()
                return result
            finally:
                await conn.close()
        return asyncio.run(call())


@pytest.fixture(scope="module", params=BACKENDS)
def query_conn(request: pytest.FixtureRequest) -> QueryConn:
    """The database the storage queries run on: each storage path in turn."""
    return QueryConn(request.getfixturevalue(f"{request.param}_url"))


@dataclass(frozen=True)
class Seeded:
    """Ids of the rows written for this module, and the moment they were written."""

    suffix: str
    now: datetime

    def loc(self, place: str) -> str:
        """Location id of a test hospital."""
        return f"sq-{place}-{self.suffix}"

    def unit(self, name: str) -> str:
        """Id of a test mobile unit."""
        return f"sq-{name}-{self.suffix}"

    @property
    def org(self) -> str:
        """The test hospitals' organisation."""
        return f"sq-org-{self.suffix}"


_seeded: dict[str, Seeded] = {}


@pytest.fixture
def seeded(query_conn: QueryConn) -> Seeded:
    """The test rows, written once per database."""
    if query_conn.url not in _seeded:
        data = Seeded(uuid.uuid4().hex[:8], datetime.now(UTC).replace(microsecond=0))
        with query_conn.connect() as conn:
            seed(conn, data)
            refresh_rollups(conn, [data.loc(p) for p in PLACES])
        _seeded[query_conn.url] = data
    return _seeded[query_conn.url]


def add_observation(conn: psycopg.Connection[Any], location: str, definition: str,
                    observed_at: datetime, value: float | str | None,
                    latest: bool = True) -> None:
    """One observation (history, and the latest state when `latest`); None = not reported."""
    number = value if isinstance(value, int | float) else None
    text = value if isinstance(value, str) else None
    reason = "unknown" if value is None else None
    row = (location, definition, observed_at, 1, number, text, reason, observed_at, "test",
           "json/test", MESSAGE)
    columns = ("location_id, definition, observed_at, definition_version, value, value_text,"
               " not_reported_reason, received_at, provider, source_format, raw_message_id")
    conn.execute(f"INSERT INTO observation ({columns}) VALUES"
                 " (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", row)
    if latest:
        conn.execute(f"INSERT INTO latest_observation ({columns}) VALUES"
                     " (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                     " ON CONFLICT (location_id, definition) DO UPDATE SET"
                     " observed_at = EXCLUDED.observed_at, value = EXCLUDED.value,"
                     " value_text = EXCLUDED.value_text,"
                     " not_reported_reason = EXCLUDED.not_reported_reason", row)


def refresh_rollups(conn: psycopg.Connection[Any], locations: list[str]) -> None:
    """Fill `observation_5m` / `observation_1h` for `locations` from `observation`, creating
    them with the contract's columns when they do not exist yet; continuous aggregates (the
    TimescaleDB path) fill themselves and are left alone."""
    for relation, width in ROLLUP_WIDTHS.items():
        kind = conn.execute("SELECT c.relkind FROM pg_class c WHERE c.oid ="
                            " to_regclass(%s)", (relation,)).fetchone()
        if kind is None:
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {relation} (location_id text, definition text,"
                " bucket timestamptz, last_value float8, last_value_text text,"
                " last_observed_at timestamptz, min_value float8, max_value float8,"
                " sum_value float8, samples bigint,"
                " PRIMARY KEY (location_id, definition, bucket))")
        elif kind[0] not in ("r", "p"):
            # A continuous aggregate: materialise the test rows' window (CALL needs autocommit).
            conn.execute(f"CALL refresh_continuous_aggregate('{relation}', %s, %s)",
                         (H0 - timedelta(days=2), datetime.now(UTC) + timedelta(hours=1)))
            continue
        conn.execute(f"DELETE FROM {relation} WHERE location_id = ANY(%s)", (locations,))
        bucket = f"date_bin(INTERVAL '{width}', observed_at, TIMESTAMPTZ '2000-01-01 00:00+00')"
        conn.execute(
            f"INSERT INTO {relation} SELECT location_id, definition, {bucket},"
            " (array_agg(value ORDER BY observed_at DESC))[1],"
            " (array_agg(value_text ORDER BY observed_at DESC))[1], max(observed_at),"
            " min(value), max(value), sum(value), count(*)"
            f" FROM observation WHERE location_id = ANY(%s) GROUP BY 1, 2, 3", (locations,))


def seed(conn: psycopg.Connection[Any], data: Seeded) -> None:
    """Three hospitals of one organisation with live figures, history, deliveries and
    rejections; four ambulances and a district nurse around Maastricht."""
    conn.execute("INSERT INTO organization (id, name, resource) VALUES (%s, %s, %s)",
                 (data.org, "Testziekenhuizen", Jsonb({})))
    for place, (region, lat, lon) in PLACES.items():
        conn.execute("INSERT INTO location (id, organization_id, name, sector, roaz_region,"
                     " latitude, longitude, resource) VALUES (%s, %s, %s, 'hospital', %s, %s,"
                     " %s, %s)", (data.loc(place), data.org, place.title(), region, lat, lon,
                                  Jsonb({})))
    _seed_live(conn, data)
    _seed_history(conn, data)
    _seed_units(conn, data)
    conn.execute("INSERT INTO raw_message (message_id, received_at, source_format, sector,"
                 " provider, location_id, payload) VALUES (%s, %s, 'json/test', 'hospital',"
                 " %s, %s, '{}')", (uuid.uuid4(), data.now - timedelta(minutes=1), data.org,
                                    data.loc("utrecht")))
    for hours_ago, reason in ((1, "value"), (2, "value"), (3, "structure"), (30, "value")):
        conn.execute("INSERT INTO rejection VALUES (%s, %s, %s, 'json/test', 'api', %s)",
                     (data.now - timedelta(hours=hours_ago), data.org, data.loc("leiden"),
                      reason))


def _seed_live(conn: psycopg.Connection[Any], data: Seeded) -> None:
    minutes = [2, 3, 1, 10, 2, 60, 1, 2, 12]
    figures = [
        ("leiden", "hospital.beds.ic.available", 5), ("utrecht", "hospital.beds.ic.available",
                                                      None),
        ("maastricht", "hospital.beds.ic.available", 7), ("leiden", "hospital.beds.ic.total", 20),
        ("leiden", "hospital.beds.icu_test.available", 1),  # no such item: never matched
        ("maastricht", "hospital.seh.patients", 10),
        ("leiden", "hospital.seh.patients", 20), ("utrecht", "hospital.seh.patients", 30),
        ("leiden", "hospital.seh.nedocs_band", "busy"),
    ]
    for (place, definition, value), ago in zip(figures, minutes, strict=True):
        add_observation(conn, data.loc(place), definition, data.now - timedelta(minutes=ago),
                        value)
    add_observation(conn, data.loc("utrecht"), "hospital.seh.nedocs_band",
                    data.now - timedelta(minutes=4), "overcrowded")


def _seed_history(conn: psycopg.Connection[Any], data: Seeded) -> None:
    # Sum item at two locations, a latest item at two locations; one "not reported".
    for minute, a, b in ((1, 10, 20), (4, 12, None), (7, 14, 25), (62, 16, 27)):
        add_observation(conn, data.loc("leiden"), "hospital.seh.treatment_places",
                        H0 + timedelta(minutes=minute), a, latest=False)
        add_observation(conn, data.loc("utrecht"), "hospital.seh.treatment_places",
                        H0 + timedelta(minutes=minute, seconds=30), b, latest=False)
    add_observation(conn, data.loc("leiden"), "hospital.seh.longest_boarder_wait",
                    H0 + timedelta(minutes=3), 90, latest=False)
    add_observation(conn, data.loc("utrecht"), "hospital.seh.longest_boarder_wait",
                    H0 + timedelta(minutes=2), 200, latest=False)


def _seed_units(conn: psycopg.Connection[Any], data: Seeded) -> None:
    # (name, kind, km east of Maastricht Markt, status, position age in minutes)
    units = [("amb1", "ambulance", 1, "2", 0), ("amb2", "ambulance", 3, "5", 0),
             ("amb3", "ambulance", 5, "6", 30), ("amb4", "ambulance", 40, "5", 0),
             ("nurse1", "district-nurse", 2, None, 30), ("nurse2", "district-nurse", 4, None, 1)]
    for name, kind, km_east, status, age in units:
        unit = data.unit(name)
        conn.execute("INSERT INTO mobile_unit (id, kind, organization_id, label, roaz_region)"
                     " VALUES (%s, %s, %s, %s, 'limburg')", (unit, kind, data.org, name))
        moment = data.now - timedelta(minutes=age)
        # About 70.4 km per degree of longitude at this latitude.
        conn.execute("INSERT INTO latest_position (unit_id, observed_at, latitude, longitude,"
                     " received_at, source_format) VALUES (%s, %s, %s, %s, %s, 'osmand')",
                     (unit, moment, MAASTRICHT.latitude, MAASTRICHT.longitude + km_east / 70.4,
                      moment))
        if status is not None:
            add_observation(conn, unit, "ambulance.vehicle.status", moment, status)


def test_sql_distance_equals_the_python_haversine(query_conn: QueryConn) -> None:
    leiden, utrecht = Point(52.1601, 4.4970), Point(52.0894, 5.1100)
    with query_conn.connect() as conn:
        row = conn.execute(f"SELECT {distance_sql('%(lat)s::float8', '%(lon)s::float8')}",
                           {"lat": utrecht.latitude, "lon": utrecht.longitude,
                            **near_params(leiden, None)}).fetchone()
    assert row is not None
    assert row[0] == pytest.approx(haversine_km(leiden, utrecht), abs=1e-6)


def _ours(rows: list[Any], data: Seeded) -> list[Any]:
    mine = {data.loc(p) for p in PLACES}
    return [r for r in rows if r.location_id in mine]


def test_live_availability_by_region_neighbours_and_nationally(
    query_conn: QueryConn, seeded: Seeded,
) -> None:
    def places(**filters: Any) -> set[str]:
        rows = _ours(query_conn.run(live_availability, **filters), seeded)
        return {r.location_id.split("-")[1] for r in rows}

    assert places(region="west") == {"leiden"}
    assert places(regions=["west", "midden-nederland"]) == {"leiden", "utrecht"}
    assert places() == {"leiden", "utrecht", "maastricht"}
    assert places(region="west", sector="hap") == set()


def test_item_filter_matches_whole_segments(query_conn: QueryConn, seeded: Seeded) -> None:
    rows = _ours(query_conn.run(live_availability, item="hospital.beds.ic"), seeded)
    assert {r.definition for r in rows} == {"hospital.beds.ic.available",
                                            "hospital.beds.ic.total"}
    exact = _ours(query_conn.run(live_availability, item="hospital.beds.ic.available"), seeded)
    by_place = {r.location_id.split("-")[1]: r for r in exact}
    assert by_place["leiden"].value == 5
    # Not reported stays distinct from 0.
    assert by_place["utrecht"].value is None
    assert by_place["utrecht"].not_reported_reason == "unknown"


def test_radius_keeps_the_near_ones_nearest_first(query_conn: QueryConn, seeded: Seeded) -> None:
    near = Point(52.1601, 4.4970)  # Leiden Centraal
    rows = _ours(query_conn.run(live_availability, near=near, radius_km=60,
                                item="hospital.beds.ic.available"), seeded)
    assert [r.location_id for r in rows] == [seeded.loc("leiden"), seeded.loc("utrecht")]
    assert rows[0].distance_km == pytest.approx(
        haversine_km(near, Point(52.1665, 4.4782)), abs=0.01)
    everything = _ours(query_conn.run(live_availability, near=near,
                                      definitions=["hospital.beds.ic.available"]), seeded)
    assert [r.location_id.split("-")[1] for r in everything] == ["leiden", "utrecht",
                                                                "maastricht"]


def test_region_figures_feed_the_roll_up(query_conn: QueryConn, seeded: Seeded) -> None:
    rows = _ours(query_conn.run(region_figures, definitions=["hospital.seh.patients",
                                                             "hospital.seh.nedocs_band"],
                                regions=["west", "midden-nederland"]), seeded)
    assert [(r.roaz_region, r.definition, r.value, r.value_text) for r in rows] == [
        ("midden-nederland", "hospital.seh.nedocs_band", None, "overcrowded"),
        ("midden-nederland", "hospital.seh.patients", 30, None),
        ("west", "hospital.seh.nedocs_band", None, "busy"),
        ("west", "hospital.seh.patients", 20, None),
    ]


def test_units_near_a_point_nearest_first(query_conn: QueryConn, seeded: Seeded) -> None:
    found = query_conn.run(latest_unit_positions, region="limburg", kind="ambulance",
                           near=MAASTRICHT, radius_km=10)
    ours = [u for u in found if u.id.endswith(seeded.suffix)]
    assert [u.id for u in ours] == [seeded.unit(n) for n in ("amb1", "amb2", "amb3")]
    assert ours[0].distance_km == pytest.approx(1.0, abs=0.05)
    assert ours[1].status == "5"


def test_nearest_available_ambulances(query_conn: QueryConn, seeded: Seeded) -> None:
    found = query_conn.run(nearest_units, near=MAASTRICHT, kind="ambulance", n=2,
                           statuses=["5", "6"])
    assert [u.id for u in found] == [seeded.unit("amb2"), seeded.unit("amb3")]
    assert [round(u.distance_km or 0) for u in found] == [3, 5]
    anything = query_conn.run(nearest_units, near=MAASTRICHT, kind="ambulance", n=1)
    assert anything[0].id == seeded.unit("amb1")


def test_nearest_with_a_fresh_position(query_conn: QueryConn, seeded: Seeded) -> None:
    found = query_conn.run(nearest_units, near=MAASTRICHT, kind="district-nurse", n=5,
                           fresh_since=seeded.now - timedelta(minutes=5))
    assert seeded.unit("nurse2") in [u.id for u in found]
    assert seeded.unit("nurse1") not in [u.id for u in found]


def _history(query_conn: QueryConn, data: Seeded, resolution: str, definition: str =
             "hospital.seh.treatment_places", rollup: str = "sum",
             **scope: Any) -> list[tuple[Any, ...]]:
    points = query_conn.run(history, definition=definition, rollup=rollup, scope=Scope(**scope),
                            start=H0, end=H0 + timedelta(days=1), resolution=resolution)
    return [(p.at, p.value, p.locations) for p in points]


def test_history_raw_for_a_location(query_conn: QueryConn, seeded: Seeded) -> None:
    points = _history(query_conn, seeded, "raw", location_id=seeded.loc("utrecht"))
    assert [(p[1], p[2]) for p in points] == [(20, 1), (None, 0), (25, 1), (27, 1)]
    assert points[0][0] == H0 + timedelta(minutes=1, seconds=30)


def test_history_5m_for_a_location_takes_the_buckets_last_value(
    query_conn: QueryConn, seeded: Seeded,
) -> None:
    assert _history(query_conn, seeded, "5m", location_id=seeded.loc("leiden")) == [
        (H0, 12, 1), (H0 + timedelta(minutes=5), 14, 1), (H0 + timedelta(minutes=60), 16, 1)]


def test_history_5m_for_a_region_sums_the_locations(query_conn: QueryConn,
                                                    seeded: Seeded) -> None:
    both = ["west", "midden-nederland"]
    # 08:00 bucket: Leiden 12 + Utrecht not reported (its last) = 12 from one location.
    assert _history(query_conn, seeded, "5m", regions=both) == [
        (H0, 12, 1), (H0 + timedelta(minutes=5), 39, 2), (H0 + timedelta(minutes=60), 43, 2)]


def test_history_1h_and_1d(query_conn: QueryConn, seeded: Seeded) -> None:
    both = ["west", "midden-nederland"]
    assert _history(query_conn, seeded, "1h", regions=both) == [
        (H0, 39, 2), (H0 + timedelta(hours=1), 43, 2)]
    # A day's figure is the last of its hours per location (sum item), summed across them.
    assert _history(query_conn, seeded, "1d", regions=both) == [
        (H0.replace(hour=0), 43, 2)]


def test_history_latest_item_across_locations_takes_the_last_observed(
    query_conn: QueryConn, seeded: Seeded,
) -> None:
    both = ["west", "midden-nederland"]
    assert _history(query_conn, seeded, "1h", definition="hospital.seh.longest_boarder_wait",
                    rollup="latest", regions=both) == [(H0, 90, 2)]


def test_history_refuses_too_long_a_raw_range(query_conn: QueryConn, seeded: Seeded) -> None:
    with pytest.raises(ValueError, match="31 days"):
        query_conn.run(history, definition="hospital.seh.patients", rollup="sum",
                       scope=Scope(), start=H0, end=H0 + timedelta(days=40), resolution="raw")


def test_provider_deliveries_and_rejections(query_conn: QueryConn, seeded: Seeded) -> None:
    freshness = {"hospital.beds.ic.available": 15, "hospital.beds.ic.total": 1440,
                 "hospital.seh.patients": 15, "hospital.seh.nedocs_band": 15}
    rows = query_conn.run(provider_deliveries, freshness_minutes=freshness, sector="hospital")
    ours = next(r for r in rows if r.organization_id == seeded.org)
    assert (ours.locations, ours.sector) == (3, "hospital")
    assert ours.last_delivery == seeded.now - timedelta(minutes=1)
    # 10 latest figures; stale: Maastricht's SEH patients (60 min) and the unknown item.
    assert (ours.figures, ours.figures_fresh, ours.figures_not_reported) == (10, 8, 1)
    assert ours.items_reported == 5
    counts = query_conn.run(rejection_counts, since=seeded.now - timedelta(hours=24))
    mine = {(c.sector, c.reason): c.rejected for c in counts if c.provider == seeded.org}
    assert mine == {("hospital", "value"): 2, ("hospital", "structure"): 1}


def test_a_recorded_rejection_is_counted(query_conn: QueryConn, seeded: Seeded) -> None:
    query_conn.run(record_rejection, rejection=Rejection(
        at=seeded.now, provider=f"other-{seeded.suffix}", location_id=seeded.unit("amb1"),
        source_format="osmand", stage="api", reason="value"))
    counts = query_conn.run(rejection_counts, since=seeded.now - timedelta(minutes=1))
    assert [(c.sector, c.reason, c.rejected) for c in counts
            if c.provider == f"other-{seeded.suffix}"] == [("ambulance", "value", 1)]



def test_hourly_series_for_the_forecasts(query_conn: QueryConn, seeded: Seeded) -> None:
    """Per location and item, its hours after the start and each hour's last value."""
    with query_conn.connect() as conn:
        rows = hourly_series(conn, definitions=["hospital.seh.treatment_places"],
                             start=H0 - timedelta(hours=1), end=H0 + timedelta(hours=2))
    found = {(r.location_id, r.roaz_region): (r.hours, r.values) for r in rows
             if r.location_id in {seeded.loc(p) for p in PLACES}}
    assert found == {(seeded.loc("leiden"), "west"): ([1, 2], [14.0, 16.0]),
                     (seeded.loc("utrecht"), "midden-nederland"): ([1, 2], [25.0, 27.0])}


# --- the live state (live_location): the same answers as the per-figure query ---------------

LIVE_FILTERS: list[dict[str, Any]] = [
    {}, {"region": "west"}, {"regions": ["west", "midden-nederland"]}, {"sector": "hap"},
    {"item": "hospital.beds.ic"}, {"definitions": ["hospital.seh.patients"]},
    {"near": Point(52.1601, 4.4970), "radius_km": 60},
    {"near": Point(52.1601, 4.4970), "item": "hospital.seh"},
]


def _figures_of(locations: list[LiveLocation], data: Seeded) -> list[tuple[Any, ...]]:
    return [(loc.location_id, loc.location_name, loc.organization_id, loc.sector,
             loc.roaz_region, loc.latitude, loc.longitude, loc.distance_km, f.definition,
             f.definition_version, f.value, f.value_text, f.not_reported_reason, f.observed_at)
            for loc in _ours(locations, data) for f in loc.figures]


def _rows_of(rows: list[LatestFigure], data: Seeded) -> list[tuple[Any, ...]]:
    return [(r.location_id, r.location_name, r.organization_id, r.sector, r.roaz_region,
             r.latitude, r.longitude, r.distance_km, r.definition, r.definition_version, r.value,
             r.value_text, r.not_reported_reason, r.observed_at) for r in _ours(rows, data)]


def _same_as_per_figure(query_conn: QueryConn, data: Seeded, **filters: Any) -> None:
    live = _figures_of(query_conn.run(live_locations, **filters), data)
    assert live == _rows_of(query_conn.run(live_availability, **filters), data), filters
    assert live or filters.get("sector") == "hap", filters


async def _catch_up_all(conn: psycopg.AsyncConnection[Any]) -> int:
    taken = 0
    while (done := await catch_up(conn, max_marks=100)) > 0:
        taken += done
    return taken


def _waiting(query_conn: QueryConn, data: Seeded) -> int:
    with query_conn.connect() as conn:
        row = conn.execute("SELECT count(*) FROM live_location_pending, unnest(location_ids) s"
                           " WHERE s LIKE %s", (f"%-{data.suffix}",)).fetchone()
    return int(row[0]) if row else 0


def test_live_locations_answer_as_the_per_figure_query_before_and_after_the_refresher(
    query_conn: QueryConn, seeded: Seeded,
) -> None:
    # Written with plain SQL: marked, not refreshed, so the live query computes them itself.
    for filters in LIVE_FILTERS:
        _same_as_per_figure(query_conn, seeded, **filters)
    query_conn.run(_catch_up_all)
    assert _waiting(query_conn, seeded) == 0
    for filters in LIVE_FILTERS:  # now from the documents
        _same_as_per_figure(query_conn, seeded, **filters)


def test_live_state_follows_inserts_updates_and_deletes(query_conn: QueryConn,
                                                        seeded: Seeded) -> None:
    # A location of its own (another organisation), so the other tests' counts stay as they are.
    place, org = seeded.loc("live"), f"sq-live-org-{seeded.suffix}"
    with query_conn.connect() as conn:
        conn.execute("INSERT INTO organization (id, name, resource) VALUES (%s, 'Live', '{}')",
                     (org,))
        conn.execute("INSERT INTO location (id, organization_id, name, sector, roaz_region,"
                     " latitude, longitude, resource) VALUES (%s, %s, 'Live', 'hospital',"
                     " 'oost', 52.2, 6.1, '{}')", (place, org))
        add_observation(conn, place, "hospital.beds.ic.available",
                        seeded.now - timedelta(minutes=3), 4)
        add_observation(conn, place, "hospital.seh.status", seeded.now - timedelta(minutes=2),
                        "open")

    def figures() -> list[tuple[str, Any]]:
        found = [loc for loc in query_conn.run(live_locations, region="oost")
                 if loc.location_id == place]
        return [(f.definition, f.value if f.value_text is None else f.value_text)
                for loc in found for f in loc.figures]

    assert figures() == [("hospital.beds.ic.available", 4), ("hospital.seh.status", "open")]
    query_conn.run(_catch_up_all)
    assert figures() == [("hospital.beds.ic.available", 4), ("hospital.seh.status", "open")]
    # A newer figure: right away (marked), and after the refresher (from the document).
    with query_conn.connect() as conn:
        add_observation(conn, place, "hospital.seh.status", seeded.now - timedelta(minutes=1),
                        "stop")
    assert figures()[1] == ("hospital.seh.status", "stop")
    query_conn.run(_catch_up_all)
    assert figures()[1] == ("hospital.seh.status", "stop")
    with query_conn.connect() as conn:
        conn.execute("DELETE FROM latest_observation WHERE location_id = %s"
                     " AND definition = 'hospital.seh.status'", (place,))
    assert figures() == [("hospital.beds.ic.available", 4)]
    with query_conn.connect() as conn:
        conn.execute("DELETE FROM latest_observation WHERE location_id = %s", (place,))
    assert figures() == []
    query_conn.run(_catch_up_all)
    assert figures() == []
    with query_conn.connect() as conn:
        assert conn.execute("SELECT count(*) FROM live_location WHERE location_id = %s",
                            (place,)).fetchone() == (0,)
