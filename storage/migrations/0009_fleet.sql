-- The latest LSIV status of every ambulance, from which the fleet figures of its RAV region are
-- derived (streams/lsiv.py, adapters/ambulance/fleet.py). Kept here rather than in a stream
-- table: it survives a broker that loses its log, and needs no stream library internals.
CREATE TABLE fleet_vehicle (
    vehicle_id    text PRIMARY KEY,
    rav_region    text NOT NULL,
    vehicle_type  text NOT NULL,
    status        text NOT NULL,
    status_at     timestamptz NOT NULL
);
CREATE INDEX fleet_vehicle_region_idx ON fleet_vehicle (rav_region);
