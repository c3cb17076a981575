-- TimescaleDB path of 0005_timeseries (defaults documented there and in storage/README.md).

-- Hypertables in 1-day chunks. The primary keys already include observed_at, so upserts on the
-- natural keys stay idempotent; existing rows move into chunks (migrate_data).
SELECT create_hypertable('observation', by_range('observed_at', INTERVAL '1 day'),
                         create_default_indexes => false, migrate_data => true);
SELECT create_hypertable('position', by_range('observed_at', INTERVAL '1 day'),
                         create_default_indexes => false, migrate_data => true);

-- Roll-ups as real-time continuous aggregates: materialised by the refresh policies, with the
-- not yet materialised tail computed from the raw rows at query time.
CREATE MATERIALIZED VIEW observation_5m
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT location_id,
       definition,
       time_bucket(INTERVAL '5 minutes', observed_at) AS bucket,
       last(value, observed_at)      AS last_value,
       last(value_text, observed_at) AS last_value_text,
       max(observed_at)              AS last_observed_at,
       min(value)                    AS min_value,
       max(value)                    AS max_value,
       sum(value)                    AS sum_value,
       count(*)                      AS samples
FROM observation
GROUP BY location_id, definition, time_bucket(INTERVAL '5 minutes', observed_at)
WITH NO DATA;

CREATE MATERIALIZED VIEW observation_1h
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT location_id,
       definition,
       time_bucket(INTERVAL '1 hour', observed_at) AS bucket,
       last(value, observed_at)      AS last_value,
       last(value_text, observed_at) AS last_value_text,
       max(observed_at)              AS last_observed_at,
       min(value)                    AS min_value,
       max(value)                    AS max_value,
       sum(value)                    AS sum_value,
       count(*)                      AS samples
FROM observation
GROUP BY location_id, definition, time_bucket(INTERVAL '1 hour', observed_at)
WITH NO DATA;

COMMENT ON VIEW observation_5m IS
    '5-minute roll-up of observation, kept 1 year. See storage/README.md.';
COMMENT ON VIEW observation_1h IS
    'Hourly roll-up of observation, kept for good. See storage/README.md.';

-- A refresh re-materialises only what changed (late corrections included) inside its window;
-- the window stays well inside the raw retention so dropped raw chunks never empty a roll-up.
SELECT add_continuous_aggregate_policy('observation_5m', start_offset => INTERVAL '30 days',
    end_offset => INTERVAL '5 minutes', schedule_interval => INTERVAL '5 minutes');
SELECT add_continuous_aggregate_policy('observation_1h', start_offset => INTERVAL '30 days',
    end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '30 minutes');

-- Compression: history queries filter on location and item, so segment by them.
ALTER TABLE observation SET (timescaledb.compress,
    timescaledb.compress_segmentby = 'location_id, definition',
    timescaledb.compress_orderby = 'observed_at DESC');
SELECT add_compression_policy('observation', compress_after => INTERVAL '7 days');
ALTER TABLE position SET (timescaledb.compress,
    timescaledb.compress_segmentby = 'unit_id',
    timescaledb.compress_orderby = 'observed_at DESC');
SELECT add_compression_policy('position', compress_after => INTERVAL '1 day');

-- Retention: whole chunks older than these are dropped. observation_1h is kept for good.
SELECT add_retention_policy('observation', drop_after => INTERVAL '90 days');
SELECT add_retention_policy('position', drop_after => INTERVAL '30 days');
SELECT add_retention_policy('observation_5m', drop_after => INTERVAL '1 year');
