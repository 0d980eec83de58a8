-- Credit records (SQLite). Kept column for column identical to
-- ../postgres/00003_records.sql.
--
--   * records: the current state of each record (package record, Record).
--     (type, source_key, source_ref) is unique: ingest is idempotent by the
--     source and the source's own id (文书号).
--   * fields / personal / withdrawal / objection / repair are JSON text;
--     personal data is never stored in clear: ID numbers and the names of
--     persons appear only as masks in fields and as hex HMAC indexes in
--     personal and subject_id_index.
--   * Dates (decision_date, public_from, public_until) are 'YYYY-MM-DD'
--     text in Asia/Shanghai, '' for none; instants are BIGINT unix
--     microseconds, UTC.
--   * record_events is append-only (triggers): every change with the
--     canonical JSON its ledger entry (ledger_index) commits to.

-- +goose Up
CREATE TABLE records (
    id                 INTEGER PRIMARY KEY,
    type               TEXT    NOT NULL,
    subject_id         INTEGER NOT NULL REFERENCES subjects (id),
    subject_code       TEXT    NOT NULL DEFAULT '',
    subject_id_index   TEXT    NOT NULL DEFAULT '',
    subject_id_masked  TEXT    NOT NULL DEFAULT '',
    subject_name       TEXT    NOT NULL DEFAULT '',
    source             TEXT    NOT NULL,
    source_account     INTEGER NOT NULL DEFAULT 0,
    source_key         TEXT    NOT NULL,
    source_ref         TEXT    NOT NULL,
    fields             TEXT    NOT NULL,
    personal           TEXT    NOT NULL,
    decision_date      TEXT    NOT NULL DEFAULT '',
    severity           TEXT    NOT NULL DEFAULT '',
    public_from        TEXT    NOT NULL DEFAULT '',
    public_until       TEXT    NOT NULL DEFAULT '',
    public             INTEGER NOT NULL DEFAULT 0,
    status             TEXT    NOT NULL,
    disputed           INTEGER NOT NULL DEFAULT 0,
    withdrawal         TEXT    NOT NULL,
    objection          TEXT    NOT NULL,
    repair             TEXT    NOT NULL,
    version            INTEGER NOT NULL CHECK (version >= 1),
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
);
CREATE UNIQUE INDEX records_source_ref_key ON records (type, source_key, source_ref);
CREATE INDEX records_subject_idx ON records (subject_id, type, id);
CREATE INDEX records_code_idx ON records (subject_code);
CREATE INDEX records_public_until_idx ON records (public_until);

CREATE TABLE record_events (
    id            INTEGER PRIMARY KEY,
    record_id     INTEGER NOT NULL REFERENCES records (id),
    seq           INTEGER NOT NULL CHECK (seq >= 1),
    type          TEXT    NOT NULL,
    at            INTEGER NOT NULL,
    actor_id      INTEGER NOT NULL DEFAULT 0,
    actor_name    TEXT    NOT NULL DEFAULT '',
    reason        TEXT    NOT NULL DEFAULT '',
    content       TEXT    NOT NULL,
    ledger_index  INTEGER NOT NULL
);
CREATE UNIQUE INDEX record_events_seq_key ON record_events (record_id, seq);
CREATE UNIQUE INDEX record_events_ledger_key ON record_events (ledger_index);

-- +goose StatementBegin
CREATE TRIGGER record_events_no_update BEFORE UPDATE ON record_events
BEGIN
    SELECT RAISE(ABORT, 'record_events is append-only');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER record_events_no_delete BEFORE DELETE ON record_events
BEGIN
    SELECT RAISE(ABORT, 'record_events is append-only');
END;
-- +goose StatementEnd

-- +goose Down
DROP TABLE record_events;
DROP TABLE records;
