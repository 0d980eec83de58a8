-- The verifiable ledger (PostgreSQL). Kept column for column identical to
-- ../sqlite/00002_ledger.sql.
--
--   * ledger_entries: one row per event (package ledger, Entry); idx is the
--     position in the Merkle log, 0, 1, 2, … without gaps. Appends are
--     serialised with a transaction-scoped advisory lock (sqlstore/ledger.go).
--   * ledger_hashes: the tree's node hashes at their storage index
--     (golang.org/x/mod/sumdb/tlog StoredHashIndex), written in the same
--     transaction as the entry.
--   * ledger_checkpoints: signed tree heads (C2SP signed notes), one per size.
--   * All three are append-only: triggers refuse UPDATE, DELETE and TRUNCATE
--     (ecredit_append_only() comes from 00001).
--   * Times are BIGINT unix microseconds, UTC.

-- +goose Up
CREATE TABLE ledger_entries (
    idx        BIGINT  PRIMARY KEY CHECK (idx >= 0),
    kind       TEXT    NOT NULL,
    object_id  BIGINT  NOT NULL,
    op         TEXT    NOT NULL,
    content    BYTEA   NOT NULL CHECK (octet_length(content) = 32),
    at         BIGINT  NOT NULL
);
CREATE INDEX ledger_entries_object_idx ON ledger_entries (kind, object_id, idx);

CREATE TABLE ledger_hashes (
    idx   BIGINT  PRIMARY KEY CHECK (idx >= 0),
    hash  BYTEA   NOT NULL CHECK (octet_length(hash) = 32)
);

CREATE TABLE ledger_checkpoints (
    size    BIGINT  PRIMARY KEY CHECK (size >= 0),
    signed  TEXT    NOT NULL,
    at      BIGINT  NOT NULL
);

CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ecredit_append_only();
CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ecredit_append_only();
CREATE TRIGGER ledger_hashes_append_only BEFORE UPDATE OR DELETE ON ledger_hashes
    FOR EACH ROW EXECUTE FUNCTION ecredit_append_only();
CREATE TRIGGER ledger_hashes_no_truncate BEFORE TRUNCATE ON ledger_hashes
    FOR EACH STATEMENT EXECUTE FUNCTION ecredit_append_only();
CREATE TRIGGER ledger_checkpoints_append_only BEFORE UPDATE OR DELETE ON ledger_checkpoints
    FOR EACH ROW EXECUTE FUNCTION ecredit_append_only();
CREATE TRIGGER ledger_checkpoints_no_truncate BEFORE TRUNCATE ON ledger_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION ecredit_append_only();

-- +goose Down
DROP TABLE ledger_checkpoints;
DROP TABLE ledger_hashes;
DROP TABLE ledger_entries;
