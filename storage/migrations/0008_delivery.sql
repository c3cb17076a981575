-- Delivery: what was acknowledged to a provider is never lost (issue 9).
--
-- The raw message archive doubles as the write-ahead record: with INGEST_WRITE_AHEAD on (the
-- default; the embedded broker keeps its log in memory only) the API inserts the raw message
-- before it answers 202, and the store stage marks it processed in the transaction that writes
-- its figures. What the broker lost is what is archived and not processed: the reconciler
-- sends it again. The context (e.g. a provider's mapping table) is kept too, so a replay maps
-- exactly as the first time did.

ALTER TABLE raw_message ADD COLUMN context jsonb NOT NULL DEFAULT '{}';
-- When the store stage wrote its figures, or refused it (then with the reason: it went to the
-- dead-letter topic and is not sent again).
ALTER TABLE raw_message ADD COLUMN processed_at timestamptz;
ALTER TABLE raw_message ADD COLUMN refused_reason text;
-- When the reconciler last sent it again (it waits before sending the same one once more).
ALTER TABLE raw_message ADD COLUMN resent_at timestamptz;
-- What its adapter made of it when it was accepted (core/ingest.py `Mapped`, JSON): a replay
-- sends that again without parsing the payload (python -m streams.replay; --remap parses).
ALTER TABLE raw_message ADD COLUMN mapped bytea;
-- Everything archived before this migration was archived after it had been consumed.
UPDATE raw_message SET processed_at = received_at;
CREATE INDEX raw_message_unprocessed_idx ON raw_message (received_at)
    WHERE processed_at IS NULL;
CREATE INDEX raw_message_received_idx ON raw_message (received_at);

-- The highest end offset seen per partition of the ingest topic: a broker whose log ends below
-- it has lost messages (an embedded broker restarted, a log truncated), and the reconciler then
-- sends everything unprocessed again at once. (It also finds lost messages without it:
-- storage/archive.py.)
CREATE TABLE broker_watermark (
    topic       text NOT NULL,
    partition   integer NOT NULL,
    high        bigint NOT NULL,
    seen_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (topic, partition)
);
