-- Escalation (engine/service/escalate.go), as SQLite's migration 0006: a client network
-- whose recent answers were mostly wrong or implausibly fast gets harder challenges,
-- decided at a key's first delivery.

-- Each app's policy. Existing apps get the defaults, switched on: at least 5 answers in the
-- last 10 minutes, 70% or more of them wrong or faster than 1 second, escalate that
-- network's next challenges.
ALTER TABLE apps
    ADD COLUMN escalate             BOOLEAN NOT NULL DEFAULT TRUE,
    ADD COLUMN escalate_min_answers INTEGER NOT NULL DEFAULT 5,
    ADD COLUMN escalate_bad_percent INTEGER NOT NULL DEFAULT 70,
    ADD COLUMN fast_solve_ms        INTEGER NOT NULL DEFAULT 1000;

-- The client network that received a key's first delivery, as a keyed hash (an HMAC under
-- the server secret, 16 bytes), never the address. NULL when the key was never delivered,
-- or delivered by the service without a client (tests, tools). escalated is true when the
-- first delivery made the key one difficulty harder and its answer longer; the key keeps
-- both (answer, difficulty), so every later fetch draws it identically.
ALTER TABLE keys
    ADD COLUMN client_net BYTEA,
    ADD COLUMN escalated  BOOLEAN NOT NULL DEFAULT FALSE;

-- Escalated keys per app and hour of their first delivery, of the keys housekeeping has
-- deleted; the statistics count live keys' from the keys table, as the other deliveries.
ALTER TABLE key_counts ADD COLUMN escalated BIGINT NOT NULL DEFAULT 0;
