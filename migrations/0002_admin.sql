-- The admin UI: operator accounts, their sessions, and the hourly counters its statistics
-- read for the events that leave no row behind once a key is deleted.

-- Operators who sign in to /admin. Passwords are bcrypt hashes (which carry their own salt
-- and cost).
CREATE TABLE operators (
    id            INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL UNIQUE,
    password_hash BLOB    NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;

-- Signed-in sessions, kept here so that they survive a restart and are shared by every
-- process on this database. Only the SHA-256 of the cookie's token is stored: a copy of the
-- database does not let anyone sign in. The CSRF token is per session and goes in forms.
CREATE TABLE operator_sessions (
    token_hash  BLOB    PRIMARY KEY,
    operator_id INTEGER NOT NULL REFERENCES operators (id) ON DELETE CASCADE,
    csrf_token  TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX operator_sessions_by_expiry ON operator_sessions (expires_at);
CREATE INDEX operator_sessions_by_operator ON operator_sessions (operator_id);

-- Per app and per hour (Unix ms / 3600000): keys issued, images and sounds served (first
-- delivery of each key) and keys that expired unsolved. Keys are deleted after they expire,
-- so these cannot be counted from the keys table later; verifications, which are kept, are
-- counted from their own table. The triggers below keep this table up to date whatever
-- code writes the keys.
CREATE TABLE key_counts (
    app_id           INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    hour             INTEGER NOT NULL,
    issued           INTEGER NOT NULL DEFAULT 0,
    images           INTEGER NOT NULL DEFAULT 0,
    sounds           INTEGER NOT NULL DEFAULT 0,
    expired_unsolved INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (app_id, hour)
) STRICT, WITHOUT ROWID;

CREATE TRIGGER key_counts_issued AFTER INSERT ON keys
BEGIN
    INSERT INTO key_counts (app_id, hour, issued) VALUES (NEW.app_id, NEW.created_at / 3600000, 1)
    ON CONFLICT (app_id, hour) DO UPDATE SET issued = issued + 1;
END;

CREATE TRIGGER key_counts_image AFTER UPDATE OF image_served_at ON keys
WHEN OLD.image_served_at IS NULL AND NEW.image_served_at IS NOT NULL
BEGIN
    INSERT INTO key_counts (app_id, hour, images) VALUES (NEW.app_id, NEW.image_served_at / 3600000, 1)
    ON CONFLICT (app_id, hour) DO UPDATE SET images = images + 1;
END;

CREATE TRIGGER key_counts_sound AFTER UPDATE OF audio_served_at ON keys
WHEN OLD.audio_served_at IS NULL AND NEW.audio_served_at IS NOT NULL
BEGIN
    INSERT INTO key_counts (app_id, hour, sounds) VALUES (NEW.app_id, NEW.audio_served_at / 3600000, 1)
    ON CONFLICT (app_id, hour) DO UPDATE SET sounds = sounds + 1;
END;

-- A key deleted while not used up expired unsolved; it counts in the hour it expired. When
-- its app is being deleted the cascade deletes the key after the app row is gone, and the
-- app's counters go with it, so nothing is counted (and no row references a missing app).
CREATE TRIGGER key_counts_expired AFTER DELETE ON keys
WHEN OLD.consumed = 0 AND EXISTS (SELECT 1 FROM apps WHERE id = OLD.app_id)
BEGIN
    INSERT INTO key_counts (app_id, hour, expired_unsolved) VALUES (OLD.app_id, OLD.expires_at / 3600000, 1)
    ON CONFLICT (app_id, hour) DO UPDATE SET expired_unsolved = expired_unsolved + 1;
END;
