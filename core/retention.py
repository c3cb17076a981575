"""How long the platform keeps each kind of history, and the earliest time any figure may name.

Declared once: storage applies it (`storage/retention.py` on plain PostgreSQL; on TimescaleDB
the policies of migration 0005, which say the same), and the adapters refuse a figure or
position observed before the history kept — stored, it would be deleted by the next retention
run, and it could never be shown as current.
"""

from __future__ import annotations

from datetime import timedelta

OBSERVATION_RETENTION = timedelta(days=90)
POSITION_RETENTION = timedelta(days=30)
ROLLUP_5M_RETENTION = timedelta(days=365)
# No timestamp before this year is believed: PostgreSQL can store year 1, but a time before
# 1900 is a default value or a typo, and years BC cannot be read back at all.
EARLIEST_YEAR = 1900
