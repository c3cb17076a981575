-- Plain path: the roll-ups are refreshed off the write transaction. The store stage records
-- which 5-minute buckets a batch touched; the refresher (streams) takes them, recomputes those
-- buckets of observation_5m and their hours of observation_1h from `observation`, and deletes
-- them, in one transaction. Recomputing keeps the roll-ups exact after corrections and replays,
-- like TimescaleDB's continuous aggregates; SKIP LOCKED lets several workers share the queue.
CREATE TABLE rollup_dirty (
    location_id  text NOT NULL,
    definition   text NOT NULL,
    bucket       timestamptz NOT NULL,
    PRIMARY KEY (location_id, definition, bucket)
);
