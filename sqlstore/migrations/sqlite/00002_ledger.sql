-- The verifiable ledger (SQLite). Kept column for column identical to
-- ../postgres/00002_ledger.sql.
--
--   * ledger_entries: one row per event (package ledger, Entry); idx is the
--     position in the Merkle log, 0, 1, 2, … without gaps.
--   * ledger_hashes: the tree's node hashes at their storage index
--     (golang.org/x/mod/sumdb/tlog StoredHashIndex), written in the same
--     transaction as the entry.
--   * ledger_checkpoints: signed tree heads (C2SP signed notes), one per size.
--   * All three are append-only: triggers refuse UPDATE and DELETE.
--   * Times are BIGINT unix microseconds, UTC.

-- +goose Up
CREATE TABLE ledger_entries (
    idx        INTEGER PRIMARY KEY CHECK (idx >= 0),
    kind       TEXT    NOT NULL,
    object_id  INTEGER NOT NULL,
    op         TEXT    NOT NULL,
    content    BLOB    NOT NULL CHECK (length(content) = 32),
    at         INTEGER NOT NULL
);
CREATE INDEX ledger_entries_object_idx ON ledger_entries (kind, object_id, idx);

CREATE TABLE ledger_hashes (
    idx   INTEGER PRIMARY KEY CHECK (idx >= 0),
    hash  BLOB    NOT NULL CHECK (length(hash) = 32)
);

CREATE TABLE ledger_checkpoints (
    size    INTEGER PRIMARY KEY CHECK (size >= 0),
    signed  TEXT    NOT NULL,
    at      INTEGER NOT NULL
);

-- +goose StatementBegin
CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries
BEGIN
    SELECT RAISE(ABORT, 'ledger_entries is append-only');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries
BEGIN
    SELECT RAISE(ABORT, 'ledger_entries is append-only');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER ledger_hashes_no_update BEFORE UPDATE ON ledger_hashes
BEGIN
    SELECT RAISE(ABORT, 'ledger_hashes is append-only');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER ledger_hashes_no_delete BEFORE DELETE ON ledger_hashes
BEGIN
    SELECT RAISE(ABORT, 'ledger_hashes is append-only');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER ledger_checkpoints_no_update BEFORE UPDATE ON ledger_checkpoints
BEGIN
    SELECT RAISE(ABORT, 'ledger_checkpoints is append-only');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER ledger_checkpoints_no_delete BEFORE DELETE ON ledger_checkpoints
BEGIN
    SELECT RAISE(ABORT, 'ledger_checkpoints is append-only');
END;
-- +goose StatementEnd

-- +goose Down
DROP TABLE ledger_checkpoints;
DROP TABLE ledger_hashes;
DROP TABLE ledger_entries;
