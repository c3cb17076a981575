-- Facility information with validity periods. The current state stays in organization /
-- location / healthcare_service; every change is also kept in facility_version, with the
-- period in which that version was valid (valid_to NULL: still valid).

ALTER TABLE location ADD COLUMN veiligheidsregio text;
CREATE INDEX location_veiligheidsregio_idx ON location (veiligheidsregio);

CREATE TABLE healthcare_service (
    id               text PRIMARY KEY,
    organization_id  text NOT NULL REFERENCES organization (id),
    location_ids     text[] NOT NULL,
    name             text NOT NULL,
    resource         jsonb NOT NULL,
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX healthcare_service_locations_idx ON healthcare_service USING gin (location_ids);

CREATE TABLE facility_version (
    resource_type  text NOT NULL,
    resource_id    text NOT NULL,
    version        integer NOT NULL,
    valid_from     timestamptz NOT NULL,
    valid_to       timestamptz,
    resource       jsonb NOT NULL,
    PRIMARY KEY (resource_type, resource_id, version),
    CHECK (valid_to IS NULL OR valid_to >= valid_from)
);
CREATE UNIQUE INDEX facility_version_current_idx
    ON facility_version (resource_type, resource_id) WHERE valid_to IS NULL;
