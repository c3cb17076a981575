-- Mobile units (ambulances, HAP visit cars, district nurses), their positions, and the mapping
-- tables some providers' formats need (e.g. LPZ CSV department codes -> bed categories).

CREATE TABLE mobile_unit (
    id                text PRIMARY KEY,
    kind              text NOT NULL CHECK (kind IN ('ambulance', 'hap-visit-car', 'district-nurse')),
    organization_id   text NOT NULL REFERENCES organization (id),
    label             text NOT NULL,
    roaz_region       text NOT NULL,
    veiligheidsregio  text,
    capabilities      text[] NOT NULL DEFAULT '{}',
    updated_at        timestamptz NOT NULL DEFAULT now()
);

-- Every position report, once: a repeated report (same unit, same moment) is a duplicate.
CREATE TABLE position (
    unit_id        text NOT NULL,
    observed_at    timestamptz NOT NULL,
    latitude       double precision NOT NULL,
    longitude      double precision NOT NULL,
    accuracy_m     double precision,
    speed_kmh      double precision,
    heading_deg    double precision,
    received_at    timestamptz NOT NULL,
    source_format  text NOT NULL,
    PRIMARY KEY (unit_id, observed_at)
);
CREATE INDEX position_observed_at_idx ON position (observed_at);

CREATE TABLE latest_position (
    unit_id        text PRIMARY KEY,
    observed_at    timestamptz NOT NULL,
    latitude       double precision NOT NULL,
    longitude      double precision NOT NULL,
    accuracy_m     double precision,
    speed_kmh      double precision,
    heading_deg    double precision,
    received_at    timestamptz NOT NULL,
    source_format  text NOT NULL
);

CREATE TABLE source_mapping (
    source_format  text NOT NULL,
    location_id    text NOT NULL REFERENCES location (id),
    mapping        jsonb NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source_format, location_id)
);
