-- The live state per location: every subject of latest_observation (a location, or a mobile
-- unit whose status is kept there) with all its latest figures as one JSON document, so a live
-- query reads one row per location instead of joining and converting one row per figure
-- (storage/availability.py: live_locations).
--
-- Kept like the plain path's roll-ups: whatever writes latest_observation (the store stage,
-- a replay, the bench's loader, a test's INSERT) marks the subjects it touched, in its own
-- transaction, with one row per statement (statement triggers below); the stream worker's
-- refresher rewrites their documents off that transaction (live_location_catch_up). A live
-- query takes the document of a subject with no mark and computes the document of a marked
-- one on the spot, so it answers exactly what latest_observation holds, at any lag.
--
-- figures: a JSON array ordered by definition (the database's collation, as the live queries
-- always ordered), one array per item:
--   [definition, definition_version, value, value_text, not_reported_reason, observed_at]
-- observed_at in RFC 3339 with offset +00:00 (the documents are made with TimeZone UTC,
-- whatever the session says); a value that is not finite as the text PostgreSQL prints for it
-- ("NaN", "Infinity", "-Infinity").
CREATE TABLE live_location (
    location_id  text PRIMARY KEY,
    figures      json NOT NULL
) WITH (fillfactor = 50);  -- room on the page: a rewrite stays HOT (no new index entry)
COMMENT ON TABLE live_location IS
    'Latest figures per location as one JSON array; rewritten off the write transaction from '
    'live_location_pending. See storage/README.md.';

-- Subjects whose document may be behind latest_observation: one row per writing statement.
CREATE TABLE live_location_pending (
    id            bigserial PRIMARY KEY,
    location_ids  text[] NOT NULL,
    marked_at     timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE live_location_pending IS
    'Subjects written to latest_observation whose live_location document is not rewritten yet.';

-- The documents of those of `subjects` that have figures.
CREATE FUNCTION live_location_documents(subjects text[])
RETURNS TABLE (location_id text, figures json)
LANGUAGE sql STABLE
SET TimeZone = 'UTC'
SET extra_float_digits = 1
AS $$
    SELECT o.location_id,
           json_agg(json_build_array(o.definition, o.definition_version, o.value, o.value_text,
                                     o.not_reported_reason, o.observed_at)
                    ORDER BY o.definition)
    FROM latest_observation o
    WHERE o.location_id = ANY (subjects)
    GROUP BY o.location_id
$$;

-- One subject's document (NULL without figures): what a live query takes for a marked one.
CREATE FUNCTION live_location_document(subject text) RETURNS json
LANGUAGE sql STABLE
AS $$
    SELECT d.figures FROM live_location_documents(ARRAY[subject]) d
$$;

-- Rewrite the documents of `subjects` from latest_observation (and drop those left without
-- figures). Two refreshers may rewrite one subject at the same time: each first makes sure its
-- row exists, then takes the rows' locks (in id order, so they never wait on each other in a
-- circle), and only then reads the figures, by a statement of its own (READ COMMITTED: a fresh
-- snapshot, holding what the refresher before it committed).
CREATE FUNCTION live_location_refresh(subjects text[]) RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    IF cardinality(subjects) = 0 THEN
        RETURN;
    END IF;
    INSERT INTO live_location (location_id, figures)
        SELECT s, '[]' FROM unnest(subjects) AS s ORDER BY s
        ON CONFLICT (location_id) DO NOTHING;
    PERFORM 1 FROM live_location WHERE location_id = ANY (subjects)
        ORDER BY location_id FOR NO KEY UPDATE;
    UPDATE live_location l SET figures = d.figures
        FROM live_location_documents(subjects) d
        WHERE l.location_id = d.location_id;
    DELETE FROM live_location l
        WHERE l.location_id = ANY (subjects)
          AND NOT EXISTS (SELECT 1 FROM latest_observation o WHERE o.location_id = l.location_id);
END
$$;

-- Take up to `max_marks` marks (oldest first; those another refresher holds are skipped),
-- rewrite their subjects' documents and delete the marks, in the caller's transaction.
-- Returns how many marks were taken: fewer than `max_marks` means none were left. A mark a
-- writer commits meanwhile stays for the next round; the documents and the deleted marks
-- become visible together, so a live query never sees a subject as neither marked nor done.
CREATE FUNCTION live_location_catch_up(max_marks integer) RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
    marks bigint[];
    subjects text[];
BEGIN
    SELECT array_agg(p.id) INTO marks FROM (
        SELECT id FROM live_location_pending ORDER BY id LIMIT max_marks FOR UPDATE SKIP LOCKED
    ) p;
    IF marks IS NULL THEN
        RETURN 0;
    END IF;
    SELECT array_agg(DISTINCT s) INTO subjects
        FROM live_location_pending p, unnest(p.location_ids) AS s
        WHERE p.id = ANY (marks);
    PERFORM live_location_refresh(subjects);
    DELETE FROM live_location_pending WHERE id = ANY (marks);
    RETURN cardinality(marks);
END
$$;

-- The marks: one row per statement that wrote latest_observation (an upsert fires its insert
-- and its update trigger; an empty side marks nothing). Statement triggers see the rows in
-- transition tables, which PostgreSQL allows only on single-event triggers: hence three.
CREATE FUNCTION live_location_mark() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO live_location_pending (location_ids)
            SELECT array_agg(DISTINCT location_id) FROM written HAVING count(*) > 0;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO live_location_pending (location_ids)
            SELECT array_agg(DISTINCT location_id) FROM written HAVING count(*) > 0;
    ELSE
        INSERT INTO live_location_pending (location_ids)
            SELECT array_agg(DISTINCT location_id) FROM replaced HAVING count(*) > 0;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER live_location_mark_insert AFTER INSERT ON latest_observation
    REFERENCING NEW TABLE AS written
    FOR EACH STATEMENT EXECUTE FUNCTION live_location_mark();
CREATE TRIGGER live_location_mark_update AFTER UPDATE ON latest_observation
    REFERENCING NEW TABLE AS written
    FOR EACH STATEMENT EXECUTE FUNCTION live_location_mark();
CREATE TRIGGER live_location_mark_delete AFTER DELETE ON latest_observation
    REFERENCING OLD TABLE AS replaced
    FOR EACH STATEMENT EXECUTE FUNCTION live_location_mark();

-- An update that moves figures to another subject (none of the platform's writers does: the
-- upserts never set the key) leaves the old subject unnamed in `written`: mark them all.
-- A column trigger cannot have transition tables; keeping `replaced` on every update instead
-- would cost each store batch a copy of the rows it replaced.
CREATE FUNCTION live_location_mark_all() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    INSERT INTO live_location_pending (location_ids)
        SELECT array_agg(s) FROM (SELECT location_id FROM latest_observation
                                  UNION SELECT location_id FROM live_location) AS x (s)
        HAVING count(*) > 0;
    RETURN NULL;
END
$$;
CREATE TRIGGER live_location_mark_moved AFTER UPDATE OF location_id ON latest_observation
    FOR EACH STATEMENT EXECUTE FUNCTION live_location_mark_all();

CREATE FUNCTION live_location_clear() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    DELETE FROM live_location;
    DELETE FROM live_location_pending;
    RETURN NULL;
END
$$;
CREATE TRIGGER live_location_clear AFTER TRUNCATE ON latest_observation
    FOR EACH STATEMENT EXECUTE FUNCTION live_location_clear();

-- What is already there.
SELECT live_location_refresh(ARRAY(SELECT DISTINCT location_id FROM latest_observation));
