-- Plain path: the queue of touched 5-minute buckets becomes append-only. With a primary key, a
-- batch marking a bucket that the refresher was recomputing waited for the refresher's
-- transaction (and every batch behind it waited too): under a flood of pushes the store stage
-- spent most of its time in lock waits. Now a batch always adds its own mark (visible when it
-- commits, so a bucket it wrote to is recomputed after it, never before), duplicates are taken
-- together, and one refresher runs at a time (storage/rollups.py).
ALTER TABLE rollup_dirty DROP CONSTRAINT rollup_dirty_pkey;
CREATE INDEX rollup_dirty_bucket ON rollup_dirty (bucket);
