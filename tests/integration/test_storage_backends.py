"""The same writes give the same answers on plain PostgreSQL and on TimescaleDB.

Each test runs on both storage paths (`storage_backend`). Observations go through the platform's
own writer (`upsert_observations`), so the plain path's roll-up maintenance and the TimescaleDB
continuous aggregates are both checked against roll-ups computed here in Python.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from core.messages import Observation, Position
from storage.observations import stored_value, upsert_observations
from storage.paths import current_path
from storage.positions import upsert_positions
from storage.retention import apply_retention
from storage.rollups import refresh_dirty
from tests.backends import Backend

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
RECEIVED = datetime(2026, 11, 20, 11, 0, tzinfo=UTC)
MESSAGE = uuid.UUID("00000000-0000-4000-8000-000000000005")
ROLLUP_COLUMNS = ("location_id, definition, bucket, last_value, last_value_text, last_observed_at,"
                  " min_value, max_value, sum_value, samples")
WIDTHS = {"observation_5m": 300, "observation_1h": 3600}

Row = tuple[Any, ...]


def observation(location: str, definition: str, minutes: float,
                value: float | bool | str | None, received: datetime = RECEIVED,
                start: datetime = T0) -> Observation:
    """An observation `minutes` after `start`; value None: not reported."""
    unit = {"hospital.beds.ic.available": "{bed}", "hap.uitloop.phone.longest_wait": "s",
            "ambulance.vehicle.status": "code", "ggz.doctor.available": "1"}[definition]
    return Observation(
        definition=definition, definition_version=1, location_id=location, value=value,
        unit=unit, not_reported_reason="temp-unknown" if value is None else None,
        observed_at=start + timedelta(minutes=minutes), received_at=received,
        provider="test", source_format="json/test", raw_message_id=MESSAGE)


def batches(a: str, b: str, start: datetime = T0) -> list[list[Observation]]:
    """Two batches over two locations: sum and latest items, numbers, codes, booleans, a
    "not reported", several 5-minute and hourly buckets, and a later-received correction."""
    ic, wait = "hospital.beds.ic.available", "hap.uitloop.phone.longest_wait"
    status, doctor = "ambulance.vehicle.status", "ggz.doctor.available"
    later = RECEIVED + (start - T0)

    def _obs(location: str, definition: str, minutes: float, value: float | bool | str | None,
             received: datetime = later) -> Observation:
        return observation(location, definition, minutes, value, received, start)

    first = [
        _obs(a, ic, 1, 5), _obs(a, ic, 3, 7), _obs(a, ic, 4.99, 6), _obs(a, ic, 5, 4),
        _obs(a, ic, 31, None), _obs(a, ic, 70, 3), _obs(a, ic, 119.99, 2),
        _obs(b, ic, 2, 10), _obs(b, ic, 7, 12),
        _obs(a, wait, 0, 120), _obs(a, wait, 9, 95.5), _obs(a, wait, 120, 30),
        _obs(b, status, 1, "2"), _obs(b, status, 4, "1"),
        _obs(b, doctor, 20, True), _obs(b, doctor, 22, False),
    ]
    second = [
        _obs(a, ic, 3, 8, received=later + timedelta(minutes=5)),  # correction: wins
        _obs(a, ic, 1, 99, received=later - timedelta(minutes=5)),  # older: ignored
        _obs(a, ic, 121, 1), _obs(b, ic, 8, None), _obs(b, status, 3, "4"),
    ]
    return [first, second]


def stored(observations: Sequence[Observation]) -> dict[tuple[str, str, datetime], Observation]:
    """What `observation` holds after the batches: per key, the last received."""
    kept: dict[tuple[str, str, datetime], Observation] = {}
    for o in observations:
        key = (o.location_id, o.definition, o.observed_at)
        if key not in kept or kept[key].received_at < o.received_at:
            kept[key] = o
    return kept


def bucket_of(moment: datetime, seconds: int) -> datetime:
    """Start of the UTC-aligned interval of `seconds` holding `moment`."""
    epoch = moment.timestamp()
    return datetime.fromtimestamp(epoch - epoch % seconds, UTC)


def expected_rollup(observations: Sequence[Observation], seconds: int) -> list[Row]:
    """The roll-up rows, computed independently of either storage path."""
    groups: dict[tuple[str, str, datetime], list[Observation]] = {}
    for o in stored(observations).values():
        groups.setdefault((o.location_id, o.definition, bucket_of(o.observed_at, seconds)),
                          []).append(o)
    rows = []
    for (location, definition, bucket), members in sorted(groups.items()):
        last = max(members, key=lambda o: o.observed_at)
        numbers = [n for n, _ in (stored_value(o.value) for o in members) if n is not None]
        rows.append((location, definition, bucket, *stored_value(last.value), last.observed_at,
                     min(numbers, default=None), max(numbers, default=None),
                     sum(numbers) if numbers else None, len(members)))
    return rows


def expected_latest(observations: Sequence[Observation]) -> list[Row]:
    """latest_observation: per location and item, the newest observed."""
    newest: dict[tuple[str, str], Observation] = {}
    for o in stored(observations).values():
        key = (o.location_id, o.definition)
        if key not in newest or newest[key].observed_at < o.observed_at:
            newest[key] = o
    return [(loc, d, o.observed_at, *stored_value(o.value), o.not_reported_reason)
            for (loc, d), o in sorted(newest.items())]


async def _write(backend: Backend, batch: Sequence[Observation]) -> None:
    conn = await backend.connect_async(autocommit=True)
    try:
        await conn.execute("SET TimeZone = 'Europe/Amsterdam'")  # must not change any bucket
        async with conn.transaction():
            # PGlite (the TimescaleDB backend here) cannot take COPY FROM STDIN.
            await upsert_observations(conn, batch, copy=backend.name == "plain")
    finally:
        await conn.close()


def _in_utc(value: Any) -> Any:
    # Aware datetimes in different zones compare unequal inside a DST fold (PEP 495).
    return value.astimezone(UTC) if isinstance(value, datetime) else value


def _rows(backend: Backend, query: str, locations: Sequence[str]) -> list[Row]:
    with backend.connect() as conn:
        conn.execute("SET TimeZone = 'Europe/Amsterdam'")  # answers must not depend on it
        rows = conn.execute(query, (list(locations),)).fetchall()
    return [tuple(_in_utc(v) for v in row) for row in rows]


def rollup_rows(backend: Backend, relation: str, locations: Sequence[str]) -> list[Row]:
    """A roll-up's rows for `locations`, ordered by location, item and bucket."""
    return _rows(backend, f"SELECT {ROLLUP_COLUMNS} FROM {relation}"
                 " WHERE location_id = ANY(%s) ORDER BY location_id, definition, bucket",
                 locations)


def latest_rows(backend: Backend, locations: Sequence[str]) -> list[Row]:
    """latest_observation's rows for `locations`."""
    return _rows(backend, "SELECT location_id, definition, observed_at, value, value_text,"
                 " not_reported_reason FROM latest_observation WHERE location_id = ANY(%s)"
                 " ORDER BY location_id, definition", locations)


def snapshot(backend: Backend, locations: Sequence[str]) -> dict[str, list[Row]]:
    """Everything the writes maintain, for `locations`."""
    answer = {relation: rollup_rows(backend, relation, locations) for relation in WIDTHS}
    answer["latest_observation"] = latest_rows(backend, locations)
    return answer


def materialise(backend: Backend) -> None:
    """What the roll-up refreshers do on their own schedule.

    TimescaleDB: the refresh policies (PGlite runs no jobs); a continuous aggregate computes
    rows past its watermark at query time, rows below it change only when a refresh runs.
    Plain: the stream worker's refresher of the buckets the writes touched.
    """
    if backend.name == "plain":
        asyncio.run(_refresh_plain(backend))
        return
    with backend.connect(autocommit=True) as conn:
        for relation in WIDTHS:
            conn.execute(f"CALL refresh_continuous_aggregate('{relation}', NULL, NULL)")


async def _refresh_plain(backend: Backend) -> None:
    conn = await backend.connect_async()
    try:
        while True:
            async with conn.transaction():
                if await refresh_dirty(conn) == 0:
                    return
    finally:
        await conn.close()


def answers(backend: Backend, locations: Sequence[str]) -> dict[str, list[Row]]:
    """The snapshot once the roll-ups are up to date on either path."""
    materialise(backend)
    return snapshot(backend, locations)


def watermark(backend: Backend) -> datetime:
    """A start for rows past observation_5m's materialised ones (TimescaleDB watermark)."""
    if backend.name != "timescale":
        return T0
    with backend.connect() as conn:
        row = conn.execute(
            "SELECT greatest(_timescaledb_functions.to_timestamp("
            " _timescaledb_functions.cagg_watermark(mat_hypertable_id)), %s)"
            " FROM _timescaledb_catalog.continuous_agg WHERE user_view_name = 'observation_5m'",
            (T0,)).fetchone()
    assert row is not None
    start: datetime = row[0].astimezone(UTC)
    return start + timedelta(days=1)


def test_the_backend_runs_its_storage_path(storage_backend: Backend) -> None:
    with storage_backend.connect() as conn:
        assert current_path(conn) == storage_backend.name


def _expected(observations: Sequence[Observation]) -> dict[str, list[Row]]:
    expected = {relation: expected_rollup(observations, seconds)
                for relation, seconds in WIDTHS.items()}
    expected["latest_observation"] = expected_latest(observations)
    return expected


def test_rollups_and_latest_state_match_on_both_paths(storage_backend: Backend) -> None:
    suffix = uuid.uuid4().hex[:8]
    a, b = f"loc-a-{suffix}", f"loc-b-{suffix}"
    first, second = batches(a, b)
    expected = _expected(first + second)

    asyncio.run(_write(storage_backend, first))
    asyncio.run(_write(storage_backend, second))
    assert answers(storage_backend, [a, b]) == expected

    # A replay of both batches, in either order, changes nothing.
    asyncio.run(_write(storage_backend, second))
    asyncio.run(_write(storage_backend, first))
    assert answers(storage_backend, [a, b]) == expected


def test_recent_rows_are_rolled_up_before_any_refresh(storage_backend: Backend) -> None:
    """TimescaleDB's real-time aggregation: past the watermark, nothing waits for a refresh.
    On plain PostgreSQL the newest buckets wait for the refresher (live figures never do)."""
    suffix = uuid.uuid4().hex[:8]
    a, b = f"loc-e-{suffix}", f"loc-f-{suffix}"
    first, second = batches(a, b, start=watermark(storage_backend))
    asyncio.run(_write(storage_backend, first))
    asyncio.run(_write(storage_backend, second))
    expected = _expected(first + second)
    if storage_backend.name == "plain":
        before = snapshot(storage_backend, [a, b])
        assert before["latest_observation"] == expected["latest_observation"]
        assert before["observation_5m"] == []  # waiting for the refresher
        materialise(storage_backend)
    assert snapshot(storage_backend, [a, b]) == expected


def test_a_batch_holding_one_key_twice_keeps_the_last_received(
    storage_backend: Backend,
) -> None:
    location = f"loc-h-{uuid.uuid4().hex[:8]}"
    ic = "hospital.beds.ic.available"
    batch = [observation(location, ic, 1, 5, received=RECEIVED + timedelta(minutes=2)),
             observation(location, ic, 1, 9, received=RECEIVED),
             observation(location, ic, 0, 3, received=RECEIVED + timedelta(minutes=9))]
    asyncio.run(_write(storage_backend, batch))
    answer = answers(storage_backend, [location])
    assert answer["latest_observation"] == [(location, ic, T0 + timedelta(minutes=1), 5.0,
                                            None, None)]
    assert answer == _expected(batch)


def test_a_correction_after_materialising_reaches_the_rollups(storage_backend: Backend) -> None:
    location = f"loc-c-{uuid.uuid4().hex[:8]}"
    ic = "hospital.beds.ic.available"
    original = [observation(location, ic, 1, 5), observation(location, ic, 2, 6)]
    correction = [observation(location, ic, 2, 9, received=RECEIVED + timedelta(hours=1))]
    asyncio.run(_write(storage_backend, original))
    materialise(storage_backend)
    asyncio.run(_write(storage_backend, correction))
    rows = answers(storage_backend, [location])["observation_5m"]
    assert rows == expected_rollup(original + correction, 300)
    assert rows[0][3] == 9.0 and rows[0][8] == 14.0


def test_buckets_are_utc_aligned_like_time_bucket(storage_backend: Backend) -> None:
    location = f"loc-d-{uuid.uuid4().hex[:8]}"
    ic = "hospital.beds.ic.available"
    # Odd minutes across the end of summer time in the Netherlands (2026-10-25 01:00 UTC).
    moments = [datetime(2026, 10, 25, 0, 57, 13, tzinfo=UTC) + timedelta(minutes=7 * i)
               for i in range(12)]
    batch = [observation(location, ic, 0, i).model_copy(update={"observed_at": m})
             for i, m in enumerate(moments)]
    asyncio.run(_write(storage_backend, batch))
    materialise(storage_backend)
    for relation, seconds in WIDTHS.items():
        buckets = [row[2] for row in rollup_rows(storage_backend, relation, [location])]
        assert buckets == sorted({bucket_of(m, seconds) for m in moments})


def test_positions_are_stored_once_on_both_paths(storage_backend: Backend) -> None:
    unit = f"amb-{uuid.uuid4().hex[:8]}"
    positions = [
        Position(unit_id=unit, unit_kind="ambulance", provider="test", latitude=52.09 + i / 100,
                 longitude=5.12, speed_kmh=60.0, observed_at=T0 + timedelta(seconds=15 * i),
                 received_at=RECEIVED, source_format="json/test")
        for i in range(4)
    ]

    async def write(batch: Sequence[Position]) -> int:
        conn = await storage_backend.connect_async()
        try:
            async with conn.transaction():
                return await upsert_positions(conn, batch)
        finally:
            await conn.close()

    assert asyncio.run(write(positions)) == 4
    assert asyncio.run(write(positions)) == 0  # a replay adds nothing
    with storage_backend.connect() as conn:
        history = conn.execute("SELECT count(*) FROM position WHERE unit_id = %s",
                               (unit,)).fetchone()
        latest = conn.execute("SELECT observed_at, latitude FROM latest_position"
                              " WHERE unit_id = %s", (unit,)).fetchone()
    assert history == (4,)
    assert latest == (positions[-1].observed_at, positions[-1].latitude)


def test_retention_on_plain_postgresql_matches_the_policies(storage_backend: Backend) -> None:
    location = f"loc-g-{uuid.uuid4().hex[:8]}"
    asyncio.run(_write(storage_backend, [
        observation(location, "hospital.beds.ic.available", 1, 5)]))
    materialise(storage_backend)
    counts = ("SELECT (SELECT count(*) FROM observation WHERE location_id = %(l)s),"
              " (SELECT count(*) FROM observation_5m WHERE location_id = %(l)s),"
              " (SELECT count(*) FROM observation_1h WHERE location_id = %(l)s)")
    with storage_backend.connect() as conn, conn.transaction(force_rollback=True):
        deleted = apply_retention(conn, T0 + timedelta(days=91))
        left = conn.execute(counts, {"l": location}).fetchone()
    if storage_backend.name == "timescale":
        # TimescaleDB's own policies drop the time series; the audit trail is kept apart.
        assert (set(deleted), left) == ({"audit_event"}, (1, 1, 1))
    else:
        assert deleted["observation"] >= 1 and set(deleted) == {
            "audit_event", "observation", "position", "observation_5m"}
        assert left == (0, 1, 1)  # raw history gone, roll-ups kept
