-- Foundation: facilities, raw messages kept for replay, observations and their latest state.

CREATE TABLE organization (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    ura         text,
    agb         text,
    resource    jsonb NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE location (
    id               text PRIMARY KEY,
    organization_id  text NOT NULL REFERENCES organization (id),
    name             text NOT NULL,
    sector           text NOT NULL,
    roaz_region      text NOT NULL,
    latitude         double precision NOT NULL,
    longitude        double precision NOT NULL,
    resource         jsonb NOT NULL,
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX location_region_idx ON location (roaz_region);

-- Every accepted provider message, exactly as received: the source for replays.
CREATE TABLE raw_message (
    message_id     uuid PRIMARY KEY,
    received_at    timestamptz NOT NULL,
    source_format  text NOT NULL,
    sector         text NOT NULL,
    provider       text NOT NULL,
    location_id    text NOT NULL,
    payload        jsonb NOT NULL
);

-- One row per location x item x observed time. value NULL means "not reported", never 0.
CREATE TABLE observation (
    location_id          text NOT NULL,
    definition           text NOT NULL,
    observed_at          timestamptz NOT NULL,
    definition_version   integer NOT NULL,
    value                double precision,
    not_reported_reason  text,
    received_at          timestamptz NOT NULL,
    stored_at            timestamptz NOT NULL DEFAULT now(),
    provider             text NOT NULL,
    source_format        text NOT NULL,
    raw_message_id       uuid NOT NULL,
    PRIMARY KEY (location_id, definition, observed_at),
    CHECK ((value IS NULL) = (not_reported_reason IS NOT NULL))
);
CREATE INDEX observation_observed_at_idx ON observation (observed_at);

-- The newest observation per location and item, maintained on write: live queries never
-- scan history.
CREATE TABLE latest_observation (
    location_id          text NOT NULL,
    definition           text NOT NULL,
    observed_at          timestamptz NOT NULL,
    definition_version   integer NOT NULL,
    value                double precision,
    not_reported_reason  text,
    received_at          timestamptz NOT NULL,
    provider             text NOT NULL,
    source_format        text NOT NULL,
    raw_message_id       uuid NOT NULL,
    PRIMARY KEY (location_id, definition)
);
