"""Migration files: which run on which storage path, and in what order."""

from __future__ import annotations

from pathlib import Path

import pytest

from storage import migrate
from storage.migrate import migration_name, ordered, pending, variant_of


def test_variant_of_names_the_path_a_file_is_for() -> None:
    assert variant_of(Path("0005_timeseries.sql")) is None
    assert variant_of(Path("0005_timeseries.timescale.sql")) == "timescale"
    assert variant_of(Path("0005_timeseries.plain.sql")) == "plain"
    with pytest.raises(ValueError, match="0005_timeseries.oracle.sql"):
        variant_of(Path("0005_timeseries.oracle.sql"))


def test_a_variant_runs_right_after_its_common_file() -> None:
    files = [Path(n) for n in (
        "0006_rejections.sql", "0005_timeseries.timescale.sql", "0005_timeseries.plain.sql",
        "0005_timeseries.sql", "0004_mobile_units_positions.sql", "0007_only.plain.sql",
    )]
    assert [p.name for p in ordered(files)] == [
        "0004_mobile_units_positions.sql", "0005_timeseries.sql",
        "0005_timeseries.timescale.sql", "0005_timeseries.plain.sql", "0006_rejections.sql",
        "0007_only.plain.sql",
    ]


def test_each_path_runs_the_common_files_and_only_its_own_variants() -> None:
    plain = [p.name for p in pending(set(), "plain")]
    timescale = [p.name for p in pending(set(), "timescale")]
    assert "0005_timeseries.plain.sql" in plain and "0005_timeseries.timescale.sql" in timescale
    assert not any(".timescale." in name for name in plain)
    assert not any(".plain." in name for name in timescale)
    common = [n for n in plain if variant_of(Path(n)) is None]
    assert common == [n for n in timescale if variant_of(Path(n)) is None]
    assert common[:4] == ["0001_foundation.sql", "0002_value_types.sql",
                          "0003_facility_versions.sql", "0004_mobile_units_positions.sql"]


def test_applied_migrations_are_skipped_by_name() -> None:
    applied = {migration_name(p) for p in pending(set(), "plain")}
    assert "0005_timeseries.plain" in applied and "0005_timeseries" in applied
    assert pending(applied, "plain") == []
    assert [p.name for p in pending(applied, "timescale")] == [
        p.name for p in ordered(migrate.MIGRATIONS.glob("*.timescale.sql"))]
