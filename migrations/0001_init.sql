-- Times are Unix milliseconds (INTEGER): compact, cheap to compare, and an hour bucket for
-- the statistics is created_at / 3600000.

-- The secret every key's rendering seed is derived from (an HMAC of the key), generated at
-- first start so that every process sharing this database draws a key identically.
CREATE TABLE server_secrets (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
) STRICT;

-- Applications: each customer site. The secret is kept only as its SHA-256; the columns
-- after "enabled" are the challenge settings new keys are issued with.
CREATE TABLE apps (
    id             INTEGER PRIMARY KEY,
    name           TEXT    NOT NULL,
    app_key        TEXT    NOT NULL UNIQUE,
    secret_hash    BLOB    NOT NULL,
    enabled        INTEGER NOT NULL DEFAULT 1,
    charset        TEXT    NOT NULL,
    length         INTEGER NOT NULL,
    difficulty     TEXT    NOT NULL,
    width          INTEGER NOT NULL,
    height         INTEGER NOT NULL,
    lang           TEXT    NOT NULL,
    key_lifetime_s INTEGER NOT NULL,
    max_attempts   INTEGER NOT NULL,
    created_at     INTEGER NOT NULL
) STRICT;

-- Challenge keys. The drawing options are copied from the app at issuance, so that changing
-- an app's settings never changes a challenge already shown, nor makes its answer undrawable.
-- WITHOUT ROWID: the key is the only way rows are looked up, so the table is its own index.
-- There is deliberately no index on app_id: deleting an app (rare, by an operator) scans the
-- table, which is cheaper overall than maintaining a second index on every issuance.
CREATE TABLE keys (
    id              TEXT    PRIMARY KEY,
    app_id          INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    answer          TEXT    NOT NULL,
    charset         TEXT    NOT NULL,
    difficulty      TEXT    NOT NULL,
    width           INTEGER NOT NULL,
    height          INTEGER NOT NULL,
    lang            TEXT    NOT NULL,
    max_attempts    INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    consumed        INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    image_served_at INTEGER,
    audio_served_at INTEGER
) STRICT, WITHOUT ROWID;

-- Housekeeping deletes expired keys in expiry order.
CREATE INDEX keys_by_expiry ON keys (expires_at);

-- One row per verification decision. response_ms counts from the first delivery of the
-- image or the sound (NULL if neither was served); channel says which the user was given.
CREATE TABLE verifications (
    id          INTEGER PRIMARY KEY,
    app_id      INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    outcome     TEXT    NOT NULL CHECK (outcome IN ('passed', 'wrong', 'expired', 'used_up')),
    channel     TEXT    NOT NULL CHECK (channel IN ('none', 'image', 'audio')),
    response_ms INTEGER,
    created_at  INTEGER NOT NULL
) STRICT;

-- Statistics are per app and by hour; retention deletes per app by age.
CREATE INDEX verifications_by_app_time ON verifications (app_id, created_at);
