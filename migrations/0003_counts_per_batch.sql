-- The counts of keys issued and of first deliveries (key_counts.issued, images, sounds) are
-- now added by the group commit that writes the keys (engine/sqlite/batch.go), once per app
-- and hour in each transaction, instead of by a trigger on every row: under load a commit
-- carries a dozen writes, and each trigger ran an upsert of its own in a table whose pages
-- are cold by then. The count of keys that expired unsolved stays a trigger: it is written
-- by housekeeping, off the request path.
DROP TRIGGER key_counts_issued;
DROP TRIGGER key_counts_image;
DROP TRIGGER key_counts_sound;
