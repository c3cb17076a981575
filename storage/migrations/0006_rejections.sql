-- The rejection log: every message the platform refused once it knew whom it came from, for
-- the administrators' provider overview (rejections in the last 24 h per provider and reason).
-- The counter zc_messages_rejected_total says how many; this table says who and why.

CREATE TABLE rejection (
    at             timestamptz NOT NULL,
    provider       text NOT NULL,
    location_id    text NOT NULL,
    source_format  text NOT NULL,
    stage          text NOT NULL,
    reason         text NOT NULL
);
CREATE INDEX rejection_at_idx ON rejection (at);

-- A provider's last delivery is the newest raw message of its locations: found by index, not
-- by scanning the replay archive.
CREATE INDEX raw_message_location_received_idx ON raw_message (location_id, received_at);
