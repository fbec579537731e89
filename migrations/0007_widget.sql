-- The widget dialect (engine/service/token.go): a site embeds the widget with the app's
-- appkey as its public site key, and its server checks the response token the widget hands
-- over with one POST to /siteverify, authenticated by the app's secret.

-- The host names whose pages may embed an app's widget, comma-separated, lower case; empty
-- allows any. How long a response token stays valid, in seconds.
ALTER TABLE apps ADD COLUMN hostnames        TEXT    NOT NULL DEFAULT '';
ALTER TABLE apps ADD COLUMN token_lifetime_s INTEGER NOT NULL DEFAULT 300;

-- /siteverify finds the app by its secret's hash alone (a widget site sends no appkey).
CREATE INDEX apps_by_secret_hash ON apps (secret_hash);

-- Response tokens: issued for a right answer, redeemed once by /siteverify. Only the
-- SHA-256 of the token is kept, so a copy of the database redeems nothing. challenge_at is
-- when the challenge was solved (siteverify's challenge_ts); hostname is the host of the
-- page that solved it (the Origin of the answer), action and cdata what the widget sent
-- along. redeemed_at is NULL until the first successful verification, which also records
-- its idempotency_key ('' when it sent none): a repeat with the same key gets the same
-- answer, any other a duplicate. Housekeeping deletes tokens some time after they expire.
CREATE TABLE tokens (
    hash            BLOB    PRIMARY KEY,
    app_id          INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    challenge_at    INTEGER NOT NULL,
    hostname        TEXT    NOT NULL,
    action          TEXT    NOT NULL,
    cdata           TEXT    NOT NULL,
    expires_at      INTEGER NOT NULL,
    redeemed_at     INTEGER,
    idempotency_key TEXT    NOT NULL DEFAULT ''
) STRICT, WITHOUT ROWID;

CREATE INDEX tokens_by_expiry ON tokens (expires_at);
CREATE INDEX tokens_by_app ON tokens (app_id);
