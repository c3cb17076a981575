-- Alerts: rules that a ZCV (for its regions) or a provider (for its own locations) defines,
-- their state per subject (for hysteresis: a rule fires once and clears once), the
-- notifications they raised, and the webhook deliveries of those notifications.
CREATE TABLE alert_rule (
    id                    bigserial PRIMARY KEY,
    owner_organization_id text NOT NULL,
    created_by            text NOT NULL,
    name                  text NOT NULL,
    kind                  text NOT NULL CHECK (kind IN ('threshold', 'status', 'stale')),
    location_id           text,
    roaz_region           text,
    definition            text NOT NULL,
    operator              text CHECK (operator IN ('below', 'above')),
    threshold             float8,
    hysteresis            float8 NOT NULL DEFAULT 0 CHECK (hysteresis >= 0),
    statuses              text[],
    severity              text NOT NULL DEFAULT 'warning'
                          CHECK (severity IN ('info', 'warning', 'critical')),
    webhook_url           text,
    webhook_secret        text,
    created_at            timestamptz NOT NULL DEFAULT now(),
    deleted_at            timestamptz,
    CHECK ((location_id IS NULL) <> (roaz_region IS NULL)),
    CHECK (kind <> 'threshold' OR (operator IS NOT NULL AND threshold IS NOT NULL)),
    CHECK ((webhook_url IS NULL) = (webhook_secret IS NULL))
);
CREATE INDEX alert_rule_owner ON alert_rule (owner_organization_id) WHERE deleted_at IS NULL;

CREATE TABLE alert_state (
    rule_id    bigint NOT NULL REFERENCES alert_rule (id),
    subject    text NOT NULL,
    firing     boolean NOT NULL,
    since      timestamptz NOT NULL,
    PRIMARY KEY (rule_id, subject)
);

CREATE TABLE alert_notification (
    id               bigserial PRIMARY KEY,
    rule_id          bigint NOT NULL REFERENCES alert_rule (id),
    subject          text NOT NULL,
    state            text NOT NULL CHECK (state IN ('firing', 'cleared')),
    message          text NOT NULL,
    location_id      text,
    roaz_region      text,
    definition       text,
    value            float8,
    value_text       text,
    threshold        float8,
    raised_at        timestamptz NOT NULL DEFAULT now(),
    -- The event (its offset on the events topic) that raised it: the same event seen twice
    -- (a worker restarted before acknowledging) raises nothing twice.
    source_event     text NOT NULL,
    acknowledged_at  timestamptz,
    acknowledged_by  text,
    UNIQUE (rule_id, subject, source_event)
);
CREATE INDEX alert_notification_rule ON alert_notification (rule_id, raised_at DESC);

CREATE TABLE webhook_delivery (
    notification_id  bigint PRIMARY KEY REFERENCES alert_notification (id),
    attempts         int NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    delivered_at     timestamptz,
    failed_at        timestamptz,
    last_status      int,
    last_error       text
);
CREATE INDEX webhook_delivery_due ON webhook_delivery (next_attempt_at)
    WHERE delivered_at IS NULL AND failed_at IS NULL;
