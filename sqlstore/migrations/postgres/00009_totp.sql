-- Second factor (TOTP, RFC 6238) for console sign-in. Kept column for column
-- identical to ../sqlite/00009_totp.sql. accounts.totp_secret (00001)
-- holds the active secret; these columns complete it:
--
--   * totp_pending is a secret generated at enrolment and not yet confirmed
--     with a valid code ('' when none). Like totp_secret it is sealed with
--     the PII key (base64 of the AES-GCM ciphertext), never in clear.
--   * totp_step is the last accepted time step (unix time / 30 s). A code is
--     accepted only for a later step, so a used code cannot be replayed; it
--     only ever grows (UPDATE … WHERE totp_step < ?).

-- +goose Up
ALTER TABLE accounts ADD COLUMN totp_pending TEXT NOT NULL DEFAULT '';
ALTER TABLE accounts ADD COLUMN totp_step BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE accounts DROP COLUMN totp_step;
ALTER TABLE accounts DROP COLUMN totp_pending;
