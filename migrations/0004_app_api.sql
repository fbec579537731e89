-- Each app answers in one API dialect (engine/service.API), 'nhn' or 'naver', no longer in
-- both: the Naver flow shows every browser the appkey, which alone was enough to call the
-- same app through NHN. The service checks the values rather than a CHECK constraint, so
-- that adding a dialect needs no rebuild of this table (SQLite cannot change a constraint
-- in place).
--
-- Apps created before this migration answered both. Each gets the one its recorded use
-- shows (verifications are kept for retention_days, keys until they expire):
--
--   'nhn' for an app with a trace only the NHN dialect leaves:
--     - a passed or wrong verification on channel 'none', a key answered although its
--       challenge was never delivered: the Naver dialect refuses that compare (CT002)
--       before anything is recorded;
--     - a key used up with no attempt, which only NHN's DELETE (expire a key) does;
--     - the demo app (the oldest named 'demo'), whose page loads images by NHN's URLs.
--   'naver' for every other app. Nothing recorded tells a Naver call from an NHN call of a
--     key whose image was delivered, so an app without an NHN-only trace keeps the dialect
--     that needs its secret: nothing becomes callable with the appkey alone, which the
--     Naver flow may have shown to anyone. An app that was in fact called through NHN
--     answers those calls -4 until an operator switches it (README, "Upgrading").
ALTER TABLE apps ADD COLUMN api TEXT NOT NULL DEFAULT 'naver';

UPDATE apps SET api = 'nhn'
WHERE id = (SELECT min(id) FROM apps WHERE name = 'demo')
   OR id IN (SELECT app_id FROM verifications WHERE channel = 'none' AND outcome IN ('passed', 'wrong'))
   OR id IN (SELECT app_id FROM keys WHERE consumed = 1 AND attempts = 0);
