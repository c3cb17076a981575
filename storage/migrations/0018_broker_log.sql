-- Which log of the ingest topic the reconciler last saw. A broker gives a topic a new id each
-- time it creates it, so a changed id means the log was lost and the topic created again (the
-- embedded broker keeps its log in memory; a deleted and recreated topic), whatever the new
-- log's offsets look like: the end offsets alone miss a new log that grows past the old one's
-- ends before the reconciler looks. `lost_at`: when it last found a log lost; for a while after
-- that, offsets committed on the old log may skip part of the new one (streams/recovery.py).
CREATE TABLE broker_log (
    topic       text PRIMARY KEY,
    topic_id    text NOT NULL,
    seen_at     timestamptz NOT NULL DEFAULT now(),
    lost_at     timestamptz
);
