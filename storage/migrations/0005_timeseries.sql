-- Time series: observations and positions partitioned by time, 5-minute and hourly roll-ups,
-- compression and retention. Two variants follow this file (storage/migrate.py runs the one for
-- the database's path): 0005_timeseries.timescale.sql (TimescaleDB: hypertables, continuous
-- aggregates, policies) and 0005_timeseries.plain.sql (plain PostgreSQL: roll-up tables that
-- storage/rollups.py keeps exact on every write, retention by storage/retention.py).
--
-- Defaults (both paths; storage/README.md says how to change them):
--   observation       raw history kept 90 days; compressed after 7 days (timescale)
--   position          raw history kept 30 days; compressed after 1 day (timescale)
--   observation_5m    kept 1 year
--   observation_1h    kept for good
--   latest_observation, latest_position: the current state, never expired

-- The same defaults, recorded where a DBA looks first.
COMMENT ON TABLE observation IS
    'Observation history. Kept 90 days (timescale: compressed after 7 days). See storage/README.md.';
COMMENT ON TABLE position IS
    'Position history. Kept 30 days (timescale: compressed after 1 day). See storage/README.md.';
COMMENT ON TABLE latest_observation IS
    'Newest observation per location and item, maintained on write; never expired.';
COMMENT ON TABLE latest_position IS
    'Newest position per unit, maintained on write; never expired.';
