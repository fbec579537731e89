-- An operator whose password was generated rather than chosen (the admin account of the
-- first start, whose password is written to a file in the data directory) must choose one
-- before anything else: until then every admin page leads to the account page. Setting a
-- password, in the admin UI or with `captcha admin passwd`, clears the flag.
--
-- (Number 0004 is taken by a change made in parallel.)
ALTER TABLE operators ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0;
