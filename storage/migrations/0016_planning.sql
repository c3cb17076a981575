-- The planning module (docs/planning.md): bookable consult slots, appointments booked by a
-- ZCV, holds on bed places and visit requests to mobile units (FHIR Task states), the rows
-- that serialise holds per place, and the outbox of planning events for the events topic.

-- The slots of a practice's agenda as its latest Slot bundle (/fhir/consult-slots) listed
-- them. `status` is the agenda's own; 'absent' when a newer agenda no longer lists the slot.
CREATE TABLE planning_slot (
    location_id  text NOT NULL REFERENCES location (id),
    slot_id      text NOT NULL,
    start_at     timestamptz NOT NULL,
    end_at       timestamptz NOT NULL,
    status       text NOT NULL,
    reported_at  timestamptz NOT NULL,
    PRIMARY KEY (location_id, slot_id)
);

-- A consult booked by a ZCV. patient_ref is a pseudonymous reference chosen by the ZCV (no
-- name, BSN or birth date); it is cleared PLANNING_PATIENT_RETENTION_DAYS after the slot.
CREATE TABLE appointment (
    id                      uuid PRIMARY KEY,
    location_id             text NOT NULL REFERENCES location (id),
    slot_id                 text NOT NULL,
    slot_start              timestamptz NOT NULL,
    slot_end                timestamptz NOT NULL,
    status                  text NOT NULL CHECK (status IN ('pending', 'booked', 'cancelled')),
    status_reason           text,
    patient_ref             text,
    reason                  text,
    requester_organization  text NOT NULL,
    requested_by            text NOT NULL,
    created_at              timestamptz NOT NULL DEFAULT now(),
    answered_at             timestamptz,
    closed_at               timestamptz
);
-- One slot, one live booking: the constraint that makes two ZCVs booking the last slot at
-- the same moment end in one booking and one 409, whichever API process each reached.
CREATE UNIQUE INDEX appointment_one_per_slot ON appointment (location_id, slot_id)
    WHERE status IN ('pending', 'booked');
CREATE INDEX appointment_location ON appointment (location_id, status);
CREATE INDEX appointment_requester ON appointment (requester_organization, created_at DESC);

-- A hold on a bed place (kind 'hold': location_id, category, held_item) or a visit request
-- to a mobile unit (kind 'visit': unit_id, the patient's whereabouts, urgency).
CREATE TABLE planning_task (
    id                      uuid PRIMARY KEY,
    kind                    text NOT NULL CHECK (kind IN ('hold', 'visit')),
    status                  text NOT NULL CHECK (status IN ('requested', 'accepted', 'rejected',
                                                            'completed', 'cancelled', 'failed')),
    status_reason           text,
    location_id             text REFERENCES location (id),
    category                text,
    held_item               text,
    unit_id                 text REFERENCES mobile_unit (id),
    visit_latitude          float8,
    visit_longitude         float8,
    urgency                 text,
    provider_organization   text NOT NULL,
    sector                  text NOT NULL,
    roaz_region             text NOT NULL,
    requester_organization  text NOT NULL,
    requested_by            text NOT NULL,
    patient_ref             text,
    reason                  text,
    created_at              timestamptz NOT NULL DEFAULT now(),
    expires_at              timestamptz NOT NULL,
    answered_at             timestamptz,
    closed_at               timestamptz,
    CHECK ((kind = 'hold') = (location_id IS NOT NULL AND held_item IS NOT NULL)),
    CHECK ((kind = 'visit') = (unit_id IS NOT NULL))
);
-- The expiry sweep: requests past their time to live.
CREATE INDEX planning_task_due ON planning_task (expires_at) WHERE status = 'requested';
CREATE INDEX planning_task_held ON planning_task (location_id, held_item)
    WHERE status IN ('requested', 'accepted');
CREATE INDEX planning_task_requester ON planning_task (requester_organization, created_at DESC);
CREATE INDEX planning_task_provider ON planning_task (provider_organization, created_at DESC);
-- One unit, one open visit.
CREATE UNIQUE INDEX planning_task_one_visit_per_unit ON planning_task (unit_id)
    WHERE kind = 'visit' AND status IN ('requested', 'accepted');

-- One row per place that has been held: a new hold locks it (SELECT … FOR UPDATE), so holds
-- on one place are counted and added one at a time across every API process.
CREATE TABLE planning_place (
    location_id  text NOT NULL,
    item         text NOT NULL,
    PRIMARY KEY (location_id, item)
);

-- Planning events, written in the transaction of the change they describe and sent to the
-- events topic by the stream worker (streams/planning.py): a change is never streamed
-- without being committed, nor committed without being streamed.
CREATE TABLE planning_event (
    id            bigserial PRIMARY KEY,
    created_at    timestamptz NOT NULL DEFAULT now(),
    fields        jsonb NOT NULL,
    published_at  timestamptz
);
CREATE INDEX planning_event_unpublished ON planning_event (id) WHERE published_at IS NULL;
