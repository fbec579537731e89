-- Escalation (engine/service/escalate.go): a client network whose recent answers were mostly
-- wrong or implausibly fast gets harder challenges, decided at a key's first delivery.

-- Each app's policy. Existing apps get the defaults, switched on: at least 5 answers in the
-- last 10 minutes, 70% or more of them wrong or faster than 1 second, escalate that
-- network's next challenges.
ALTER TABLE apps ADD COLUMN escalate             INTEGER NOT NULL DEFAULT 1;
ALTER TABLE apps ADD COLUMN escalate_min_answers INTEGER NOT NULL DEFAULT 5;
ALTER TABLE apps ADD COLUMN escalate_bad_percent INTEGER NOT NULL DEFAULT 70;
ALTER TABLE apps ADD COLUMN fast_solve_ms        INTEGER NOT NULL DEFAULT 1000;

-- The client network that received a key's first delivery, as a keyed hash (an HMAC under
-- the server secret, 16 bytes), never the address: a copy of the database does not tell who
-- fetched what, and the IPv4 space is small enough to undo a plain hash. The verification
-- of the key is attributed to it. NULL when the key was never delivered, or delivered by
-- the service without a client (tests, tools). escalated is 1 when the first delivery made
-- the key one difficulty harder and its answer longer; the key keeps both, so every later
-- fetch draws it identically.
ALTER TABLE keys ADD COLUMN client_net BLOB;
ALTER TABLE keys ADD COLUMN escalated  INTEGER NOT NULL DEFAULT 0;

-- Escalated keys per app and hour of their first delivery, counted by the group commit like
-- the other deliveries, since keys are deleted once they expire.
ALTER TABLE key_counts ADD COLUMN escalated INTEGER NOT NULL DEFAULT 0;
