-- Trust: the clients that may call the API, the device keys of mobile units, and the audit
-- trail of every act (docs/security.md).

-- OAuth 2.0 clients (client credentials grant). The secret is shown once at creation and kept
-- only as an argon2id hash. A revoked client is refused on its next request.
CREATE TABLE api_client (
    client_id     text PRIMARY KEY,
    secret_hash   text NOT NULL,
    organization  text NOT NULL,
    role          text NOT NULL CHECK (role IN ('provider', 'zcv', 'admin')),
    regions       text[] NOT NULL DEFAULT '{}',
    national      boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    revoked_at    timestamptz
);
CREATE INDEX api_client_organization_idx ON api_client (organization);

-- A tracker's key for one mobile unit, sent as `?key=` (Traccar Client can only be given a
-- URL). Kept as SHA-256: the keys are 256 random bits, so a slow hash would protect nothing
-- and cost every position report tens of milliseconds.
CREATE TABLE device_key (
    key_hash    bytea PRIMARY KEY,
    unit_id     text NOT NULL REFERENCES mobile_unit (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
CREATE INDEX device_key_unit_idx ON device_key (unit_id);

-- Every act, append-only, each record chained to the one before by a SHA-256 hash
-- (core/audit_chain.py): a record changed, removed or inserted by hand breaks the chain at
-- that point, and `python -m api.audit verify` says where.
CREATE TABLE audit_event (
    seq           bigserial PRIMARY KEY,
    at            timestamptz NOT NULL,
    request_id    text NOT NULL,
    client_id     text,
    organization  text,
    role          text,
    action        text NOT NULL,
    target        text NOT NULL,
    outcome       text NOT NULL CHECK (outcome IN ('accepted', 'refused', 'failed')),
    status        integer NOT NULL,
    reason        text,
    prev_hash     bytea NOT NULL,
    hash          bytea NOT NULL
);
CREATE INDEX audit_event_at_idx ON audit_event (at);
CREATE INDEX audit_event_client_idx ON audit_event (client_id, seq);
CREATE INDEX audit_event_organization_idx ON audit_event (organization, seq);

-- Nobody updates or deletes audit records through SQL by mistake: only retention deletes,
-- and it says so (SET LOCAL zc.audit_retention = 'on'). A superuser can still switch the
-- trigger off; the hash chain is what makes that visible.
CREATE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('zc.audit_retention', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_event is append-only: % refused', TG_OP;
END
$$;
CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event
    FOR EACH ROW EXECUTE FUNCTION audit_event_append_only();
CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event
    FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only();
