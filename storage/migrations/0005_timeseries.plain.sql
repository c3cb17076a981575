-- Plain PostgreSQL path of 0005_timeseries (defaults documented there and in storage/README.md).
-- The roll-ups are tables with the same names and columns as the TimescaleDB continuous
-- aggregates. storage/rollups.py recomputes the buckets every observation batch touches, in the
-- batch's transaction; buckets are aligned like time_bucket's (UTC, origin 2000-01-01), and
-- storage/retention.py deletes what the TimescaleDB retention policies would drop.

CREATE TABLE observation_5m (
    location_id       text NOT NULL,
    definition        text NOT NULL,
    bucket            timestamptz NOT NULL,
    last_value        double precision,
    last_value_text   text,
    last_observed_at  timestamptz NOT NULL,
    min_value         double precision,
    max_value         double precision,
    sum_value         double precision,
    samples           bigint NOT NULL,
    PRIMARY KEY (location_id, definition, bucket)
);
CREATE INDEX observation_5m_bucket_idx ON observation_5m (bucket);

CREATE TABLE observation_1h (LIKE observation_5m INCLUDING ALL);

COMMENT ON TABLE observation_5m IS '5-minute roll-up of observation, kept 1 year. See storage/README.md.';
COMMENT ON TABLE observation_1h IS 'Hourly roll-up of observation, kept for good. See storage/README.md.';

-- History stored before this migration gets its roll-ups now; from here on every write keeps
-- them exact (storage/rollups.py, which uses the same expressions).
INSERT INTO observation_5m
SELECT location_id, definition,
       date_bin(INTERVAL '5 minutes', observed_at, TIMESTAMPTZ '2000-01-01 00:00:00+00'),
       (array_agg(value ORDER BY observed_at DESC))[1],
       (array_agg(value_text ORDER BY observed_at DESC))[1],
       max(observed_at), min(value), max(value), sum(value), count(*)
FROM observation GROUP BY 1, 2, 3;

INSERT INTO observation_1h
SELECT location_id, definition,
       date_bin(INTERVAL '1 hour', observed_at, TIMESTAMPTZ '2000-01-01 00:00:00+00'),
       (array_agg(value ORDER BY observed_at DESC))[1],
       (array_agg(value_text ORDER BY observed_at DESC))[1],
       max(observed_at), min(value), max(value), sum(value), count(*)
FROM observation GROUP BY 1, 2, 3;
