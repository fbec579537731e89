-- The widget dialect, as SQLite's migration 0007: the hosts that may embed an app's widget
-- and the lifetime of its response tokens, and the tokens themselves.

-- Host names, comma-separated, lower case; empty allows any. Token lifetime in seconds.
ALTER TABLE apps
    ADD COLUMN hostnames        TEXT    NOT NULL DEFAULT '',
    ADD COLUMN token_lifetime_s INTEGER NOT NULL DEFAULT 300;

-- /siteverify finds the app by its secret's hash alone.
CREATE INDEX apps_by_secret_hash ON apps (secret_hash);

-- Response tokens, by the SHA-256 of the token; see SQLite's migration 0007. A token is
-- redeemed by one conditional UPDATE (redeemed_at IS NULL), so of concurrent verifications
-- on any nodes exactly one redeems it.
CREATE TABLE tokens (
    hash            BYTEA  PRIMARY KEY,
    app_id          BIGINT NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    challenge_at    BIGINT NOT NULL,
    hostname        TEXT   NOT NULL,
    action          TEXT   NOT NULL,
    cdata           TEXT   NOT NULL,
    expires_at      BIGINT NOT NULL,
    redeemed_at     BIGINT,
    idempotency_key TEXT   NOT NULL DEFAULT ''
);

CREATE INDEX tokens_by_expiry ON tokens (expires_at);
CREATE INDEX tokens_by_app ON tokens (app_id);
