-- Foundation schema (SQLite). Kept column for column identical to
-- ../postgres/00001_foundation.sql.
--
-- Conventions:
--   * Times are INTEGER unix microseconds, UTC; 0 means "no time" (a zero
--     time.Time in Go).
--   * Optional unique values (credit_code, id_index, mark, login,
--     platform_shop_id, accounts.subject_id) are NULL when empty, so that
--     plain unique indexes ignore them.
--   * verifications and audit_log are append-only: triggers refuse UPDATE
--     and DELETE.

-- +goose Up
CREATE TABLE subjects (
    id            INTEGER PRIMARY KEY,
    kind          TEXT    NOT NULL,
    form          TEXT    NOT NULL DEFAULT '',
    name          TEXT    NOT NULL,
    credit_code   TEXT,
    code_warning  TEXT    NOT NULL DEFAULT '',
    id_cipher     BLOB,
    id_index      BLOB,
    id_masked     TEXT    NOT NULL DEFAULT '',
    phone_cipher  BLOB,
    phone_index   BLOB,
    phone_masked  TEXT    NOT NULL DEFAULT '',
    name_cipher   BLOB,
    name_index    BLOB,
    name_masked   TEXT    NOT NULL DEFAULT '',
    legal_rep     TEXT    NOT NULL DEFAULT '',
    region_code   TEXT    NOT NULL DEFAULT '',
    address       TEXT    NOT NULL DEFAULT '',
    status        TEXT    NOT NULL,
    verify        TEXT    NOT NULL DEFAULT 'unverified',
    verified_at   INTEGER NOT NULL DEFAULT 0,
    verified_by   TEXT    NOT NULL DEFAULT '',
    reverify_due  INTEGER NOT NULL DEFAULT 0,
    mark          TEXT,
    created_by    INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    version       INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1)
);
CREATE UNIQUE INDEX subjects_credit_code_key ON subjects (credit_code);
CREATE UNIQUE INDEX subjects_id_index_key ON subjects (id_index);
CREATE UNIQUE INDEX subjects_mark_key ON subjects (mark);
CREATE INDEX subjects_phone_index_idx ON subjects (phone_index);
CREATE INDEX subjects_region_idx ON subjects (region_code);
CREATE INDEX subjects_kind_idx ON subjects (kind);
CREATE INDEX subjects_name_idx ON subjects (name);

CREATE TABLE verifications (
    id           INTEGER PRIMARY KEY,
    subject_id   INTEGER NOT NULL REFERENCES subjects (id),
    method       TEXT    NOT NULL,
    passed       INTEGER NOT NULL,
    verified_by  TEXT    NOT NULL DEFAULT '',
    account_id   INTEGER NOT NULL DEFAULT 0,
    at           INTEGER NOT NULL,
    valid_until  INTEGER NOT NULL DEFAULT 0,
    note         TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX verifications_subject_idx ON verifications (subject_id, id);

-- +goose StatementBegin
CREATE TRIGGER verifications_no_update BEFORE UPDATE ON verifications
BEGIN
    SELECT RAISE(ABORT, 'verifications are append-only');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER verifications_no_delete BEFORE DELETE ON verifications
BEGIN
    SELECT RAISE(ABORT, 'verifications are append-only');
END;
-- +goose StatementEnd

CREATE TABLE shops (
    id                INTEGER PRIMARY KEY,
    platform_id       INTEGER NOT NULL REFERENCES subjects (id),
    owner_id          INTEGER NOT NULL REFERENCES subjects (id),
    name              TEXT    NOT NULL,
    url               TEXT    NOT NULL,
    domain            TEXT    NOT NULL,
    category          TEXT    NOT NULL DEFAULT '',
    status            TEXT    NOT NULL,
    platform_shop_id  TEXT,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    version           INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1)
);
CREATE UNIQUE INDEX shops_platform_shop_key ON shops (platform_id, platform_shop_id);
CREATE INDEX shops_domain_idx ON shops (domain);
CREATE INDEX shops_owner_idx ON shops (owner_id, platform_id);

CREATE TABLE accounts (
    id             INTEGER PRIMARY KEY,
    name           TEXT    NOT NULL,
    role           TEXT    NOT NULL,
    subject_id     INTEGER REFERENCES subjects (id),
    department     TEXT    NOT NULL DEFAULT '',
    login          TEXT,
    password_hash  TEXT    NOT NULL DEFAULT '',
    totp_secret    TEXT    NOT NULL DEFAULT '',
    disabled       INTEGER NOT NULL DEFAULT 0,
    failed_logins  INTEGER NOT NULL DEFAULT 0,
    locked_until   INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);
CREATE UNIQUE INDEX accounts_login_key ON accounts (login);

CREATE TABLE api_keys (
    id            INTEGER PRIMARY KEY,
    account_id    INTEGER NOT NULL REFERENCES accounts (id),
    prefix        TEXT    NOT NULL,
    hash          BLOB    NOT NULL,
    label         TEXT    NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER NOT NULL DEFAULT 0,
    revoked_at    INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX api_keys_prefix_key ON api_keys (prefix);
CREATE INDEX api_keys_account_idx ON api_keys (account_id);

CREATE TABLE sessions (
    token_hash  BLOB    NOT NULL PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts (id),
    csrf        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    remote      TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);

CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    actor_id    INTEGER NOT NULL DEFAULT 0,
    actor_name  TEXT    NOT NULL DEFAULT '',
    role        TEXT    NOT NULL DEFAULT '',
    action      TEXT    NOT NULL,
    object      TEXT    NOT NULL DEFAULT '',
    detail      TEXT    NOT NULL DEFAULT '',
    remote      TEXT    NOT NULL DEFAULT '',
    request_id  TEXT    NOT NULL DEFAULT '',
    via         TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, id);
CREATE INDEX audit_log_action_idx ON audit_log (action, id);
CREATE INDEX audit_log_object_idx ON audit_log (object, id);

-- +goose StatementBegin
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit log is append-only');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit log is append-only');
END;
-- +goose StatementEnd

-- +goose Down
DROP TABLE audit_log;
DROP TABLE sessions;
DROP TABLE api_keys;
DROP TABLE accounts;
DROP TABLE shops;
DROP TABLE verifications;
DROP TABLE subjects;
